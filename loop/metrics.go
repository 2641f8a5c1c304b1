package loop

import (
	"errors"
	"io"
	"syscall"
	"time"
)

// Metrics is a snapshot of an engine's counters and gauges, one LoopMetrics
// per loop (Engine.ReadMetrics). The package imports no metrics library: an
// adapter (airsock's metrics/prom for Prometheus) reads snapshots and
// exports them. Counters only grow over the engine's life; gauges are the
// state at the moment of reading.
type Metrics struct {
	Loops []LoopMetrics // by loop index
}

// LoopMetrics are one loop's figures. Each loop writes its own counters
// with plain stores of atomic words (no lock, no locked instruction, no
// shared cache line), so reading them costs the loops nothing; a snapshot
// is consistent per field, not across fields.
type LoopMetrics struct {
	Open     int64  // gauge: connections registered on the loop (handshaking and draining ones too)
	Paused   int64  // gauge: open connections whose reading is paused by back-pressure (input at its limit, output at the high mark)
	Queued   int64  // gauge: tasks other goroutines queued for the loop (AsyncWrite, Run, Close, registrations)
	Accepted uint64 // connections accepted by the loop's listeners (served here or handed to another loop)
	Dialled  uint64 // dials started on the loop, connected or not (a failed one is also counted closed, so accepted + dialled - closed = open)
	// Closed counts the connections whose descriptor closed, by the reason
	// their handler was given (CloseReason).
	Closed         [NumCloseReasons]uint64
	BytesIn        uint64        // bytes read from sockets (TLS: the ciphertext)
	BytesOut       uint64        // bytes the kernel took for sending
	Callbacks      uint64        // OnData calls: the batches of messages handed to handlers
	Reads          uint64        // reads of a socket that returned bytes or the end of stream
	Writes         uint64        // writes handed to the backend (one write or writev each on epoll and kqueue)
	Waits          uint64        // waits on the backend (epoll_wait, kevent, io_uring_enter)
	Syscalls       uint64        // syscalls the loop made for its I/O, as its backend counts them, and its datagram batches (one recvmmsg or sendmmsg each; on the BSDs a batch is a syscall per datagram)
	AcceptBackoffs uint64        // times a listener stopped accepting for lack of descriptors or memory
	Panics         uint64        // handler panics recovered (each closed its connection)
	ProxyHeaders   uint64        // PROXY headers taken (Config.ProxyProtocol)
	ProxyRejected  uint64        // connections refused for a header from an untrusted source, or for none where one is required
	ProxyMalformed uint64        // connections closed for a malformed PROXY header
	Busy           time.Duration // time the loop spent serving, not waiting in the backend
	Up             time.Duration // time since the loop started: Busy/Up is its load
}

// CloseReason classifies why a connection closed, for the Closed counters.
type CloseReason uint8

// The reasons, as ReasonOf derives them from the error OnClose was given.
const (
	CloseLocal        CloseReason = iota // the application closed it (nil, ErrClosed)
	ClosePeer                            // the peer's end of stream (io.EOF)
	CloseShutdown                        // Engine.Shutdown or Close (ErrShutdown)
	CloseIdleTimeout                     // ErrIdleTimeout
	CloseWriteTimeout                    // ErrWriteTimeout
	CloseReset                           // the peer reset it (ECONNRESET, EPIPE)
	CloseLimit                           // a bound: ErrInboundStalled, a handshake timeout, a rejected PROXY header
	CloseError                           // any other error (TLS, I/O)
	ClosePanic                           // the handler panicked (*PanicError)
	NumCloseReasons                      // how many reasons there are
)

var closeReasonNames = [NumCloseReasons]string{"local", "peer", "shutdown", "idle_timeout", "write_timeout", "reset", "limit", "error", "panic"}

// String returns the reason's name as metrics label it ("peer", "idle_timeout"...).
func (r CloseReason) String() string {
	if r < NumCloseReasons {
		return closeReasonNames[r]
	}
	return "unknown"
}

// ReasonOf classifies err, the reason a Handler's OnClose was given. Any
// goroutine.
func ReasonOf(err error) CloseReason {
	var p *PanicError
	switch {
	case err == nil, errors.Is(err, ErrClosed):
		return CloseLocal
	case err == io.EOF:
		return ClosePeer
	case errors.Is(err, ErrShutdown):
		return CloseShutdown
	case errors.Is(err, ErrIdleTimeout):
		return CloseIdleTimeout
	case errors.Is(err, ErrWriteTimeout):
		return CloseWriteTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return CloseReset
	case errors.Is(err, ErrInboundStalled), errors.Is(err, ErrHandshakeTimeout), errors.Is(err, ErrProxyTimeout), errors.Is(err, errLimit):
		return CloseLimit
	case errors.As(err, &p):
		return ClosePanic
	}
	return CloseError
}

// errLimit is wrapped by the close reasons of bounds that have errors of
// their own (the PROXY header's), so that ReasonOf counts them as limits.
var errLimit = errors.New("loop: limit")

// Total returns the sum of the loops' figures (Busy and Up summed too: their
// ratio is the engine's mean load). Any goroutine.
func (m *Metrics) Total() LoopMetrics {
	var t LoopMetrics
	for i := range m.Loops {
		l := &m.Loops[i]
		t.Open += l.Open
		t.Paused += l.Paused
		t.Queued += l.Queued
		t.Accepted += l.Accepted
		t.Dialled += l.Dialled
		for r := range l.Closed {
			t.Closed[r] += l.Closed[r]
		}
		t.BytesIn += l.BytesIn
		t.BytesOut += l.BytesOut
		t.Callbacks += l.Callbacks
		t.Reads += l.Reads
		t.Writes += l.Writes
		t.Waits += l.Waits
		t.Syscalls += l.Syscalls
		t.AcceptBackoffs += l.AcceptBackoffs
		t.Panics += l.Panics
		t.ProxyHeaders += l.ProxyHeaders
		t.ProxyRejected += l.ProxyRejected
		t.ProxyMalformed += l.ProxyMalformed
		t.Busy += l.Busy
		t.Up += l.Up
	}
	return t
}

// ReadMetrics fills m with a snapshot of e's figures, reusing m.Loops: a
// scraper that keeps one Metrics allocates nothing. Any goroutine; it takes
// no lock a loop takes.
func (e *Engine) ReadMetrics(m *Metrics) {
	if cap(m.Loops) < len(e.loops) {
		m.Loops = make([]LoopMetrics, len(e.loops))
	}
	m.Loops = m.Loops[:len(e.loops)]
	at := now()
	for i, l := range e.loops {
		l.counters.read(&m.Loops[i], at)
		m.Loops[i].Open = int64(l.conns.Load())
		m.Loops[i].Queued = int64(l.tasks.pending.Load())
		m.Loops[i].Syscalls = l.io.syscalls() + l.counters.packetCalls.load()
		m.Loops[i].BytesOut += l.io.bytesSent() // the loop counted datagrams only
	}
}
