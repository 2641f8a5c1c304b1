package loop

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"golang.org/x/sys/unix"
)

// Outbound connections: success both ways, refusal, timeouts, the callback
// contract of DialAsync, and context deadlines.

// dialRecorder is a handler that reports its events on channels.
type dialRecorder struct {
	opened chan *Conn
	data   chan []byte
	closed chan closeEvent
	openG  atomic.Uint64 // goroutine that ran OnOpen
	calls  atomic.Int32  // OnOpen, OnData and OnClose calls
}

func newDialRecorder() *dialRecorder {
	return &dialRecorder{
		opened: make(chan *Conn, 1),
		data:   make(chan []byte, 16),
		closed: make(chan closeEvent, 1),
	}
}

func (r *dialRecorder) OnOpen(c *Conn) {
	r.calls.Add(1)
	r.openG.Store(goid())
	c.Write([]byte("hello"))
	r.opened <- c
}

func (r *dialRecorder) OnData(c *Conn) {
	r.calls.Add(1)
	b, _ := c.Next(-1)
	r.data <- append([]byte(nil), b...)
}

func (r *dialRecorder) OnClose(c *Conn, err error) {
	r.calls.Add(1)
	r.closed <- closeEvent{c, err}
}

// plainPeer accepts one connection on a net.Listener, expects "hello" and
// answers "world"; it reports what went wrong, if anything.
func plainPeer(t *testing.T, network, address string) (addr string, result <-chan error) {
	t.Helper()
	pl, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close() })
	res := make(chan error, 1)
	go func() {
		res <- func() error {
			nc, err := pl.Accept()
			if err != nil {
				return err
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(ioDeadline))
			var b [5]byte
			if _, err := io.ReadFull(nc, b[:]); err != nil {
				return err
			}
			if string(b[:]) != "hello" {
				return errors.New("peer got " + strconv.Quote(string(b[:])))
			}
			if _, err := nc.Write([]byte("world")); err != nil {
				return err
			}
			// Wait for the dialler to close, so its bytes are all read.
			_, err = io.Copy(io.Discard, nc)
			return err
		}()
	}()
	return pl.Addr().String(), res
}

// checkDialExchange checks OnOpen ran, "hello" went out and "world" came
// back, then closes c and checks OnClose and the peer's report.
func checkDialExchange(t *testing.T, r *dialRecorder, c *Conn, peer <-chan error) {
	t.Helper()
	if got := testutil.Recv(t, r.opened, "OnOpen"); got != c {
		t.Fatalf("OnOpen got conn %p, Dial returned %p", got, c)
	}
	var got []byte
	for len(got) < 5 {
		got = append(got, testutil.Recv(t, r.data, "OnData")...)
	}
	if string(got) != "world" {
		t.Fatalf("dialler got %q, want \"world\"", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if ev := testutil.Recv(t, r.closed, "OnClose"); ev.err != nil {
		t.Fatalf("OnClose err = %v, want nil", ev.err)
	}
	if err := testutil.Recv(t, peer, "the peer"); err != nil {
		t.Fatalf("peer: %v", err)
	}
}

func TestDialTCP(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	addr, peer := plainPeer(t, "tcp", "127.0.0.1:0")
	r := newDialRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := e.Dial(ctx, "tcp", addr, r, DialOptions{Context: "mine"})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if c.Context() != "mine" {
		t.Fatalf("Context() = %v, want the DialOptions value", c.Context())
	}
	if c.RemoteAddr().String() != addr {
		t.Fatalf("RemoteAddr() = %v, want %s", c.RemoteAddr(), addr)
	}
	if a, ok := c.LocalAddr().(*net.TCPAddr); !ok || a.Port == 0 {
		t.Fatalf("LocalAddr() = %v, want a TCP address with a port", c.LocalAddr())
	}
	checkDialExchange(t, r, c, peer)
}

func TestDialUnix(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	addr, peer := plainPeer(t, "unix", filepath.Join(t.TempDir(), "peer.sock"))
	r := newDialRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := e.Dial(ctx, "unix", addr, r, DialOptions{})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	checkDialExchange(t, r, c, peer)
}

func TestDialRefused(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pl.Addr().String()
	pl.Close() // nothing listens there now
	r := newDialRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := e.Dial(ctx, "tcp", addr, r, DialOptions{})
	if c != nil || !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, unix.ECONNREFUSED) {
		t.Fatalf("Dial to a closed port = %v, %v; want nil, ECONNREFUSED", c, err)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "connect" {
		t.Errorf("error %v does not name its syscall, connect", err)
	}
	if n := r.calls.Load(); n != 0 {
		t.Fatalf("%d handler calls for a refused dial, want none", n)
	}
	if n := e.Conns(); n != 0 {
		t.Fatalf("Conns() = %d after a refused dial, want 0", n)
	}
}

// fullBacklog returns the address of a listening socket that nobody
// accepts from and whose accept queue is full: on loopback, a connect to it
// stays in SYN_SENT, because the kernel drops SYNs for a full queue. It is
// the deterministic way to make a connect hang without leaving loopback.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	for i := 0; i < 8; i++ {
		nc, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return addr // the queue is full: this connect hung
			}
			t.Fatalf("filling the backlog: %v", err)
		}
		t.Cleanup(func() { nc.Close() })
	}
	t.Skip("the accept queue never filled; cannot make a connect hang")
	return ""
}

