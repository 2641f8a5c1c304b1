package serversocket_test

// Helpers shared by the networked conformance tests: an engine per test,
// servers and clients on 127.0.0.1, bounded waits, and error classification.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// waitLimit bounds every wait of these tests; reaching it is a failure, never
// a timing assertion.
const waitLimit = 10 * time.Second

// newEngine starts an engine of two loops (or cfg's) for t and closes it when
// t ends. cfg.Loops 0 means 2.
func newEngine(t testing.TB, cfg loop.Config) *loop.Engine {
	t.Helper()
	if cfg.Loops == 0 {
		cfg.Loops = 2
	}
	e, err := loop.New(cfg)
	if err != nil {
		t.Fatalf("loop.New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// startServer binds a ServerSocket to 127.0.0.1 (any port) and listens;
// onConnect, if not nil, is its Connect listener and receives each accepted
// socket on the socket's loop goroutine. The server is closed when t ends.
func startServer(t testing.TB, e *loop.Engine, onConnect func(*serversocket.Socket)) *serversocket.ServerSocket {
	t.Helper()
	srv := serversocket.NewOn(e)
	if onConnect != nil {
		srv.AddEventListener(serversocket.Connect, func(ev serversocket.Eventer) {
			onConnect(ev.(*serversocket.ServerSocketConnectEvent).Socket)
		}, 0)
	}
	if err := srv.Bind(0, "127.0.0.1"); err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if err := srv.Listen(0); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		if srv.Bound() {
			srv.Close()
		}
	})
	return srv
}

// hostPort is the address a client dials to reach srv.
func hostPort(srv *serversocket.ServerSocket) string {
	return net.JoinHostPort(srv.LocalAddress(), strconv.Itoa(srv.LocalPort()))
}

// dial connects a client to addr with every read and write bounded by
// waitLimit; the connection is closed when t ends.
func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(waitLimit))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// acceptOne starts a server, connects one client and returns the accepted
// socket with the client's end. setup runs in the Connect listener, on the
// socket's loop, so the listeners it adds see every event of the socket.
func acceptOne(t testing.TB, e *loop.Engine, setup func(*serversocket.Socket)) (*serversocket.Socket, *net.TCPConn) {
	t.Helper()
	got := make(chan *serversocket.Socket, 1)
	srv := startServer(t, e, func(s *serversocket.Socket) {
		if setup != nil {
			setup(s)
		}
		got <- s
	})
	c := dial(t, hostPort(srv))
	return testutil.Recv(t, got, "the Connect event"), c
}

// peerListener is a plain net listener on 127.0.0.1 for outbound Connects,
// closed when t ends.
func peerListener(t testing.TB) (*net.TCPListener, int) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("net.Listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener), ln.Addr().(*net.TCPAddr).Port
}

// acceptPeer accepts one connection on ln within waitLimit; its reads and
// writes are bounded by waitLimit too.
func acceptPeer(t testing.TB, ln *net.TCPListener) *net.TCPConn {
	t.Helper()
	ln.SetDeadline(time.Now().Add(waitLimit))
	c, err := ln.AcceptTCP()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	c.SetDeadline(time.Now().Add(waitLimit))
	t.Cleanup(func() { c.Close() })
	return c
}

// readN reads exactly n bytes from c.
func readN(t testing.TB, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("client read of %d bytes: %v", n, err)
	}
	return b
}

// readToEOF reads c until the peer closes it; any other error fails t.
func readToEOF(t testing.TB, c net.Conn) []byte {
	t.Helper()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("client read to EOF: %v (after %d bytes)", err, len(b))
	}
	return b
}

// echo writes msg on c and checks that exactly msg comes back.
func echo(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("client write: %v", err)
	}
	if got := readN(t, c, len(msg)); string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

// pattern returns n bytes that differ from any shifted copy of themselves,
// so a lost, repeated or reordered stretch shows up in a comparison.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8 + i>>16)
	}
	return b
}

// errKind names err's AIR error class and ID, for comparing with a want.
func errKind(err error) string {
	if err == nil {
		return "nil"
	}
	if e, ok := errors.AsType[*serversocket.IOError](err); ok {
		return "IOError " + strconv.Itoa(e.ErrorID)
	}
	if e, ok := errors.AsType[*serversocket.EOFError](err); ok {
		return "EOFError " + strconv.Itoa(e.ErrorID)
	}
	if e, ok := errors.AsType[*serversocket.RangeError](err); ok {
		return "RangeError " + strconv.Itoa(e.ErrorID)
	}
	if e, ok := errors.AsType[*serversocket.ArgumentError](err); ok {
		return "ArgumentError " + strconv.Itoa(e.ErrorID)
	}
	if e, ok := errors.AsType[*serversocket.SecurityError](err); ok {
		return "SecurityError " + strconv.Itoa(e.ErrorID)
	}
	return fmt.Sprintf("%T", err)
}

// recorder collects what listeners observe, from any goroutine, and lets the
// test wait until the collection satisfies a condition.
type recorder[T any] struct {
	mu      sync.Mutex
	items   []T
	changed chan struct{}
}

func newRecorder[T any]() *recorder[T] {
	return &recorder[T]{changed: make(chan struct{}, 1)}
}

// add appends v and wakes a waiter; it never blocks, so a loop calling it
// cannot stall.
func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	r.items = append(r.items, v)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// snapshot returns a copy of what was recorded so far.
func (r *recorder[T]) snapshot() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.items...)
}

// waitFor waits up to waitLimit until cond holds for the recorded items and
// returns them.
func (r *recorder[T]) waitFor(t testing.TB, what string, cond func([]T) bool) []T {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		items := r.snapshot()
		if cond(items) {
			return items
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; recorded %v", what, items)
		}
	}
}

// waitLen waits until at least n items are recorded.
func (r *recorder[T]) waitLen(t testing.TB, n int, what string) []T {
	t.Helper()
	return r.waitFor(t, what, func(items []T) bool { return len(items) >= n })
}

// bufferLogger returns a logger writing text records into buf.
func bufferLogger(buf *testutil.SyncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, nil))
}
