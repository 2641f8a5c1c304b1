package loop

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// ringAcceptedOn reads how many connections l's ring accepted, on l's
// goroutine.
func ringAcceptedOn(t *testing.T, l *eventLoop) uint64 {
	t.Helper()
	ch := make(chan uint64, 1)
	l.submit(task{kind: taskFunc, fn: func() {
		u, ok := l.io.(*completion)
		if !ok {
			t.Errorf("the loop's backend is %T, not io_uring's", l.io)
		}
		ch <- u.ringAccepted
	}})
	return testutil.Recv(t, ch, "the ring's accept count")
}

// TestURingAcceptsOnTheRing: on io_uring, a TCP listener's connections are
// accepted by its multishot accept (none by accept4 on readiness), every
// one of them served; after Close, connects are refused at once and the
// port is free.
func TestURingAcceptsOnTheRing(t *testing.T) {
	skipUnlessURing(t)
	const clients = 50
	e := newEngine(t, Config{Loops: 1})
	ln := listen(t, e, "tcp4", "127.0.0.1:0", echo())
	addr := ln.Addr().String()
	for i := range clients {
		echoOnce(t, dialClient(t, "tcp4", addr), string(rune('a'+i%26)))
	}
	if n := ringAcceptedOn(t, e.loops[0]); n != clients {
		t.Fatalf("the ring accepted %d connections of %d served", n, clients)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp4", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial right after Close: %v, want ECONNREFUSED", err)
	}
	pl, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatalf("net.Listen right after Close: %v (the armed accept still holds the socket)", err)
	}
	pl.Close()
}

// acceptArmedOn reports, on l's goroutine, whether lf's accept is in flight.
func acceptArmedOn(t *testing.T, l *eventLoop, lf *listenFD) bool {
	t.Helper()
	ch := make(chan bool, 1)
	l.submit(task{kind: taskFunc, fn: func() {
		armed := false
		for _, a := range l.io.(*completion).accepts {
			if a.lf == lf && a.armed {
				armed = true
			}
		}
		ch <- armed
	}})
	return testutil.Recv(t, ch, "the accept's state")
}

// TestURingListenerClosedAsItResumes: a listener resumes (as after
// MaxConns or a back-off) in a turn that goes on while another goroutine
// closes it and a new socket takes its descriptor number. The accept armed
// by the resume must have reached the kernel before the close, so that it
// ends with the old socket: left for the turn's enter, it went to the new
// socket and took its connection.
func TestURingListenerClosedAsItResumes(t *testing.T) {
	skipUnlessURing(t)
	e := newEngine(t, Config{Loops: 1, NoReusePort: true})
	ln := listen(t, e, "tcp4", "127.0.0.1:0", echo())
	echoOnce(t, dialClient(t, "tcp4", ln.Addr().String()), "x")
	lf, l := ln.fds[0], ln.fds[0].loop
	l.submit(task{kind: taskFunc, fn: func() { lf.mu.Lock(); lf.unwatch(); lf.mu.Unlock() }})
	for deadline := time.Now().Add(waitTimeout); acceptArmedOn(t, l, lf); {
		if time.Now().After(deadline) {
			t.Fatal("the paused listener's accept did not end")
		}
		time.Sleep(time.Millisecond)
	}
	resumed, carryOn := make(chan struct{}), make(chan struct{})
	l.submit(task{kind: taskFunc, fn: func() {
		lf.mu.Lock()
		lf.watch()
		lf.mu.Unlock()
		close(resumed)
		<-carryOn // the rest of the turn
	}})
	testutil.Recv(t, resumed, "the resume")
	closed := make(chan error, 1)
	go func() { closed <- ln.Close() }()
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(time.Millisecond) {
		lf.mu.Lock()
		done := lf.closed // set, and the descriptor closed, under lf.mu
		lf.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Close did not close the descriptor")
		}
	}
	other, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	rc, _ := other.(*net.TCPListener).SyscallConn()
	rc.Control(func(fd uintptr) {
		if int(fd) != lf.fd {
			t.Logf("the new listener has descriptor %d, not the closed one's %d: nothing to take", fd, lf.fd)
		}
	})
	close(carryOn)
	nc := dialClient(t, "tcp4", other.Addr().String())
	defer nc.Close()
	other.(*net.TCPListener).SetDeadline(time.Now().Add(waitTimeout))
	c, err := other.Accept()
	if err != nil {
		t.Fatalf("the new listener's Accept: %v (its connection was taken by the closed listener's accept)", err)
	}
	c.Close()
	if err := testutil.Recv(t, closed, "Close"); err != nil {
		t.Fatal(err)
	}
}
