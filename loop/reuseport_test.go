package loop

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"golang.org/x/sys/unix"
)

// Port ownership across engines and processes: a port served (or only
// bound) by anyone else is refused as package net refuses it, JoinReusePort
// shares it on purpose, the guard leaves no gap for two engines binding at
// once, and the loops of one engine share one port, port 0 included.

// wantAddrInUse fails the test unless err is the error package net gives
// for a port in use.
func wantAddrInUse(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want EADDRINUSE", what)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "bind" {
		t.Errorf("%s: err = %#v, want an *os.SyscallError of bind", what, err)
	}
	if !errors.Is(err, unix.EADDRINUSE) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("%s: err = %v, want EADDRINUSE", what, err)
	}
	if got, want := err.Error(), "bind: address already in use"; got != want {
		t.Errorf("%s: message %q, want %q", what, got, want)
	}
}

// perLoopSockets reports how many listening sockets a TCP listener of an
// engine with cfg has.
func perLoopSockets(cfg Config) int {
	if runtime.GOOS == "linux" && !cfg.NoReusePort {
		return cfg.Loops
	}
	return 1
}

// tagged returns a handler whose OnOpen reports name and the connection's
// loop and local port on ch, which must have room for every connection.
func tagged(name string, ch chan<- acceptEvent) Funcs {
	return Funcs{
		Open: func(c *Conn) {
			ch <- acceptEvent{engine: name, loop: c.Loop(), port: c.LocalAddr().(*net.TCPAddr).Port}
		},
		Data: echo().Data,
	}
}

// acceptEvent is one connection's OnOpen, as tagged reports it.
type acceptEvent struct {
	engine string
	loop   int
	port   int
}

// dialOnce connects to addr, waits for the server's OnOpen on ch and closes
// the client again.
func dialOnce(t *testing.T, addr string, ch <-chan acceptEvent) acceptEvent {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer nc.Close()
	return testutil.Recv(t, ch, "OnOpen of a new connection")
}

func TestReusePortRefusesHeldPort(t *testing.T) {
	newcomers := []struct {
		name string
		cfg  Config
	}{
		{"reuseport", Config{Loops: 2}},
		{"one loop", Config{Loops: 1}},
		{"noreuseport", Config{Loops: 2, NoReusePort: true}},
	}
	for _, serve := range []bool{true, false} {
		state := map[bool]string{true: "served", false: "bound"}[serve]
		for _, holder := range newcomers {
			t.Run(holder.name+" "+state, func(t *testing.T) {
				e := newEngine(t, holder.cfg)
				ln, err := e.Bind("tcp4", "127.0.0.1:0")
				if err != nil {
					t.Fatalf("Bind: %v", err)
				}
				if serve {
					if err := ln.Serve(echo(), 0); err != nil {
						t.Fatalf("Serve: %v", err)
					}
				}
				addr := ln.Addr().String()
				for _, nc := range newcomers {
					other := newEngine(t, nc.cfg)
					before := testutil.OpenFDs(t)
					_, err := other.Bind("tcp4", addr)
					wantAddrInUse(t, err, nc.name+" engine's Bind")
					_, err = other.Listen("tcp", addr, echo())
					wantAddrInUse(t, err, nc.name+" engine's Listen")
					if after := testutil.OpenFDs(t); after != before {
						t.Errorf("%s: refused binds leaked %d descriptors", nc.name, after-before)
					}
				}
				// Package net is refused too, in both states: with the
				// guard, a bound group no longer lets it in before Serve.
				if pl, err := net.Listen("tcp4", addr); err == nil {
					pl.Close()
					t.Errorf("net.Listen on a port the engine holds succeeded")
				} else if !errors.Is(err, syscall.EADDRINUSE) {
					t.Errorf("net.Listen on a port the engine holds: %v, want EADDRINUSE", err)
				}
				if serve {
					echoOnce(t, dialClient(t, "tcp", addr), "still served")
				}
			})
		}
	}
}

// TestReusePortRefusesPlainListener: a port held by a socket without
// SO_REUSEPORT is refused, and JoinReusePort cannot join it either.
func TestReusePortRefusesPlainListener(t *testing.T) {
	pl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	for _, cfg := range []Config{
		{Loops: 2},
		{Loops: 2, NoReusePort: true},
		{Loops: 2, JoinReusePort: true},
		{Loops: 2, JoinReusePort: true, NoReusePort: true},
	} {
		e := newEngine(t, cfg)
		_, err := e.Bind("tcp4", pl.Addr().String())
		wantAddrInUse(t, err, "Bind of a port net.Listen holds")
	}
}

// TestReusePortJoin: with JoinReusePort a second engine shares the port a
// first one serves, both accept, and when the first closes its listener
// the second takes every new connection (a hand-over).
func TestReusePortJoin(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux spreads a port's connections over its SO_REUSEPORT sockets")
	}
	const maxDials = 200
	events := make(chan acceptEvent, 2*maxDials)
	a := newEngine(t, Config{Loops: 2})
	lnA := listen(t, a, "tcp4", "127.0.0.1:0", tagged("a", events))
	addr := lnA.Addr().String()

	b := newEngine(t, Config{Loops: 2, JoinReusePort: true})
	lnB := listen(t, b, "tcp4", addr, tagged("b", events))
	if lnB.Addr().String() != addr {
		t.Fatalf("joined listener on %v, want %s", lnB.Addr(), addr)
	}
	// Joining is for other engines: not a second listener of b's own.
	_, err := b.Bind("tcp4", addr)
	wantAddrInUse(t, err, "a second Bind of the joined port on the same engine")
	// Nor does anybody join by accident while the two share the port.
	_, err = newEngine(t, Config{Loops: 2}).Bind("tcp4", addr)
	wantAddrInUse(t, err, "a third engine's Bind")

	seen := map[string]int{}
	for i := 0; i < maxDials && (seen["a"] == 0 || seen["b"] == 0); i++ {
		seen[dialOnce(t, addr, events).engine]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Fatalf("after %d connections: %v, want some on each engine", maxDials, seen)
	}

	if err := lnA.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if ev := dialOnce(t, addr, events); ev.engine != "b" {
			t.Fatalf("connection %d after the first listener closed went to %q", i, ev.engine)
		}
	}
}

