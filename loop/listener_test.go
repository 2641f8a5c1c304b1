package loop

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"golang.org/x/sys/unix"
)

// Listeners: Bind then Serve, port ownership within the engine, Close
// freeing the port while accepted connections live on, and accepting with
// one socket (NoReusePort) spread over all loops.

// echoOnce sends msg on nc and checks that it comes back.
func echoOnce(t *testing.T, nc net.Conn, msg string) {
	t.Helper()
	if _, err := nc.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

func TestBindServe(t *testing.T) {
	for _, noReuse := range []bool{false, true} {
		name := map[bool]string{false: "reuseport", true: "noreuseport"}[noReuse]
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, Config{Loops: 2, NoReusePort: noReuse})
			ln, err := e.Bind("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatalf("Bind: %v", err)
			}
			a, ok := ln.Addr().(*net.TCPAddr)
			if !ok || a.Port == 0 || !a.IP.Equal(net.IPv4(127, 0, 0, 1)) {
				t.Fatalf("Addr() = %v, want 127.0.0.1 with the chosen port", ln.Addr())
			}
			// Bound but not listening: the port is held, connects are refused.
			if _, err := net.DialTimeout("tcp", a.String(), waitTimeout); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("dial before Serve: err = %v, want ECONNREFUSED", err)
			}
			if _, err := e.Bind("tcp", a.String()); !errors.Is(err, unix.EADDRINUSE) {
				t.Fatalf("Bind of a port the engine holds: err = %v, want EADDRINUSE", err)
			}
			if err := ln.Serve(echo(), 0); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if err := ln.Serve(echo(), 0); err == nil {
				t.Fatal("second Serve succeeded")
			}
			if _, err := e.Listen("tcp", a.String(), echo()); !errors.Is(err, unix.EADDRINUSE) {
				t.Fatalf("Listen on a port the engine serves: err = %v, want EADDRINUSE", err)
			}
			nc := dialClient(t, "tcp", a.String())
			echoOnce(t, nc, "before close")

			if err := ln.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := ln.Close(); !errors.Is(err, ErrClosed) {
				t.Fatalf("second Close: err = %v, want ErrClosed", err)
			}
			if err := ln.Serve(echo(), 0); !errors.Is(err, ErrClosed) {
				t.Fatalf("Serve after Close: err = %v, want ErrClosed", err)
			}
			// The port is free at once...
			pl, err := net.Listen("tcp", a.String())
			if err != nil {
				t.Fatalf("net.Listen on the port right after Close: %v", err)
			}
			pl.Close()
			// ...and the connection accepted before Close lives on.
			echoOnce(t, nc, "after close")
			// The engine can take the port again.
			ln2 := listen(t, e, "tcp", a.String(), echo())
			echoOnce(t, dialClient(t, "tcp", ln2.Addr().String()), "again")
		})
	}
}

// TestNoReusePortSpreads: with one accepting socket, connections still go
// to every loop.
func TestNoReusePortSpreads(t *testing.T) {
	const loops, clients = 3, 12
	e := newEngine(t, Config{Loops: loops, NoReusePort: true})
	opened := make(chan *Conn, clients)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) { opened <- c },
		Data: echo().Data,
	})
	seen := make(map[int]int)
	for i := 0; i < clients; i++ {
		nc := dialClient(t, "tcp", ln.Addr().String())
		c := testutil.Recv(t, opened, "OnOpen")
		seen[c.Loop()]++
		echoOnce(t, nc, "x")
	}
	for i := 0; i < loops; i++ {
		if seen[i] == 0 {
			t.Fatalf("no connection on loop %d of %d: %v", i, loops, seen)
		}
	}
}

// TestListenerCloseWhileAccepting: closing a listener while clients keep
// connecting neither panics nor leaves the port held.
func TestListenerCloseWhileAccepting(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	ln := listen(t, e, "tcp", "127.0.0.1:0", echo())
	addr := ln.Addr().String()
	stop := make(chan struct{})
	done := make(chan struct{})
	dialled := make(chan struct{}, 1)
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				nc.Close()
				select {
				case dialled <- struct{}{}:
				default:
				}
			}
		}
	}()
	testutil.Recv(t, dialled, "a first connection")
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	testutil.Recv(t, done, "the dialling goroutine")
	pl, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port still held after Close: %v", err)
	}
	pl.Close()
}

// TestListenerClosedInOnOpen: a handler may close its own listener on the
// loop goroutine (where Close cannot wait for the loop): new connects are
// refused once it returns, the port is free by the end of that turn, and
// the connection that closed it is served on.
func TestListenerClosedInOnOpen(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	var served atomic.Pointer[Listener]
	closed := make(chan error, 1)
	ln := listen(t, e, "tcp4", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) { closed <- served.Load().Close() },
		Data: echo().Data,
	})
	served.Store(ln)
	addr := ln.Addr().String()
	nc := dialClient(t, "tcp4", addr)
	if err := testutil.Recv(t, closed, "OnOpen's Close"); err != nil {
		t.Fatalf("Close in OnOpen: %v", err)
	}
	if _, err := net.Dial("tcp4", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after Close in OnOpen: %v, want ECONNREFUSED", err)
	}
	echoOnce(t, nc, "still served")
	// The echo came back, so the turn that closed the listener is over.
	pl, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatalf("net.Listen after the turn that closed the listener: %v", err)
	}
	pl.Close()
}

// TestAcceptedNoDelay: accepted TCP connections have Nagle's algorithm
// off by default (on Linux inherited from the listener, with no
// setsockopt per connection), and on with Config.Nagle.
func TestAcceptedNoDelay(t *testing.T) {
	for _, nagle := range []bool{false, true} {
		e := newEngine(t, Config{Loops: 1, Nagle: nagle})
		got := make(chan int, 1)
		ln := listen(t, e, "tcp4", "127.0.0.1:0", Funcs{Open: func(c *Conn) {
			v, err := unix.GetsockoptInt(int(c.fd), unix.IPPROTO_TCP, unix.TCP_NODELAY)
			if err != nil {
				t.Errorf("getsockopt TCP_NODELAY: %v", err)
			}
			got <- v
		}})
		dialClient(t, "tcp4", ln.Addr().String())
		if v := testutil.Recv(t, got, "OnOpen"); (v != 0) == nagle {
			t.Errorf("Nagle %v: TCP_NODELAY on the accepted connection is %d", nagle, v)
		}
	}
}
