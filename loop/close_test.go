package loop

import (
	"errors"
	"io"
	"net"
	"testing"

	"github.com/airsock/airsock/internal/testutil"
)

// Close with output still pending: every byte written before Close reaches
// the peer, then EOF.

// bigOutput is more than the kernel buffers of a loopback pair hold while
// the receiver does not read, so Close finds output pending.
const bigOutput = 8 << 20

// TestCloseInCallbackDrains: OnData writes 8 MiB and calls Close; the client
// starts reading only after OnClose ran, in small reads, and gets it all.
func TestCloseInCallbackDrains(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	out := pattern(bigOutput, 10)
	type closing struct {
		err     error
		pending int
	}
	closed := make(chan closing, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Data: func(c *Conn) {
			c.Discard(-1)
			c.Write(out)
			c.Close()
		},
		Close: func(c *Conn, err error) {
			closed <- closing{err, c.OutboundBuffered()}
		},
	})
	nc := dialClient(t, "tcp", ln.Addr().String())
	if _, err := nc.Write([]byte("go")); err != nil {
		t.Fatal(err)
	}
	ev := testutil.Recv(t, closed, "OnClose")
	if ev.err != nil {
		t.Fatalf("OnClose err = %v, want nil after Close", ev.err)
	}
	if ev.pending == 0 {
		t.Fatalf("no output pending at OnClose: the test did not exercise draining")
	}
	readSlowly(t, nc, out)
}

// TestCloseFromOtherGoroutine: OnOpen writes 8 MiB; another goroutine calls
// Close; the client gets every byte, then EOF; a second Close and an
// AsyncWrite after Close fail with ErrClosed.
func TestCloseFromOtherGoroutine(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	out := pattern(bigOutput, 11)
	opened := make(chan *Conn, 1)
	closed := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) {
			c.Write(out)
			opened <- c
		},
		Close: func(c *Conn, err error) { closed <- err },
	})
	nc := dialClient(t, "tcp", ln.Addr().String())
	c := testutil.Recv(t, opened, "OnOpen")
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: err = %v, want ErrClosed", err)
	}
	if err := c.AsyncWrite([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("AsyncWrite after Close: err = %v, want ErrClosed", err)
	}
	if err := testutil.Recv(t, closed, "OnClose"); err != nil {
		t.Fatalf("OnClose err = %v, want nil after Close", err)
	}
	readSlowly(t, nc, out)
}

// readSlowly reads in 4 KiB steps until EOF and checks the bytes.
func readSlowly(t *testing.T, nc net.Conn, want []byte) {
	t.Helper()
	got := make([]byte, 0, len(want))
	buf := make([]byte, 4096)
	for {
		n, err := nc.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		if len(got) > len(want) {
			t.Fatalf("got more than the %d bytes written", len(want))
		}
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("client got: %s", d)
	}
}
