package loop

import (
	"io"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/internal/testutil"
)

// Peers that are slow, not stalled, on every backend.

// TestLeftoverLargerThanTheReadBuffer: with a read buffer and an inbound
// limit of 4 KiB, a handler that leaves its input for later still gets
// every byte. (io_uring once lent a whole 16 KiB receive as the window,
// and the 4 KiB ring that keeps leftovers dropped it.)
func TestLeftoverLargerThanTheReadBuffer(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, ReadBufferSize: 4096, MaxInbound: 4096})
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		c.AfterFunc(time.Millisecond, func(c *Conn) { // consumed later, from a timer
			b, _ := c.Next(-1)
			c.Write(b)
		})
	}})
	nc := dialClient(t, "tcp", ln.Addr().String())
	want := pattern(12000, 7)
	nc.Write(want)
	got := make([]byte, len(want))
	if n, err := io.ReadFull(nc, got); err != nil {
		t.Fatalf("echo: %d of %d bytes: %v", n, len(want), err)
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("echo: %s", d)
	}
}

// TestSlowReaderKeepsItsConnection: a client that reads steadily but
// slowly (2 KiB every 5 ms, ~400 KB/s) is not closed by a 1.5 s write
// timeout while 2 MiB of output drain to it. (io_uring counted progress
// only when a whole send of up to 1 MiB completed, 2.6 s at that rate.)
func TestSlowReaderKeepsItsConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 2 MiB at 400 KB/s")
	}
	const size = 2 << 20
	e := newEngine(t, Config{Loops: 1, WriteTimeout: 1500 * time.Millisecond, WriteHighWater: 4 << 20})
	closed := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) {
			unix.SetsockoptInt(c.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 32<<10) // no autotuning: the kernel takes little at a time
			c.Write(pattern(size, 3))
		},
		Close: func(_ *Conn, err error) { closed <- err },
	})
	nc := testutil.DialRcvbuf(t, ln.Addr().String(), 4096)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioDeadline))
	got := make([]byte, 0, size)
	buf := make([]byte, 2048)
	for len(got) < size {
		n, err := nc.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			select {
			case cerr := <-closed:
				t.Fatalf("after %d of %d bytes the server closed the connection: %v", len(got), size, cerr)
			default:
				t.Fatalf("after %d of %d bytes: %v", len(got), size, err)
			}
		}
		time.Sleep(5 * time.Millisecond) // the slow reader's pace, not a synchronisation
	}
	if d := diff(got, pattern(size, 3)); d != "" {
		t.Fatalf("received: %s", d)
	}
}
