package loop

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"github.com/airsock/airsock/poller"
)

// The bounds a peer cannot push past: unconsumed input, pending output,
// open connections, idle time; and a panicking handler, which costs only
// its own connection.

// TestMaxInbound: a handler that consumes nothing stops being fed at
// MaxInbound (never holding more than max(MaxInbound, ReadBufferSize):
// the ring is capped there, not a read beyond), and
// reading resumes, losing nothing, when it consumes from a Run callback.
func TestMaxInbound(t *testing.T) {
	const maxIn, rbs, total = 64 << 10, 16 << 10, 4 << 20
	e := newEngine(t, Config{Loops: 1, MaxInbound: maxIn, ReadBufferSize: rbs})
	want := pattern(total, 30)
	var (
		consume  atomic.Bool
		maxSeen  int    // loop goroutine only
		consumed []byte // loop goroutine only
	)
	full := make(chan *Conn, 1)
	done := make(chan struct{})
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		if !consume.Load() {
			maxSeen = max(maxSeen, c.InboundBuffered())
			if c.InboundBuffered() >= maxIn {
				select {
				case full <- c:
				default:
				}
			}
			return
		}
		b, _ := c.Next(-1)
		consumed = append(consumed, b...)
		if len(consumed) == total {
			close(done)
		}
	}})
	nc := dialClient(t, "tcp", ln.Addr().String())
	werr := make(chan error, 1)
	go func() {
		_, err := nc.Write(want)
		werr <- err
	}()

	c := testutil.Recv(t, full, "the handler to hold MaxInbound")
	onLoop(t, c, func(c *Conn) {
		if n := c.InboundBuffered(); n != maxIn {
			t.Errorf("InboundBuffered() = %d at the limit, want %d", n, maxIn)
		}
		if maxSeen > maxIn {
			t.Errorf("OnData saw %d bytes buffered, more than max(MaxInbound, ReadBufferSize) = %d", maxSeen, maxIn)
		}
		t.Logf("InboundBuffered() = %d at the limit (MaxInbound %d)", c.InboundBuffered(), maxIn)
		if c.interest&poller.Readable != 0 {
			t.Errorf("still reading past MaxInbound (interest %v)", c.interest)
		}
	})

	consume.Store(true)
	onLoop(t, c, func(c *Conn) {
		b, _ := c.Next(-1) // consuming resumes reading
		consumed = append(consumed, b...)
	})
	testutil.Recv(t, done, "all input to be consumed")
	if err := testutil.Recv(t, werr, "the client's write"); err != nil {
		t.Fatalf("client write: %v", err)
	}
	onLoop(t, c, func(*Conn) {
		if d := diff(consumed, want); d != "" {
			t.Errorf("server got: %s", d)
		}
	})
}

// TestWriteHighWater: an echo server whose client sends but does not read
// stops reading once its pending output reaches WriteHighWater, so the
// output stays near the mark; when the client reads, all of it arrives.
func TestWriteHighWater(t *testing.T) {
	const hw, lw, rbs, total = 256 << 10, 64 << 10, 64 << 10, 16 << 20
	e := newEngine(t, Config{Loops: 1, WriteHighWater: hw, WriteLowWater: lw, ReadBufferSize: rbs})
	var maxOut int // loop goroutine only
	high := make(chan *Conn, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		b, _ := c.Next(-1)
		c.Write(b)
		n := c.OutboundBuffered()
		maxOut = max(maxOut, n)
		if n >= hw {
			select {
			case high <- c:
			default:
			}
		}
	}})
	nc := dialClient(t, "tcp", ln.Addr().String())
	want := pattern(total, 31)
	werr := make(chan error, 1)
	go func() {
		_, err := nc.Write(want)
		werr <- err
	}()

	c := testutil.Recv(t, high, "pending output to reach WriteHighWater")
	onLoop(t, c, func(c *Conn) {
		if n := c.OutboundBuffered(); n > hw+rbs {
			t.Errorf("OutboundBuffered() = %d, want <= WriteHighWater+ReadBufferSize = %d", n, hw+rbs)
		}
	})

	got := make([]byte, total)
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatalf("client read: %v", err)
	}
	if err := testutil.Recv(t, werr, "the client's write"); err != nil {
		t.Fatalf("client write: %v", err)
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("echo: %s", d)
	}
	onLoop(t, c, func(*Conn) {
		t.Logf("most pending output seen: %d bytes (high water %d)", maxOut, hw)
		if maxOut > hw+rbs {
			t.Errorf("pending output reached %d, want <= WriteHighWater+ReadBufferSize = %d", maxOut, hw+rbs)
		}
	})
}

