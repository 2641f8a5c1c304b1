package loop

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"golang.org/x/sys/unix"
)

// A peer that resets in the middle of a large write: the connection closes
// with the syscall error as its reason, and nothing leaks.
func TestPeerResetMidWriteReason(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	reasons := make(chan error, 1)
	opened := make(chan struct{}, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) {
			c.Write(make([]byte, 32<<20)) // far more than the socket buffers take
			opened <- struct{}{}
		},
		Close: func(c *Conn, err error) { reasons <- err },
	})
	nc := dialClient(t, "tcp", ln.Addr().String())
	testutil.Recv(t, opened, "OnOpen")
	io.ReadFull(nc, make([]byte, 64<<10)) // some of it arrives
	nc.(*net.TCPConn).SetLinger(0)
	nc.Close() // RST while the server still has megabytes to send
	err := testutil.Recv(t, reasons, "OnClose")
	if !errors.Is(err, unix.ECONNRESET) && !errors.Is(err, unix.EPIPE) {
		t.Fatalf("close reason %v, want ECONNRESET or EPIPE", err)
	}
	waitConns(t, e, 0, waitTimeout)
}

// Shutdown while 50 clients stream echoes: each client, reading to EOF,
// receives exactly the bytes the server wrote to it, then EOF.
func TestShutdownUnderLoad(t *testing.T) {
	e, err := New(Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	const clients = 50
	var mu sync.Mutex
	written := map[int]int64{} // client port -> bytes the server wrote
	var echoed atomic.Int64
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Data: func(c *Conn) {
			b, _ := c.Next(-1)
			c.Write(b)
			echoed.Add(int64(len(b)))
			mu.Lock()
			written[c.RemoteAddr().(*net.TCPAddr).Port] += int64(len(b))
			mu.Unlock()
		},
	})
	type result struct {
		port int
		got  int64
		err  error
	}
	results := make(chan result, clients)
	stop := make(chan struct{})
	for range clients {
		nc := dialClient(t, "tcp", ln.Addr().String())
		go func() { // writer: until shutdown is under way, then stop
			buf := make([]byte, 4096)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := nc.Write(buf); err != nil {
					return
				}
			}
		}()
		go func() { // reader: to EOF, then close as a client does
			n, err := io.Copy(io.Discard, nc)
			results <- result{nc.LocalAddr().(*net.TCPAddr).Port, n, err}
			nc.Close()
		}()
	}
	// Wait (polling the server's counters) until traffic flows on every
	// connection: one still in the accept queue at Shutdown is simply reset.
	deadline := time.Now().Add(waitTimeout)
	for {
		mu.Lock()
		all := len(written) == clients
		mu.Unlock()
		if all && echoed.Load() >= clients*64<<10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("traffic never reached every connection")
		}
		time.Sleep(time.Millisecond)
	}
	close(stop) // writes in flight still arrive as Shutdown begins
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range clients {
		r := testutil.Recv(t, results, "a client's EOF")
		mu.Lock()
		want := written[r.port]
		mu.Unlock()
		if r.err != nil || r.got != want {
			t.Errorf("client %d: read %d bytes (%v), server wrote %d", r.port, r.got, r.err, want)
		}
	}
}
