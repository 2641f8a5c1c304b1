package loop

import (
	"io"
	"testing"
	"time"
)

// Echo round trips over loopback through one connection. The client is a
// blocking net.Conn with preallocated buffers, which allocates nothing, so
// allocs/op is the server's: it must be 0 in steady state.

func BenchmarkEcho16(b *testing.B)  { benchEcho(b, 16) }
func BenchmarkEcho512(b *testing.B) { benchEcho(b, 512) }
func BenchmarkEcho16K(b *testing.B) { benchEcho(b, 16<<10) }

func benchEcho(b *testing.B, size int) {
	roundTrip := echoRig(b, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
}

// echoRig serves echo on a one-loop engine and returns a round trip of one
// size-byte message by an allocation-free client, warmed up and checked.
func echoRig(tb testing.TB, size int) (roundTrip func()) {
	tb.Helper()
	e := newEngine(tb, Config{Loops: 1})
	ln := listen(tb, e, "tcp", "127.0.0.1:0", echo())
	nc := dialClient(tb, "tcp", ln.Addr().String())
	nc.SetDeadline(time.Now().Add(time.Hour)) // bounds a stuck run; set once, outside the loop
	msg := pattern(size, 1)
	got := make([]byte, size)
	roundTrip = func() {
		if _, err := nc.Write(msg); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.ReadFull(nc, got); err != nil {
			tb.Fatal(err)
		}
	}
	// Warm up: connection state, pools and the runtime's poller settle.
	for range 100 {
		roundTrip()
	}
	if d := diff(got, msg); d != "" {
		tb.Fatalf("echo: %s", d)
	}
	return roundTrip
}

// BenchmarkEchoPipelined sends 64 messages of 16 B, each its own write,
// before reading the replies, so the server sees batches and partial
// messages, as under load. One op is the 64 round trips.
func BenchmarkEchoPipelined(b *testing.B) {
	const size, depth = 16, 64
	e := newEngine(b, Config{Loops: 1})
	ln := listen(b, e, "tcp", "127.0.0.1:0", echo())
	nc := dialClient(b, "tcp", ln.Addr().String())
	nc.SetDeadline(time.Now().Add(time.Hour))
	batch := pattern(size*depth, 2)
	got := make([]byte, size*depth)
	roundTrip := func() {
		for i := 0; i < depth; i++ {
			if _, err := nc.Write(batch[i*size : (i+1)*size]); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := io.ReadFull(nc, got); err != nil {
			b.Fatal(err)
		}
	}
	for range 100 {
		roundTrip()
	}
	if d := diff(got, batch); d != "" {
		b.Fatalf("echo: %s", d)
	}
	b.SetBytes(size * depth)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
}

// TestEchoAllocs fails if an echo round trip allocates in steady state:
// the benchmarks' claim, checked on every test run.
func TestEchoAllocs(t *testing.T) {
	for _, size := range []int{16, 512, 16 << 10} {
		roundTrip := echoRig(t, size)
		if a := testing.AllocsPerRun(500, roundTrip); a != 0 {
			t.Errorf("%d B echo: %v allocs per round trip, want 0", size, a)
		}
	}
}