func TestDialTimeout(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	addr := fullBacklog(t)
	r := newDialRecorder()
	c, err := e.Dial(context.Background(), "tcp", addr, r, DialOptions{Timeout: 200 * time.Millisecond})
	if c != nil || !errors.Is(err, ErrDialTimeout) || !IsTimeout(err) {
		t.Fatalf("Dial = %v, %v; want nil, ErrDialTimeout", c, err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%v is not a net.Error with Timeout() true", err)
	}
	if n := r.calls.Load(); n != 0 {
		t.Fatalf("%d handler calls for a failed dial, want none", n)
	}
	if n := e.Conns(); n != 0 {
		t.Fatalf("Conns() = %d after a timed-out dial, want 0", n)
	}
}

// TestDialContextDeadline: a ctx deadline bounds the connect like a timeout,
// and does not get in the way of a dial that succeeds.
func TestDialContextDeadline(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})

	addr, peer := plainPeer(t, "tcp", "127.0.0.1:0")
	r := newDialRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := e.Dial(ctx, "tcp", addr, r, DialOptions{Timeout: time.Hour})
	if err != nil {
		t.Fatalf("Dial with a deadline to a listening port: %v", err)
	}
	checkDialExchange(t, r, c, peer)

	hung := fullBacklog(t)
	r = newDialRecorder()
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c, err = e.Dial(ctx, "tcp", hung, r, DialOptions{Timeout: time.Hour})
	// Whichever fires first, the loop's timer or ctx, the error is a timeout.
	if c != nil || !(IsTimeout(err) || errors.Is(err, context.DeadlineExceeded)) {
		t.Fatalf("Dial past the ctx deadline = %v, %v; want nil and a timeout", c, err)
	}
	if n := r.calls.Load(); n != 0 {
		t.Fatalf("%d handler calls for a failed dial, want none", n)
	}
}

// TestDialContextCancel: cancelling the ctx of a hanging Dial returns
// ctx.Err() and must also end the connect attempt, freeing its descriptor,
// rather than leave it in SYN_SENT for the kernel's retry period (minutes).
func TestDialContextCancel(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	hung := fullBacklog(t)
	r := newDialRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := e.Dial(ctx, "tcp", hung, r, DialOptions{})
		res <- err
	}()
	// Wait until the dial is in flight (its connection is counted), then cancel.
	waitConns(t, e, 1, waitTimeout)
	cancel()
	if err := testutil.Recv(t, res, "Dial to return"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial after cancel: err = %v, want context.Canceled", err)
	}
	// Generous for a task hop, far short of the kernel's SYN retries.
	waitConns(t, e, 0, 3*time.Second)
	if n := r.calls.Load(); n != 0 {
		t.Fatalf("%d handler calls for a cancelled dial, want none", n)
	}
}

// waitConns waits up to d until e.Conns() == n. The engine offers no
// signal for the count, so this polls.
func waitConns(t *testing.T, e *Engine, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for e.Conns() != n {
		if time.Now().After(deadline) {
			t.Fatalf("Conns() = %d, want %d", e.Conns(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDialAsync: done runs on the loop goroutine after OnOpen with the
// connection; a failure calls only done, with the error; a dial still
// connecting at Shutdown ends with ErrShutdown.
func TestDialAsync(t *testing.T) {
	e, err := New(Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	type outcome struct {
		c      *Conn
		err    error
		g      uint64
		opened bool // OnOpen had run when done was called
	}

	addr, peer := plainPeer(t, "tcp", "127.0.0.1:0")
	r := newDialRecorder()
	out := make(chan outcome, 1)
	if err := e.DialAsync("tcp", addr, r, DialOptions{}, func(c *Conn, err error) {
		out <- outcome{c, err, goid(), r.calls.Load() == 1}
	}); err != nil {
		t.Fatalf("DialAsync: %v", err)
	}
	o := testutil.Recv(t, out, "done")
	if o.err != nil || o.c == nil {
		t.Fatalf("done(%v, %v), want a connection", o.c, o.err)
	}
	if !o.opened {
		t.Fatal("done ran before OnOpen")
	}
	if o.g != r.openG.Load() || o.g == goid() {
		t.Fatalf("done ran on goroutine %d, OnOpen on %d: want both on the loop", o.g, r.openG.Load())
	}
	checkDialExchange(t, r, o.c, peer)

	r = newDialRecorder()
	if err := e.DialAsync("tcp", fullBacklog(t), r, DialOptions{Timeout: 100 * time.Millisecond}, func(c *Conn, err error) {
		out <- outcome{c, err, goid(), r.calls.Load() != 0}
	}); err != nil {
		t.Fatalf("DialAsync: %v", err)
	}
	o = testutil.Recv(t, out, "done")
	if o.c != nil || !errors.Is(o.err, ErrDialTimeout) || o.opened {
		t.Fatalf("done(%v, %v), handler called %v; want nil, ErrDialTimeout, no handler call", o.c, o.err, o.opened)
	}

	r = newDialRecorder()
	if err := e.DialAsync("tcp", fullBacklog(t), r, DialOptions{}, func(c *Conn, err error) {
		out <- outcome{c, err, goid(), r.calls.Load() != 0}
	}); err != nil {
		t.Fatalf("DialAsync: %v", err)
	}
	waitConns(t, e, 1, waitTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	o = testutil.Recv(t, out, "done")
	if o.c != nil || !errors.Is(o.err, ErrShutdown) || o.opened {
		t.Fatalf("done(%v, %v), handler called %v; want nil, ErrShutdown, no handler call", o.c, o.err, o.opened)
	}
	if err := e.DialAsync("tcp", addr, r, DialOptions{}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("DialAsync after Shutdown: err = %v, want ErrClosed", err)
	}
}
