package loop

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// metricsWhen reads e's metrics until cond holds for their total, failing
// the test after waitTimeout; it returns that total.
func metricsWhen(t *testing.T, e *Engine, what string, cond func(LoopMetrics) bool) LoopMetrics {
	t.Helper()
	var m Metrics
	deadline := time.Now().Add(waitTimeout)
	for {
		e.ReadMetrics(&m)
		tot := m.Total()
		if cond(tot) {
			return tot
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; metrics %+v", what, waitTimeout, tot)
		}
		time.Sleep(time.Millisecond) // polling a gauge that another goroutine moves: nothing to await
	}
}

// TestMetricsKnownWorkload: after a workload whose every event is known
// (echo exchanges closed by the peer, a panic, a dial, a reset, a client
// that never reads, an idle timeout), the counters say exactly that.
func TestMetricsKnownWorkload(t *testing.T) {
	e := newEngine(t, Config{Loops: 2, Logger: quiet})
	h := Funcs{Data: func(c *Conn) {
		b, _ := c.Next(-1)
		if bytes.Equal(b, []byte("panic")) {
			panic("as asked")
		}
		c.Write(b)
	}}
	ln := listen(t, e, "tcp", "127.0.0.1:0", h)
	addr := ln.Addr().String()

	// Ten echo exchanges of 100 bytes, each closed by the client once its
	// reply is in: ten accepts, ten peer closes, 1,000 bytes each way.
	msg := pattern(100, 1)
	for range 10 {
		nc := dialClient(t, "tcp", addr)
		nc.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo: %v", err)
		}
		nc.Close()
	}
	m := metricsWhen(t, e, "ten peer closes", func(m LoopMetrics) bool { return m.Closed[ClosePeer] == 10 })
	if m.Accepted != 10 || m.Open != 0 || m.BytesIn != 1000 || m.BytesOut != 1000 || m.Callbacks < 10 || m.Reads < 20 || m.Writes < 10 {
		t.Errorf("after ten echoes: %+v", m)
	}
	if m.Waits == 0 || m.Syscalls == 0 || m.Busy <= 0 || m.Busy > m.Up {
		t.Errorf("waits %d, syscalls %d, busy %v of %v", m.Waits, m.Syscalls, m.Busy, m.Up)
	}
	if testBackend() != BackendIOUring && m.Syscalls < m.Reads+m.Writes+m.Accepted {
		t.Errorf("%d syscalls for %d reads, %d writes and %d accepts", m.Syscalls, m.Reads, m.Writes, m.Accepted)
	}

	// A handler panic closes its connection, counted twice over.
	nc := dialClient(t, "tcp", addr)
	nc.Write([]byte("panic"))
	if _, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatal("the panicking connection answered")
	}
	// A peer that resets: SO_LINGER 0 makes its close an RST.
	rst := dialClient(t, "tcp", addr)
	rst.Write(msg)
	io.ReadFull(rst, make([]byte, len(msg)))
	rst.(*net.TCPConn).SetLinger(0)
	rst.Close()
	// A dial from the engine to its own listener: one dialled, one accepted.
	dialled, err := e.Dial(context.Background(), "tcp", addr, Funcs{}, DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m = metricsWhen(t, e, "the panic, reset and dial", func(m LoopMetrics) bool {
		return m.Panics == 1 && m.Closed[ClosePanic] == 1 && m.Closed[CloseReset] == 1 && m.Dialled == 1 && m.Accepted == 13
	})
	dialled.Close()
	m = metricsWhen(t, e, "the dialled pair closed", func(m LoopMetrics) bool { return m.Open == 0 })
	var closed uint64
	for _, n := range m.Closed {
		closed += n
	}
	if closed != m.Accepted+m.Dialled {
		t.Errorf("%d accepted and %d dialled, but %d closed: %v", m.Accepted, m.Dialled, closed, m.Closed)
	}

	// A client that sends and never reads: its connection's reading pauses
	// at the high mark and the Paused gauge shows it until it closes.
	stuck := dialClient(t, "tcp", addr)
	go func() {
		big := make([]byte, 1<<20)
		for {
			if _, err := stuck.Write(big); err != nil {
				return
			}
		}
	}()
	metricsWhen(t, e, "a paused connection", func(m LoopMetrics) bool { return m.Paused == 1 })
	stuck.Close()
	metricsWhen(t, e, "no paused connection", func(m LoopMetrics) bool { return m.Paused == 0 && m.Open == 0 })

	// A connection left idle is closed by the idle timeout (an engine of its
	// own: a paused connection moves no byte either).
	e = newEngine(t, Config{IdleTimeout: 100 * time.Millisecond, Logger: quiet})
	ln = listen(t, e, "tcp", "127.0.0.1:0", h)
	idle := dialClient(t, "tcp", ln.Addr().String())
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Fatal("the idle connection answered")
	}
	metricsWhen(t, e, "an idle timeout", func(m LoopMetrics) bool { return m.Closed[CloseIdleTimeout] == 1 && m.Open == 0 })
}

// TestReasonOf: each close reason the package gives maps to its class.
func TestReasonOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want CloseReason
	}{
		{nil, CloseLocal}, {ErrClosed, CloseLocal}, {io.EOF, ClosePeer}, {ErrShutdown, CloseShutdown},
		{ErrIdleTimeout, CloseIdleTimeout}, {ErrWriteTimeout, CloseWriteTimeout},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, CloseReset}, {syscall.EPIPE, CloseReset},
		{ErrInboundStalled, CloseLimit}, {ErrHandshakeTimeout, CloseLimit},
		{&PanicError{Callback: "OnData"}, ClosePanic}, {errors.New("tls: bad record"), CloseError},
	} {
		if got := ReasonOf(c.err); got != c.want {
			t.Errorf("ReasonOf(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if CloseWriteTimeout.String() != "write_timeout" || NumCloseReasons.String() != "unknown" {
		t.Error("reason names")
	}
}

// BenchmarkReadMetrics: a scrape of a 4-loop engine's figures allocates
// nothing once its Metrics has room.
func BenchmarkReadMetrics(b *testing.B) {
	e := newEngine(b, Config{Loops: 4})
	var m Metrics
	e.ReadMetrics(&m)
	b.ReportAllocs()
	for b.Loop() {
		e.ReadMetrics(&m)
	}
}

// TestMetricsBytesOutExact: a 16 MiB reply, more than a socket's send
// buffer can take (tcp_wmem's maximum is 4 MiB here; io_uring's send queue
// takes 1 MiB), leaves in several writes with writable events between them;
// BytesOut counts exactly its bytes (a writable event once counted one
// more each, and io_uring counted bytes as queued, not as sent).
func TestMetricsBytesOutExact(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, Logger: quiet})
	reply := pattern(16<<20, 7)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Open: func(c *Conn) { c.Write(reply) }})
	nc := dialClient(t, "tcp", ln.Addr().String())
	got := make([]byte, len(reply))
	if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, reply) {
		t.Fatalf("reply: %v", err)
	}
	m := metricsWhen(t, e, "the reply counted", func(m LoopMetrics) bool { return m.BytesOut >= uint64(len(reply)) })
	if m.BytesOut != uint64(len(reply)) {
		t.Errorf("BytesOut %d after a reply of %d bytes", m.BytesOut, len(reply))
	}
	if m.Writes < 2 {
		t.Errorf("the reply left in %d write: the test wants one the kernel takes in parts", m.Writes)
	}
}