// TestMaxConns: at MaxConns a further connection is not accepted until an
// open one closes; then it is.
func TestMaxConns(t *testing.T) {
	e := newEngine(t, Config{Loops: 2, MaxConns: 2})
	opened := make(chan *Conn, 3)
	closed := make(chan closeEvent, 3)
	var over atomic.Int32
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) {
			if e.Conns() > 2 {
				over.Add(1)
			}
			opened <- c
		},
		Data:  echo().Data,
		Close: func(c *Conn, err error) { closed <- closeEvent{c, err} },
	})
	addr := ln.Addr().String()
	c1 := dialClient(t, "tcp", addr)
	testutil.Recv(t, opened, "OnOpen 1")
	c2 := dialClient(t, "tcp", addr)
	testutil.Recv(t, opened, "OnOpen 2")
	echoOnce(t, c2, "two")

	// The kernel completes the third handshake; the engine must not accept.
	c3 := dialClient(t, "tcp", addr)
	if _, err := c3.Write([]byte("third")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-opened:
		t.Fatalf("a third connection was opened with MaxConns 2 (Conns %d)", e.Conns())
	case <-time.After(300 * time.Millisecond): // a bounded check for absence
	}

	c1.Close()
	testutil.Recv(t, closed, "OnClose 1")
	testutil.Recv(t, opened, "OnOpen 3, once a connection closed")
	got := make([]byte, 5)
	if _, err := io.ReadFull(c3, got); err != nil || string(got) != "third" {
		t.Fatalf("third client got %q, %v; want its echo", got, err)
	}
	if n := over.Load(); n != 0 {
		t.Fatalf("%d OnOpen calls saw more than MaxConns connections", n)
	}
}

// TestMaxConnsHoldsNoBacklog: a burst of connections that reaches the
// listener while its loop is busy in one turn leaves MaxConns of them
// accepted and the rest in the kernel's backlog, not as descriptors of the
// server (a multishot accept would take them all).
func TestMaxConnsHoldsNoBacklog(t *testing.T) {
	const maxConns, clients = 10, 200
	e := newEngine(t, Config{Loops: 1, MaxConns: maxConns})
	ln := listen(t, e, "tcp4", "127.0.0.1:0", Funcs{})
	before := testutil.OpenFDs(t)
	l := ln.fds[0].loop
	busy, carryOn := make(chan struct{}), make(chan struct{})
	l.submit(task{kind: taskFunc, fn: func() { close(busy); <-carryOn }})
	testutil.Recv(t, busy, "the busy turn")
	for range clients {
		dialClient(t, "tcp4", ln.Addr().String()) // the handshake completes in the backlog
	}
	close(carryOn)
	for deadline := time.Now().Add(waitTimeout); e.Conns() < maxConns; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections opened, want %d", e.Conns(), maxConns)
		}
	}
	turned := make(chan struct{})
	l.submit(task{kind: taskFunc, fn: func() { close(turned) }})
	testutil.Recv(t, turned, "a turn after the cap") // what the kernel accepted meanwhile is reaped
	if server := testutil.OpenFDs(t) - before - clients; server > maxConns+2 {
		t.Fatalf("the server holds %d descriptors for %d connections at MaxConns %d", server, e.Conns(), maxConns)
	}
}

