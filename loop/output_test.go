package loop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/poller"
)

// The output-side API: OutputWatcher, WriteThrough, AsyncWrite's bound at
// the high-water mark, WriteTimeout; and the per-connection extras
// SetHandler, AfterFunc, and panics outside OnData.

// streamer sends chunks one at a time, the next whenever OnOutput reports
// the previous one all sent: the way a handler streams a large body
// without buffering it.
type streamer struct {
	chunks [][]byte
	next   int // loop goroutine only
}

func (s *streamer) OnOpen(c *Conn)     { s.send(c) }
func (s *streamer) OnData(c *Conn)     { c.Discard(-1) }
func (*streamer) OnClose(*Conn, error) {}

func (s *streamer) OnOutput(c *Conn, pending int) {
	if pending == 0 {
		s.send(c)
	}
}

func (s *streamer) send(c *Conn) {
	if s.next < len(s.chunks) {
		c.Write(s.chunks[s.next])
		s.next++
	}
}

// TestOutputWatcherStreams: a body written chunk by chunk from OnOutput
// arrives whole. Each OnOutput runs inside a flush; the chunk it writes
// must be flushed too, also when that flush is the end-of-iteration flush
// of connections written outside their callbacks.
func TestOutputWatcherStreams(t *testing.T) {
	const chunks, size = 256, 4 << 10
	e := newEngine(t, Config{Loops: 1})
	body := pattern(chunks*size, 40)
	s := &streamer{}
	for i := 0; i < chunks; i++ {
		s.chunks = append(s.chunks, body[i*size:(i+1)*size])
	}
	ln := listen(t, e, "tcp", "127.0.0.1:0", s)
	nc := dialClient(t, "tcp", ln.Addr().String())
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(body))
	n, err := io.ReadFull(nc, got)
	if err != nil {
		t.Fatalf("client got %d of %d bytes (%d of %d chunks): %v", n, len(body), n/size, chunks, err)
	}
	if d := diff(got, body); d != "" {
		t.Fatalf("body: %s", d)
	}
}

// TestWriteThrough: WriteThrough echoes, and queues behind output already
// written in the same callback instead of overtaking it.
func TestWriteThrough(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		b, _ := c.Next(-1)
		c.Write([]byte("<"))
		c.WriteThrough(b)
		c.WriteThrough([]byte(">"))
	}})
	nc := dialClient(t, "tcp", ln.Addr().String())
	msg := pattern(300_000, 41)
	for i := range msg {
		msg[i] = 'a' + msg[i]%26 // no '<' or '>' in the payload
	}
	go nc.Write(msg) // a failed write shows as a short read below
	// Each OnData's bytes come back as "<" bytes ">", frames in order.
	r := bufio.NewReader(nc)
	var unframed []byte
	for len(unframed) < len(msg) {
		if b, err := r.ReadByte(); err != nil || b != '<' {
			t.Fatalf("after %d bytes: got %q, %v; want the start of a frame", len(unframed), b, err)
		}
		frame, err := r.ReadBytes('>')
		if err != nil {
			t.Fatalf("after %d bytes: unterminated frame: %v", len(unframed), err)
		}
		if bytes.IndexByte(frame, '<') >= 0 {
			t.Fatalf("after %d bytes: a frame inside a frame: WriteThrough overtook queued output", len(unframed))
		}
		unframed = append(unframed, frame[:len(frame)-1]...)
	}
	if d := diff(unframed, msg); d != "" {
		t.Fatalf("echo: %s", d)
	}
}

// TestAsyncWriteHighWater: AsyncWrite onto a connection whose peer does
// not read fails with ErrQueueFull once the pending output reaches
// WriteHighWater; what was accepted arrives intact when the peer reads.
func TestAsyncWriteHighWater(t *testing.T) {
	const hw, chunk, most = 256 << 10, 64 << 10, 64 << 20
	e := newEngine(t, Config{Loops: 1, WriteHighWater: hw})
	opened := make(chan *Conn, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Open: func(c *Conn) { opened <- c }})
	nc := dialClient(t, "tcp", ln.Addr().String())
	c := testutil.Recv(t, opened, "OnOpen")

	var sent []byte
	for {
		p := pattern(chunk, uint64(len(sent)))
		err := c.AsyncWrite(p)
		if errors.Is(err, ErrQueueFull) {
			break
		}
		if err != nil {
			t.Fatalf("AsyncWrite: %v", err)
		}
		sent = append(sent, p...)
		if len(sent) > most {
			t.Fatalf("AsyncWrite took %d bytes for a peer that does not read", len(sent))
		}
		// One write at a time reaches the loop, so only the connection's
		// backlog, never the queue's byte limit, can refuse the next.
		onLoop(t, c, func(*Conn) {})
	}
	onLoop(t, c, func(c *Conn) {
		if n := c.OutboundBuffered(); n < hw {
			t.Errorf("ErrQueueFull with %d bytes pending, below WriteHighWater %d", n, hw)
		}
	})
	got := make([]byte, len(sent))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatalf("client read: %v", err)
	}
	if d := diff(got, sent); d != "" {
		t.Fatalf("accepted writes: %s", d)
	}
	if err := c.AsyncWrite([]byte("more")); err != nil {
		t.Fatalf("AsyncWrite after the peer read everything: %v", err)
	}
}

