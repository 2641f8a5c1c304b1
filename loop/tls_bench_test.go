package loop

import (
	"io"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// TLS echo round trips over loopback through one connection, after the
// handshake: the client is a crypto/tls client with preallocated buffers,
// so allocs/op (client and server together) shows that decrypting and
// encrypting on the loop allocate nothing in steady state.

func BenchmarkTLSEcho16(b *testing.B)  { benchTLSEcho(b, 16) }
func BenchmarkTLSEcho512(b *testing.B) { benchTLSEcho(b, 512) }
func BenchmarkTLSEcho16K(b *testing.B) { benchTLSEcho(b, 16<<10) }

func benchTLSEcho(b *testing.B, size int) {
	ca := testutil.NewTLSAuthority(b)
	e := newEngine(b, Config{Loops: 1})
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), echo())
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	tc := dialTLSClient(b, ln.Addr().String(), ca.ClientConfig())
	tc.SetDeadline(time.Now().Add(time.Hour))
	msg := pattern(size, 1)
	got := make([]byte, size)
	roundTrip := func() {
		if _, err := tc.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(tc, got); err != nil {
			b.Fatal(err)
		}
	}
	for range 100 {
		roundTrip()
	}
	if d := diff(got, msg); d != "" {
		b.Fatalf("echo: %s", d)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
}