// TestIdleTimeout: an idle connection is closed with ErrIdleTimeout; one
// with steady traffic is not.
func TestIdleTimeout(t *testing.T) {
	const idle = 500 * time.Millisecond
	e := newEngine(t, Config{Loops: 1, IdleTimeout: idle})
	type opened struct {
		c    *Conn
		port int
	}
	opens := make(chan opened, 2)
	closed := make(chan closeEvent, 2)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open:  func(c *Conn) { opens <- opened{c, c.RemoteAddr().(*net.TCPAddr).Port} },
		Data:  echo().Data,
		Close: func(c *Conn, err error) { closed <- closeEvent{c, err} },
	})
	quietC := dialClient(t, "tcp", ln.Addr().String())
	q := testutil.Recv(t, opens, "OnOpen (idle)")
	busyC := dialClient(t, "tcp", ln.Addr().String())
	testutil.Recv(t, opens, "OnOpen (busy)")

	// Traffic on busyC every idle/10 until the idle connection has closed
	// and then two more idle periods have passed.
	tick := time.NewTicker(idle / 10)
	defer tick.Stop()
	var quietClosed time.Time
	for i := 0; ; i++ {
		select {
		case ev := <-closed:
			if ev.c != q.c {
				t.Fatalf("the busy connection closed: %v", ev.err)
			}
			if !errors.Is(ev.err, ErrIdleTimeout) || !IsTimeout(ev.err) {
				t.Fatalf("idle OnClose err = %v, want ErrIdleTimeout", ev.err)
			}
			var ne net.Error
			if !errors.As(ev.err, &ne) || !ne.Timeout() {
				t.Fatalf("%v is not a net.Error with Timeout() true", ev.err)
			}
			quietClosed = time.Now()
		case <-tick.C:
			echoOnce(t, busyC, "ping")
		case <-time.After(waitTimeout):
			t.Fatal("the idle connection was not closed")
		}
		if !quietClosed.IsZero() && time.Since(quietClosed) > 2*idle {
			break
		}
	}
	if n, err := quietC.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle client read = %d, %v; want EOF", n, err)
	}
}

// panicky echoes, and panics on a message that starts with "boom".
var panicky = Funcs{Data: func(c *Conn) {
	b, _ := c.Next(-1)
	if strings.HasPrefix(string(b), "boom") {
		panic("handler blew up")
	}
	c.Write(b)
}}

// TestHandlerPanic: a panic in OnData closes only its connection, with a
// *PanicError; the loop's other connections and the listener carry on.
func TestHandlerPanic(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, Logger: quiet})
	closed := make(chan closeEvent, 3) // room for every connection's OnClose
	h := panicky
	h.Close = func(c *Conn, err error) { closed <- closeEvent{c, err} }
	ln := listen(t, e, "tcp", "127.0.0.1:0", h)
	good := dialClient(t, "tcp", ln.Addr().String())
	echoOnce(t, good, "fine")

	bad := dialClient(t, "tcp", ln.Addr().String())
	if _, err := bad.Write([]byte("boom")); err != nil {
		t.Fatal(err)
	}
	ev := testutil.Recv(t, closed, "OnClose of the panicking connection")
	var pe *PanicError
	if !errors.As(ev.err, &pe) || pe.Callback != "OnData" || pe.Value != "handler blew up" || len(pe.Stack) == 0 {
		t.Fatalf("OnClose err = %#v, want *PanicError from OnData with value and stack", ev.err)
	}
	if _, err := io.ReadAll(bad); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("panicking connection's client: %v, want EOF or reset", err)
	}

	echoOnce(t, good, "still fine")
	echoOnce(t, dialClient(t, "tcp", ln.Addr().String()), "new one")
}

// isReset reports whether err is a connection reset.
func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && strings.Contains(oe.Err.Error(), "reset")
}
