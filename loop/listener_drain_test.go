package loop

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Close accepting and serving what the kernel queued before it closes
// (listener_drain.go). Its io_uring path, cancelling the multishot accept
// and serving what it took, is tested by TestFileListenerHandOver, where
// a client reset would show a connection dropped.

// counting is an echo handler that counts its connections and pokes
// changed after each open and close, so that a test waits for a count
// without polling.
type counting struct {
	opened, open atomic.Int64
	changed      chan struct{}
}

func newCounting() *counting { return &counting{changed: make(chan struct{}, 1)} }

func (h *counting) poke() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

func (h *counting) OnOpen(*Conn) { h.opened.Add(1); h.open.Add(1); h.poke() }
func (h *counting) OnData(c *Conn) {
	b, _ := c.Next(-1)
	c.Write(b)
}
func (h *counting) OnClose(*Conn, error) { h.open.Add(-1); h.poke() }

// await waits until cond holds, re-checking at each change of h.
func (h *counting) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for !cond() {
		select {
		case <-h.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s (opened %d, open %d)", what, h.opened.Load(), h.open.Load())
		}
	}
}

// TestCloseTakesQueued: connections the kernel queued for a listener (here
// held back by MaxConns) are accepted and served when the listener closes,
// where closing the socket would reset them.
func TestCloseTakesQueued(t *testing.T) {
	h := newCounting()
	e := newEngine(t, Config{Loops: 1, MaxConns: 1})
	ln := listen(t, e, "tcp", "127.0.0.1:0", h)
	addr := ln.Addr().String()
	first := dialClient(t, "tcp", addr)
	echoOnce(t, first, "holds the one slot")
	// These complete their handshakes in the kernel's backlog and send
	// their request; the engine, at its cap, does not accept them.
	const queued = 5
	ncs := make([]net.Conn, queued)
	for i := range ncs {
		ncs[i] = dialClient(t, "tcp", addr)
		if _, err := ncs[i].Write([]byte("queued")); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.opened.Load(); n != 1 {
		t.Fatalf("%d connections opened before Close, want 1 (MaxConns)", n)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	for i, nc := range ncs {
		got := make([]byte, len("queued"))
		if _, err := io.ReadFull(nc, got); err != nil || string(got) != "queued" {
			t.Errorf("queued client %d after Close: %q, %v (ECONNRESET: the queue was dropped)", i, got, err)
		}
	}
	if _, err := net.DialTimeout("tcp", addr, waitTimeout); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after Close: %v, want ECONNREFUSED", err)
	}
}
