package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/airsock/airsock/internal/backend"
	"github.com/airsock/airsock/internal/loadgen"
	"github.com/airsock/airsock/internal/proto"
)

// demoBackend is the server the demo runs: the AIR-style ServerSocket, whose
// connect and socketData listeners echo what arrives.
const demoBackend = "serversocket"

// runDemo is `airsock demo`: an echo server in this process on
// 127.0.0.1:0, driven for a few seconds by the load generator with every
// byte verified, then a plain account of what happened.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", "demo [flags]", stderr)
	conns := fs.Int("c", 200, "connections")
	duration := fs.Duration("duration", 3*time.Second, "how long to drive the server")
	loops := fs.Int("loops", 1, "event loops of the server and of the generator, each")
	size := fs.Int("size", 64, "message size in bytes")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if err := noArgs(fs); err != nil {
		return usageError(fs, "%v", err)
	}
	if *conns < 1 || *loops < 1 || *size < 1 || *duration <= 0 || *duration > time.Minute {
		return usageError(fs, "-c, --loops and --size must be at least 1, --duration in (0, 1m]")
	}

	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	s, err := backend.Serve(startCtx, demoBackend, proto.Echo{}, "127.0.0.1:0", *loops)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "airsock demo: %v\n", err)
		return 1
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(sctx)
	}()
	fmt.Fprintf(stdout, "echo server (backend=%s, %d loop(s)) listening on %s\n", demoBackend, *loops, s.Addr())
	fmt.Fprintf(stdout, "driving it with %d connections, %d-byte messages, for %v; every byte is verified\n",
		*conns, *size, *duration)

	r, err := loadgen.Run(ctx, loadgen.Config{
		Addr: s.Addr().String(), Proto: "echo", Conns: *conns, Depth: 1, Size: *size,
		Duration: *duration, Warmup: 500 * time.Millisecond, Verify: true, Loops: *loops,
		Progress: func(p *loadgen.Snapshot) {
			if !p.Final {
				fmt.Fprintln(stderr, progressLine(p))
			}
		},
	})
	if r == nil {
		fmt.Fprintf(stderr, "airsock demo: %v\n", err)
		return 1
	}
	st := s.Stats()
	l := r.Summary("demo").Latency
	fmt.Fprintf(stdout, "\n%d connections opened (%d accepted by the server), %d errors\n", r.Conns, st.Accepted, r.Errors)
	fmt.Fprintf(stdout, "%d messages echoed in %.2fs: %.0f msgs/s, %.2f MB/s each way\n",
		r.Received, r.Duration.Seconds(), r.MsgsPerSec(), r.MBPerSec())
	fmt.Fprintf(stdout, "%d reply bytes verified, %d lost\n", r.VerifiedBytes, r.Lost)
	fmt.Fprintf(stdout, "round-trip latency (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
		l.P50, l.P90, l.P99, l.P999, l.Max)
	fmt.Fprintf(stdout, "CPU of this process (server and client): user %.2fs  sys %.2fs\n", r.CPU.UserSec, r.CPU.SysSec)
	if err != nil {
		fmt.Fprintf(stderr, "airsock demo: %v\n", err)
		return 1
	}
	return 0
}
