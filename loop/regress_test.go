package loop

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/airsock/airsock/internal/testutil"
)

// Regression tests for defects found in review.

// A handler may close its own listener from OnOpen: the accept path must not
// hold the listener's lock while it runs callbacks.
func TestListenerCloseInOnOpen(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	lnc := make(chan *Listener, 1)
	closed := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Open: func(c *Conn) {
		closed <- (<-lnc).Close()
	}})
	lnc <- ln
	nc := dialClient(t, "tcp", ln.Addr().String())
	defer nc.Close()
	if err := testutil.Recv(t, closed, "Close from OnOpen"); err != nil {
		t.Fatalf("Listener.Close from OnOpen: %v", err)
	}
}

// Flush inside OnClose must not close the descriptor under OnClose's feet:
// everything OnClose writes is sent.
func TestOnCloseWritesAfterFlush(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	res := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Close: func(c *Conn, _ error) {
			c.Write([]byte("bye "))
			c.Flush()
			_, err := c.Write([]byte("more"))
			res <- err
		}})
	nc := dialClient(t, "tcp", ln.Addr().String())
	nc.(*net.TCPConn).CloseWrite()
	if err := testutil.Recv(t, res, "OnClose"); err != nil {
		t.Fatalf("second Write in OnClose: %v", err)
	}
	if b, _ := io.ReadAll(nc); string(b) != "bye more" {
		t.Fatalf("peer received %q, want %q", b, "bye more")
	}
}

type panicOnOpen struct{ Funcs }

func (panicOnOpen) OnOpen(*Conn) { panic("injected") }

// A dial whose OnOpen panics still reports its outcome.
func TestDialDoneAfterOnOpenPanic(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, Logger: quiet})
	ln := listen(t, e, "tcp", "127.0.0.1:0", echo())
	got := make(chan error, 1)
	err := e.DialAsync("tcp", ln.Addr().String(), panicOnOpen{}, DialOptions{}, func(c *Conn, err error) {
		if c != nil {
			err = errors.New("a connection for a dial whose OnOpen panicked")
		}
		got <- err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.Recv(t, got, "the dial's done callback"); !errors.Is(err, ErrClosed) {
		t.Fatalf("done(_, %v), want ErrClosed", err)
	}
}

// chunkStreamer writes its next chunk from OnOutput, the streaming pattern.
type chunkStreamer struct {
	Funcs
	left, depth int
	maxDepth    atomic.Int32
}

func (s *chunkStreamer) OnOpen(c *Conn) { s.writeNext(c) }

func (s *chunkStreamer) writeNext(c *Conn) {
	if s.left == 0 {
		c.Close()
		return
	}
	s.left--
	c.WriteThrough(make([]byte, 1024))
}

func (s *chunkStreamer) OnOutput(c *Conn, pending int) {
	s.depth++
	if int32(s.depth) > s.maxDepth.Load() {
		s.maxDepth.Store(int32(s.depth))
	}
	if pending == 0 {
		s.writeNext(c)
	}
	s.depth--
}

// OnOutput writing the next chunk must not recurse once per chunk.
func TestOnOutputDoesNotRecurse(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	s := &chunkStreamer{left: 5000}
	ln := listen(t, e, "tcp", "127.0.0.1:0", s)
	nc := dialClient(t, "tcp", ln.Addr().String())
	n, err := io.Copy(io.Discard, nc)
	if err != nil || n != 5000*1024 {
		t.Fatalf("received %d bytes (%v), want %d", n, err, 5000*1024)
	}
	if d := s.maxDepth.Load(); d != 1 {
		t.Fatalf("OnOutput nested %d deep", d)
	}
}

// Small writes are staged and large ones sent at once (queueOutput); mixed in
// one callback, and past the point where the socket buffer fills, the
// bytes must still arrive in the order they were written.
func TestMixedWriteSizesKeepOrder(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	var want []byte
	sizes := []int{10, 9000, 3, 70000, 5, 20000, 1, 1 << 20, 7, 8 << 10, 2}
	for i := range 10 {
		for j, n := range sizes {
			want = append(want, pattern(n, uint64(i*len(sizes)+j))...)
		}
	}
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		c.Discard(-1)
		off := 0
		for off < len(want) {
			for _, n := range sizes {
				c.Write(want[off : off+n])
				off += n
			}
		}
		c.Close()
	}})
	nc := dialClient(t, "tcp", ln.Addr().String())
	nc.Write([]byte("go"))
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("stream differs: %s", d)
	}
}
