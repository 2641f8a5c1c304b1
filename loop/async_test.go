package loop

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// AsyncWrite from many goroutines onto one connection, and the bound on the
// cross-goroutine queue.

// asyncFrame builds message seq of goroutine g: a 4-byte length of the rest,
// g, seq, then a payload whose size and bytes depend on both.
func asyncFrame(g byte, seq uint32) []byte {
	n := int(seq*37+uint32(g)*11) % 1500
	f := make([]byte, 4+1+4+n)
	binary.BigEndian.PutUint32(f, uint32(1+4+n))
	f[4] = g
	binary.BigEndian.PutUint32(f[5:], seq)
	fillPattern(f[9:], uint64(g)<<32|uint64(seq))
	return f
}

// TestAsyncWriteConcurrent: 8 goroutines AsyncWrite framed messages at once;
// the client gets every message whole, and each goroutine's in order, with
// writers that retry when the queue reports back-pressure.
func TestAsyncWriteConcurrent(t *testing.T) {
	const writers, perWriter = 8, 250
	e := newEngine(t, Config{Loops: 2})
	opened := make(chan *Conn, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Open: func(c *Conn) { opened <- c }})
	nc := dialClient(t, "tcp", ln.Addr().String())
	c := testutil.Recv(t, opened, "OnOpen")

	start := make(chan struct{})
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			deadline := time.Now().Add(ioDeadline)
			for seq := uint32(0); seq < perWriter; seq++ {
				// ErrQueueFull is back-pressure (the client reads slower
				// than 8 writers write, and how much the loop and the
				// kernel absorb meanwhile depends on the backend and the
				// machine's load): retry the same message, so order holds.
				err := c.AsyncWrite(asyncFrame(byte(g), seq))
				for errors.Is(err, ErrQueueFull) && time.Now().Before(deadline) {
					runtime.Gosched()
					err = c.AsyncWrite(asyncFrame(byte(g), seq))
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d seq %d: %w", g, seq, err)
					return
				}
			}
		}()
	}
	close(start)

	r := bufio.NewReader(nc)
	next := make([]uint32, writers)
	for i := 0; i < writers*perWriter; i++ {
		var hdr [9]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatalf("message %d: reading header: %v", i, err)
		}
		g, seq := hdr[4], binary.BigEndian.Uint32(hdr[5:])
		if int(g) >= writers {
			t.Fatalf("message %d: writer id %d out of range: framing lost", i, g)
		}
		if seq != next[g] {
			t.Fatalf("message %d: writer %d seq %d, want %d", i, g, seq, next[g])
		}
		next[g]++
		want := asyncFrame(g, seq)
		if l := binary.BigEndian.Uint32(hdr[:]); int(l) != len(want)-4 {
			t.Fatalf("writer %d seq %d: length %d, want %d", g, seq, l, len(want)-4)
		}
		body := make([]byte, len(want)-9)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatalf("writer %d seq %d: reading body: %v", g, seq, err)
		}
		if d := diff(body, want[9:]); d != "" {
			t.Fatalf("writer %d seq %d: payload: %s", g, seq, d)
		}
	}
	wg.Wait() // every writer has returned: all its messages were read
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestAsyncWriteQueueFull: with the loop held inside a Run callback, the
// queue takes AsyncQueueBytes and refuses the next write with ErrQueueFull;
// once the loop runs again, exactly the accepted writes arrive, in order,
// and the queue takes writes again.
func TestAsyncWriteQueueFull(t *testing.T) {
	const limit, msg = 4096, 1000
	e := newEngine(t, Config{Loops: 1, AsyncQueueBytes: limit})
	opened := make(chan *Conn, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Open: func(c *Conn) { opened <- c }})
	nc := dialClient(t, "tcp", ln.Addr().String())
	c := testutil.Recv(t, opened, "OnOpen")

	entered, release := make(chan struct{}), make(chan struct{})
	if err := c.Run(func(*Conn) {
		close(entered)
		<-release // hold the loop; the test releases it below on every path
	}); err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	testutil.Recv(t, entered, "the Run callback")

	var want []byte
	for i := 0; i < limit/msg; i++ {
		p := pattern(msg, uint64(i))
		if err := c.AsyncWrite(p); err != nil {
			t.Fatalf("AsyncWrite %d of %d bytes under the limit: %v", i, msg, err)
		}
		want = append(want, p...)
	}
	if err := c.AsyncWrite(pattern(msg, 99)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("AsyncWrite past the limit: err = %v, want ErrQueueFull", err)
	}
	close(release)
	released = true

	got := make([]byte, len(want))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatalf("reading the accepted writes: %v", err)
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("accepted writes: %s", d)
	}
	// The queue has drained: a write fits again.
	if err := c.AsyncWrite([]byte("again")); err != nil {
		t.Fatalf("AsyncWrite after the loop ran: %v", err)
	}
	var again [5]byte
	if _, err := io.ReadFull(nc, again[:]); err != nil || string(again[:]) != "again" {
		t.Fatalf("after draining: got %q, %v; want \"again\"", again[:], err)
	}
}

// TestAsyncWriteThenClose: AsyncWrites and a Close from another goroutine
// keep their order: every byte written before Close arrives, then EOF.
func TestAsyncWriteThenClose(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	opened := make(chan *Conn, 1)
	closed := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open:  func(c *Conn) { opened <- c },
		Close: func(_ *Conn, err error) { closed <- err },
	})
	nc := dialClient(t, "tcp", ln.Addr().String())
	c := testutil.Recv(t, opened, "OnOpen")
	var want []byte
	for i := range 100 {
		p := pattern(10_000, uint64(i))
		if err := c.AsyncWrite(p); err != nil {
			t.Fatalf("AsyncWrite %d: %v", i, err)
		}
		want = append(want, p...)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("client got: %s", d)
	}
	if err := testutil.Recv(t, closed, "OnClose"); err != nil {
		t.Fatalf("OnClose err = %v, want nil", err)
	}
}
