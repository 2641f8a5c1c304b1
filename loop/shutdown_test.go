package loop

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"go.uber.org/goleak"
)

// Shutdown, graceful and at its deadline: every connection's OnClose gets
// ErrShutdown, and afterwards the engine holds no descriptor and no
// goroutine.

func TestShutdownGraceful(t *testing.T) {
	warmNet(t)
	before := testutil.OpenFDs(t)
	e, err := New(Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() }) // if the test fails early; a no-op after Shutdown

	const clients = 10
	out := pattern(1<<20, 20)
	opened := make(chan *Conn, clients)
	closed := make(chan closeEvent, clients)
	h := Funcs{
		Open: func(c *Conn) {
			c.Write(out) // more than the socket takes at once: still pending at Shutdown
			opened <- c
		},
		Close: func(c *Conn, err error) {
			c.Write([]byte("bye")) // output written in OnClose is sent too
			closed <- closeEvent{c, err}
		},
	}
	ln := listen(t, e, "tcp", "127.0.0.1:0", h)
	listen(t, e, "unix", filepath.Join(t.TempDir(), "s.sock"), h)
	if _, err := e.Bind("tcp", "127.0.0.1:0"); err != nil { // bound, never served
		t.Fatal(err)
	}

	ncs := make([]net.Conn, clients)
	for i := range ncs {
		ncs[i] = dialClient(t, "tcp", ln.Addr().String())
	}
	for range clients {
		testutil.Recv(t, opened, "OnOpen")
	}

	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		res <- e.Shutdown(ctx)
	}()
	want := append(append([]byte(nil), out...), "bye"...)
	reads := make(chan error, clients)
	for _, nc := range ncs {
		go func() {
			got, err := io.ReadAll(nc) // to EOF
			if err == nil && diff(got, want) != "" {
				err = errors.New(diff(got, want))
			}
			reads <- err
		}()
	}
	for range clients {
		if err := testutil.Recv(t, reads, "a client to read to EOF"); err != nil {
			t.Errorf("client: %v", err)
		}
	}
	if err := testutil.Recv(t, res, "Shutdown"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range clients {
		if ev := testutil.Recv(t, closed, "OnClose"); !errors.Is(ev.err, ErrShutdown) {
			t.Errorf("OnClose err = %v, want ErrShutdown", ev.err)
		}
	}
	if n := e.Conns(); n != 0 {
		t.Errorf("Conns() = %d after Shutdown", n)
	}
	if _, err := e.Listen("tcp", "127.0.0.1:0", h); !errors.Is(err, ErrClosed) {
		t.Errorf("Listen after Shutdown: err = %v, want ErrClosed", err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	for _, nc := range ncs {
		nc.Close()
	}
	if after := testutil.OpenFDs(t); after != before {
		t.Errorf("%d descriptors open before New, %d after Shutdown", before, after)
	}
	goleak.VerifyNone(t)
}

// TestShutdownDeadline: a client that never reads keeps output pending, so
// Shutdown gives up at its deadline, returns ctx's error, and still closes
// every descriptor.
func TestShutdownDeadline(t *testing.T) {
	warmNet(t)
	before := testutil.OpenFDs(t)
	e, err := New(Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })

	out := pattern(16<<20, 21)
	opened := make(chan *Conn, 2)
	closed := make(chan closeEvent, 2)
	var accepted atomic.Int32
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) {
			if accepted.Add(1) == 1 { // the first client is flooded, the second idle
				c.Write(out)
			}
			opened <- c
		},
		Close: func(c *Conn, err error) { closed <- closeEvent{c, err} },
	})
	stuck := dialClient(t, "tcp", ln.Addr().String())
	testutil.Recv(t, opened, "OnOpen of the flooded client")
	idle := dialClient(t, "tcp", ln.Addr().String())
	testutil.Recv(t, opened, "OnOpen of the idle client")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := e.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	for range 2 {
		if ev := testutil.Recv(t, closed, "OnClose"); !errors.Is(ev.err, ErrShutdown) {
			t.Errorf("OnClose err = %v, want ErrShutdown", ev.err)
		}
	}
	if n := e.Conns(); n != 0 {
		t.Errorf("Conns() = %d after Shutdown", n)
	}
	// The idle client was closed gracefully: it reads EOF.
	if n, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle client read = %d, %v; want EOF", n, err)
	}
	stuck.Close()
	idle.Close()
	if after := testutil.OpenFDs(t); after != before {
		t.Errorf("%d descriptors open before New, %d after Shutdown", before, after)
	}
	goleak.VerifyNone(t)
}

// TestShutdownRacingDials: dials started while Shutdown runs each end with
// their done callback (on success or with an error), and once Shutdown
// returns no connection is left. The race is between DialAsync's check of
// the closed flag and its task reaching the loop, so the test repeats it;
// it is cheap, and usually hits the window within a few rounds.
func TestShutdownRacingDials(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			address := "127.0.0.1:0"
			if network == "unix" {
				address = filepath.Join(t.TempDir(), "s.sock")
			}
			for round := 0; round < 30; round++ {
				if !shutdownRacingDials(t, network, address, round) {
					return
				}
			}
		})
	}
}

func shutdownRacingDials(t *testing.T, network, address string, round int) bool {
	e, err := New(Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := e.Listen(network, address, Funcs{})
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	var started, finished atomic.Int64
	stop := make(chan struct{})
	dialers := make(chan struct{}, 4)
	for range 4 {
		go func() {
			defer func() { dialers <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := e.DialAsync(network, target, Funcs{}, DialOptions{}, func(*Conn, error) { finished.Add(1) })
				if err != nil {
					return // ErrClosed once Shutdown began, or out of resources
				}
				started.Add(1)
			}
		}()
	}
	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		res <- e.Shutdown(ctx)
	}()
	select {
	case err := <-res:
		close(stop)
		for range 4 {
			testutil.Recv(t, dialers, "a dialling goroutine")
		}
		if err != nil {
			t.Errorf("round %d: Shutdown: %v", round, err)
		}
		if s, f := started.Load(), finished.Load(); s != f {
			t.Errorf("round %d: %d dials started, %d done callbacks after Shutdown returned", round, s, f)
		}
		if n := e.Conns(); n != 0 {
			t.Errorf("round %d: Conns() = %d after Shutdown returned", round, n)
		}
		return !t.Failed()
	case <-time.After(waitTimeout):
		close(stop)
		t.Errorf("round %d: Shutdown with a 3 s deadline did not return in %v (Conns %d, %d dials started, %d done)",
			round, waitTimeout, e.Conns(), started.Load(), finished.Load())
		return false
	}
}