// TestWriteTimeout: a connection whose peer stops reading is closed with
// ErrWriteTimeout once its pending output has not moved for WriteTimeout.
func TestWriteTimeout(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, WriteTimeout: 300 * time.Millisecond})
	closed := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open:  func(c *Conn) { c.Write(make([]byte, 16<<20)) },
		Close: func(_ *Conn, err error) { closed <- err },
	})
	dialClient(t, "tcp", ln.Addr().String()) // never reads
	err := testutil.Recv(t, closed, "OnClose")
	if !errors.Is(err, ErrWriteTimeout) || !IsTimeout(err) {
		t.Fatalf("OnClose err = %v, want ErrWriteTimeout", err)
	}
}

// upper writes back what it gets in upper case: the handler SetHandler
// switches to.
type upper struct{ closed chan error }

func (upper) OnOpen(*Conn) {}
func (upper) OnData(c *Conn) {
	b, _ := c.Next(-1)
	c.Write(bytes.ToUpper(b))
}
func (u upper) OnClose(_ *Conn, err error) { u.closed <- err }

// TestSetHandler: after SetHandler, the connection's next events go to the
// new handler, including bytes left unconsumed by the old one.
func TestSetHandler(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	u := upper{closed: make(chan error, 1)}
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Data: func(c *Conn) {
			b, _ := c.Peek(-1)
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				c.Write(b[:i+1]) // echo up to the newline; the rest is the new handler's
				c.Discard(i + 1)
				c.SetHandler(u)
			}
		},
		Close: func(*Conn, error) { t.Error("the old handler's OnClose ran") },
	})
	nc := dialClient(t, "tcp", ln.Addr().String())
	if _, err := nc.Write([]byte("upgrade\nabc")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len("upgrade\n"))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "upgrade\n" {
		t.Fatalf("got %q, %v; want the old handler's echo", got, err)
	}
	// "abc" waits unconsumed until more data comes: the new handler gets
	// it together with "def".
	if _, err := nc.Write([]byte("def")); err != nil {
		t.Fatal(err)
	}
	got = make([]byte, len("ABCDEF"))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "ABCDEF" {
		t.Fatalf("got %q, %v; want \"ABCDEF\" from the new handler", got, err)
	}
	nc.Close()
	if err := testutil.Recv(t, u.closed, "the new handler's OnClose"); err != io.EOF {
		t.Fatalf("OnClose err = %v, want io.EOF", err)
	}
}

// TestAfterFunc: a timer's function runs on the loop and its output is
// sent; a stopped timer never runs.
func TestAfterFunc(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Open: func(c *Conn) {
		stop := c.AfterFunc(20*time.Millisecond, func(c *Conn) { c.Write([]byte("stopped timer ran")) })
		c.AfterFunc(60*time.Millisecond, func(c *Conn) { c.Write([]byte("tick")) })
		stop()
	}})
	nc := dialClient(t, "tcp", ln.Addr().String())
	got := make([]byte, 4)
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "tick" {
		t.Fatalf("got %q, %v; want \"tick\" only", got, err)
	}
}

// TestPanicOutsideOnData: panics in OnOpen and in a Run function close the
// connection with a *PanicError naming the callback.
func TestPanicOutsideOnData(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, Logger: quiet})
	closed := make(chan error, 2)
	opened := make(chan *Conn, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open:  func(c *Conn) { opened <- c },
		Close: func(_ *Conn, err error) { closed <- err },
	})
	dialClient(t, "tcp", ln.Addr().String())
	c := testutil.Recv(t, opened, "OnOpen")
	if err := c.Run(func(*Conn) { panic("in Run") }); err != nil {
		t.Fatal(err)
	}
	var pe *PanicError
	if err := testutil.Recv(t, closed, "OnClose"); !errors.As(err, &pe) || pe.Callback != "Run" || pe.Value != "in Run" {
		t.Fatalf("OnClose err = %v, want *PanicError from Run", err)
	}

	e2 := newEngine(t, Config{Loops: 1, Logger: quiet})
	ln2 := listen(t, e2, "tcp", "127.0.0.1:0", Funcs{
		Open:  func(*Conn) { panic("in OnOpen") },
		Close: func(_ *Conn, err error) { closed <- err },
	})
	nc := dialClient(t, "tcp", ln2.Addr().String())
	if err := testutil.Recv(t, closed, "OnClose"); !errors.As(err, &pe) || pe.Callback != "OnOpen" {
		t.Fatalf("OnClose err = %v, want *PanicError from OnOpen", err)
	}
	if _, err := io.ReadAll(nc); err != nil && !isReset(err) {
		t.Fatalf("client of the panicked connection: %v, want EOF or reset", err)
	}
}

