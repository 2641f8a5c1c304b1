package loop

import (
	"errors"
	"net"
	"syscall"
	"testing"

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
