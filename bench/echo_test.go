package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/backend"
	"github.com/airsock/airsock/internal/proto"
)

// The matrix of BenchmarkEcho; backends in the order the README's tables
// use, airsock's own first.
var (
	backends = []string{"serversocket", "loop", "gnet", "nbio", "net"}
	connsSet = []int{1, 100, 1000}
	sizes    = []int{16, 512, 16384}
	depths   = []int{1, 16}
)

// rig is an echo server on one backend with the pipelined client connected.
type rig struct {
	server backend.Server
	client *pipeClient
}

// newRig starts backend name's echo server on 127.0.0.1:0 with one event
// loop (the net backend has none: the Go scheduler runs its goroutines),
// connects the client, and tears both down at the end of tb.
func newRig(tb testing.TB, name string, conns, size, depth int) *rig {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := backend.Serve(ctx, name, proto.Echo{}, "127.0.0.1:0", 1)
	if err != nil {
		tb.Fatalf("backend %s: %v", name, err)
	}
	r := &rig{server: s}
	tb.Cleanup(func() {
		if r.client != nil {
			r.client.close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			tb.Errorf("backend %s: shutdown: %v", name, err)
		}
	})
	r.client, err = dialClient(s.Addr().String(), conns, size, depth)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// BenchmarkEcho measures echo round trips on each backend. One b.N is one
// message of size bytes sent and its echo received and verified, over all
// connections together; each connection keeps depth messages in flight.
// Allocations are the whole process's (server and client) per message.
func BenchmarkEcho(b *testing.B) {
	for _, be := range backends {
		for _, conns := range connsSet {
			for _, size := range sizes {
				for _, depth := range depths {
					name := fmt.Sprintf("backend=%s/conns=%d/size=%d/depth=%d", be, conns, size, depth)
					b.Run(name, func(b *testing.B) { benchEcho(b, be, conns, size, depth) })
				}
			}
		}
	}
}

func benchEcho(b *testing.B, be string, conns, size, depth int) {
	r := newRig(b, be, conns, size, depth)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	err := r.client.run(b.N)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	secs := b.Elapsed().Seconds()
	if secs > 0 {
		b.ReportMetric(float64(b.N)/secs, "msgs/s")
		b.ReportMetric(float64(b.N)*float64(size)/secs/1e6, "MB/s")
	}
}