// TestWritev: Writev queues its slices in order as one stream, empty ones
// included, and refuses after CloseWrite with the count written so far.
func TestWritev(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	results := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		c.Discard(-1)
		big := pattern(3*sendNowMin, 7) // sent at once, behind the staged slices
		n, err := c.Writev([][]byte{[]byte("ab"), nil, []byte("cd"), big, []byte("ef")})
		if n != 6+len(big) || err != nil {
			results <- fmt.Errorf("Writev = %d, %v; want %d, nil", n, err, 6+len(big))
			return
		}
		c.CloseWrite()
		if n, err := c.Writev([][]byte{[]byte("x")}); n != 0 || err != ErrClosed {
			results <- fmt.Errorf("Writev after CloseWrite = %d, %v; want 0, ErrClosed", n, err)
			return
		}
		results <- nil
	}})
	nc := dialClient(t, "tcp", ln.Addr().String())
	nc.Write([]byte("go"))
	if err := testutil.Recv(t, results, "the Writev calls"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("reading to the FIN: %v", err)
	}
	want := append(append([]byte("abcd"), pattern(3*sendNowMin, 7)...), "ef"...)
	if d := diff(got, want); d != "" {
		t.Fatalf("stream: %s", d)
	}
}

// TestWriteThroughReportsTheSocketError: a WriteThrough to a peer that has
// gone returns the syscall's error, whether it was sent at once (large) or
// staged first (small).
func TestWriteThroughReportsTheSocketError(t *testing.T) {
	if testBackend() == BackendIOUring {
		t.Skip("io_uring reports a send's error with its completion, after WriteThrough returned; " +
			"the error then closes the connection (TestSendErrorClosesTheConnection)")
	}
	for _, size := range []int{100, 4 * sendNowMin} {
		e := newEngine(t, Config{Loops: 1})
		path := filepath.Join(t.TempDir(), "s")
		got := make(chan error, 1)
		listen(t, e, "unix", path, Funcs{Close: func(c *Conn, err error) {
			if err != io.EOF {
				got <- fmt.Errorf("OnClose(%v); want io.EOF", err)
				return
			}
			_, err = c.WriteThrough(make([]byte, size)) // the peer has closed: EPIPE
			got <- err
		}})
		nc, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		nc.Close()
		err = testutil.Recv(t, got, "the WriteThrough in OnClose")
		var se *os.SyscallError
		if !errors.As(err, &se) || !errors.Is(err, syscall.EPIPE) {
			t.Errorf("%d B: WriteThrough to a closed peer = %v; want an *os.SyscallError wrapping EPIPE", size, err)
		}
	}
}

// TestSendErrorClosesTheConnection: a connection whose peer resets it while
// output is pending is closed with the syscall's error, on every backend
// (io_uring learns it from a send's or recv's completion).
func TestSendErrorClosesTheConnection(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, WriteHighWater: 64 << 20})
	opened := make(chan struct{}, 1)
	closed := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) {
			c.Write(pattern(8<<20, 1)) // more than the socket buffers take
			opened <- struct{}{}
		},
		Close: func(c *Conn, err error) { closed <- err },
	})
	nc := dialClient(t, "tcp", ln.Addr().String())
	testutil.Recv(t, opened, "OnOpen")
	nc.(*net.TCPConn).SetLinger(0) // the close resets the connection
	nc.Close()
	err := testutil.Recv(t, closed, "OnClose after the reset")
	var se *os.SyscallError
	if !errors.As(err, &se) || !(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		t.Fatalf("OnClose(%v); want an *os.SyscallError wrapping ECONNRESET or EPIPE", err)
	}
}