// TestReusePortRebindAfterClose: once a listener closes, another engine can
// bind its port, even with the server side's closed connections still in
// TIME_WAIT, and is then as exclusive as the first.
func TestReusePortRebindAfterClose(t *testing.T) {
	a := newEngine(t, Config{Loops: 2})
	lnA := listen(t, a, "tcp4", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		b, _ := c.Next(-1)
		c.Write(b)
		c.Close() // the server closes first: its side goes to TIME_WAIT
	}})
	addr := lnA.Addr().String()
	nc := dialClient(t, "tcp", addr)
	echoOnce(t, nc, "x")
	if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after the server closed: %v, want EOF", err)
	}
	nc.Close()
	if err := lnA.Close(); err != nil {
		t.Fatal(err)
	}
	a.Close() // and with it the server's side of the connection
	if ep, err := resolve("tcp4", addr); err == nil {
		if fd, err := bindProbe(ep, false); err == nil {
			unix.Close(fd)
			t.Log("no TIME_WAIT on the port: the guard's fallback goes untested")
		}
	}

	third := newEngine(t, Config{Loops: 2})
	// The descriptors of a whole engine, from New to Close, so that none
	// is counted while a loop still closes it.
	before := testutil.OpenFDs(t)
	b := newEngine(t, Config{Loops: 2})
	lnB, err := b.Bind("tcp4", addr)
	if err != nil {
		t.Fatalf("Bind of the port after its listener closed: %v", err)
	}
	_, err = third.Bind("tcp4", addr)
	wantAddrInUse(t, err, "a third engine's Bind of the rebound port")
	if pl, err := net.Listen("tcp4", addr); err == nil {
		pl.Close()
		t.Fatal("net.Listen on the rebound port succeeded")
	}
	if err := lnB.Serve(echo(), 0); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	nc2, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	nc2.SetDeadline(time.Now().Add(ioDeadline))
	echoOnce(t, nc2, "rebound")
	nc2.Close()
	if err := lnB.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if after := testutil.OpenFDs(t); after != before {
		t.Errorf("an engine that bound, served and closed the port left %d descriptors", after-before)
	}
	pl, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatalf("net.Listen after the second listener closed: %v", err)
	}
	pl.Close()
}

// TestReusePortZeroSharesOnePort: with port 0 every loop's socket gets the
// one port the kernel picked, and every loop accepts on it.
func TestReusePortZeroSharesOnePort(t *testing.T) {
	const maxDials = 300
	cfg := Config{Loops: 3}
	e := newEngine(t, cfg)
	events := make(chan acceptEvent, maxDials)
	ln := listen(t, e, "tcp4", "127.0.0.1:0", tagged("e", events))
	port := ln.Addr().(*net.TCPAddr).Port
	if port == 0 {
		t.Fatalf("Addr() = %v, want the chosen port", ln.Addr())
	}
	if len(ln.fds) != perLoopSockets(cfg) {
		t.Fatalf("%d listening sockets, want %d", len(ln.fds), perLoopSockets(cfg))
	}
	for i, lf := range ln.fds {
		if p := portOf(sockaddrOf(lf.fd)); p != port {
			t.Errorf("socket %d bound to port %d, want %d", i, p, port)
		}
	}
	if ln.guard >= 0 {
		if p := portOf(sockaddrOf(ln.guard)); p != port {
			t.Errorf("guard bound to port %d, want %d", p, port)
		}
	}
	seen := make(map[int]int)
	for i := 0; i < maxDials && len(seen) < cfg.Loops; i++ {
		ev := dialOnce(t, ln.Addr().String(), events)
		if ev.port != port {
			t.Fatalf("connection accepted on port %d, want %d", ev.port, port)
		}
		seen[ev.loop]++
	}
	if len(seen) < cfg.Loops {
		t.Fatalf("after %d connections, loops that accepted: %v, want all %d", maxDials, seen, cfg.Loops)
	}
	_, err := newEngine(t, cfg).Bind("tcp4", ln.Addr().String())
	wantAddrInUse(t, err, "another engine's Bind of the chosen port")
}

// TestReusePortBindRace: engines binding one free port at the same time
// never share it: exactly one wins each round.
func TestReusePortBindRace(t *testing.T) {
	const engines, rounds = 4, 50
	es := make([]*Engine, engines)
	for i := range es {
		es[i] = newEngine(t, Config{Loops: 2})
	}
	for r := 0; r < rounds; r++ {
		free, err := es[0].Bind("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := free.Addr().String()
		free.Close()

		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []*Listener
		for _, e := range es {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ln, err := e.Bind("tcp4", addr)
				if err != nil {
					if !errors.Is(err, unix.EADDRINUSE) {
						t.Errorf("Bind: %v, want success or EADDRINUSE", err)
					}
					return
				}
				mu.Lock()
				won = append(won, ln)
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		for _, ln := range won {
			ln.Close()
		}
		switch {
		case len(won) > 1:
			t.Fatalf("round %d: %d engines bound %s at once", r, len(won), addr)
		case len(won) == 0:
			// Only if somebody outside the test took the freed port.
			if pl, err := net.Listen("tcp4", addr); err == nil {
				pl.Close()
				t.Fatalf("round %d: no engine bound the free port %s", r, addr)
			}
		}
	}
}
