package serversocket_test

// The cost of the AIR API over the raw loop: the same echo workload through
// a loop.Handler and through serversocket listeners. Compare the two
// api= variants of one size side by side (benchstat -col /api).

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// The two APIs of one size run next to each other, so that the machine's
// drift affects both alike.
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{16, 512, 16384} {
		for _, api := range []string{"loop", "serversocket"} {
			b.Run(fmt.Sprintf("api=%s/size=%d", api, size), func(b *testing.B) {
				e := newEngine(b, loop.Config{})
				var calls atomic.Int64 // OnData calls or SocketData dispatches
				var addr string
				if api == "loop" {
					addr = loopEchoServer(b, e, &calls)
				} else {
					addr = socketEchoServer(b, e, &calls)
				}
				benchEchoClient(b, addr, size, &calls)
			})
		}
	}
}

// loopEchoServer serves echo with a raw handler: consume what arrived and
// queue it back; the loop sends it when OnData returns.
func loopEchoServer(b *testing.B, e *loop.Engine, calls *atomic.Int64) string {
	ln, err := e.Listen("tcp4", "127.0.0.1:0", loop.Funcs{Data: func(c *loop.Conn) {
		calls.Add(1)
		p, _ := c.Next(-1)
		c.Write(p)
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// socketEchoServer serves echo the AIR way: read every available byte into
// a buffer the socket reuses, write it back; the turn's end sends it.
func socketEchoServer(b *testing.B, e *loop.Engine, calls *atomic.Int64) string {
	srv := startServer(b, e, func(s *serversocket.Socket) {
		buf := make([]byte, 0, 64<<10)
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			calls.Add(1)
			buf, _ = s.ReadBytes(buf[:0], 0, 0)
			s.WriteBytes(buf, 0, 0)
		}, 0)
	})
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.LocalPort()))
}

// benchEchoClient sends one size-byte message per op and waits for its
// echo, with buffers allocated once. The first exchange checks the bytes.
// It reports the server's handler calls per message: a message that arrives
// in pieces costs more calls, which explains a slow run better than the API.
func benchEchoClient(b *testing.B, addr string, size int, calls *atomic.Int64) {
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	msg, got := pattern(size), make([]byte, size)
	if _, err := c.Write(msg); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
		b.Fatalf("echo check: %v", err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	calls.Store(0)
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(calls.Load())/float64(b.N), "calls/op")
}