// TestWriteThroughBesideAStagedReply: WriteThrough on one connection while
// another's reply sits in the loop's stage sends both, each in order.
func TestWriteThroughBesideAStagedReply(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	others := make(chan *Conn, 2)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) { others <- c },
		Data: func(c *Conn) {
			if _, err := c.Next(len("fan out")); err != nil {
				return // the rest of the request comes with the next read
			}
			c.Write([]byte("staged reply;")) // c owns the stage now
			peer := c.Context().(*Conn)
			big := pattern(3*sendNowMin, 9)
			if _, err := peer.WriteThrough(big); err != nil {
				t.Errorf("WriteThrough beside a staged reply: %v", err)
			}
		},
	})
	a := dialClient(t, "tcp", ln.Addr().String())
	ca := testutil.Recv(t, others, "the first connection")
	b := dialClient(t, "tcp", ln.Addr().String())
	cb := testutil.Recv(t, others, "the second connection")
	done := make(chan struct{})
	ca.Run(func(c *Conn) { c.SetContext(cb); close(done) })
	testutil.Recv(t, done, "the context set")
	a.Write([]byte("fan out"))
	readN := func(nc net.Conn, n int) []byte {
		buf := make([]byte, n)
		if _, err := io.ReadFull(nc, buf); err != nil {
			t.Fatalf("reading %d bytes: %v", n, err)
		}
		return buf
	}
	if got := readN(a, len("staged reply;")); string(got) != "staged reply;" {
		t.Fatalf("the staged reply came back as %q", got)
	}
	if d := diff(readN(b, 3*sendNowMin), pattern(3*sendNowMin, 9)); d != "" {
		t.Fatalf("WriteThrough's bytes: %s", d)
	}
}

// countingBackend counts the writes that the kernel refused whole (EAGAIN)
// and the changes of interest.
type countingBackend struct {
	backend
	refused, watches atomic.Int64
}

// watch counts the interest changes that cost the backend something: every
// one under readiness (an epoll_ctl); under io_uring only those of
// Readable (a recv cancelled or armed), since Writable is its own
// bookkeeping there.
func (b *countingBackend) watch(fd int, old, want poller.Mask) error {
	if !b.backend.ownsThread() || (old^want)&poller.Readable != 0 {
		b.watches.Add(1)
	}
	return b.backend.watch(fd, old, want)
}

func (b *countingBackend) write(fd int, p, q []byte) (int, error) {
	n, err := b.backend.write(fd, p, q)
	if n == 0 && err == nil && len(p)+len(q) > 0 {
		b.refused.Add(1)
	}
	return n, err
}

// TestLargeWriteWaitsForRoom: the rest of a large Write that the kernel
// only partly took is sent when the socket has room again, not tried at
// once by the flush that follows (a write that can only fail with EAGAIN).
func TestLargeWriteWaitsForRoom(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, WriteHighWater: 64 << 20})
	l := e.loops[0]
	b := countOn(t, l)
	const size = 8 << 20
	turnDone := make(chan struct{}, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		c.Discard(-1)
		c.Write(pattern(size, 3)) // more than the socket buffers hold
		// Tasks run after this event's flush: the client reads only then, so
		// the kernel has no room for anything more during the turn.
		l.submit(task{kind: taskFunc, fn: func() { turnDone <- struct{}{} }})
	}})
	nc := testutil.DialRcvbuf(t, ln.Addr().String(), 4096)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	nc.Write([]byte("go"))
	testutil.Recv(t, turnDone, "the turn of the large Write")
	got := make([]byte, size)
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	if d := diff(got, pattern(size, 3)); d != "" {
		t.Fatalf("reply: %s", d)
	}
	if n := b.refused.Load(); n != 0 {
		t.Errorf("%d writes refused whole by the kernel; want 0 (each waits for writability)", n)
	}
}

// countOn puts a countingBackend in front of l's backend, on l's goroutine
// (l.io is the loop's).
func countOn(t *testing.T, l *eventLoop) *countingBackend {
	counter := make(chan *countingBackend, 1)
	l.submit(task{kind: taskFunc, fn: func() {
		b := &countingBackend{backend: l.io}
		l.io = b
		counter <- b
	}})
	return testutil.Recv(t, counter, "the counting backend installed")
}

// TestStagedReplyAtTheMarkCostsNoInterestChange: a reply that fills the
// stage to WriteHighWater and that the kernel takes at once leaves reading
// on. (Reading used to be paused by the staged bytes and resumed by the
// flush a moment later: two epoll_ctl per such reply.)
func TestStagedReplyAtTheMarkCostsNoInterestChange(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, WriteHighWater: 64 << 10, WriteLowWater: 32 << 10})
	b := countOn(t, e.loops[0])
	chunk := pattern(1<<10, 5)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		for range c.InboundBuffered() {
			c.Discard(1)
			for range 64 { // 64 KiB in 1 KiB writes: all staged
				c.Write(chunk)
			}
		}
	}})
	nc := dialClient(t, "tcp", ln.Addr().String())
	reply := make([]byte, 64<<10)
	exchange := func() {
		nc.Write([]byte("x"))
		if _, err := io.ReadFull(nc, reply); err != nil {
			t.Fatalf("reply: %v", err)
		}
	}
	exchange() // registration done
	before := b.watches.Load()
	for range 5 {
		exchange()
	}
	if n := b.watches.Load() - before; n != 0 {
		t.Errorf("%d interest changes over 5 replies at the high mark; want 0", n)
	}
}
