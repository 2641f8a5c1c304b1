package loop

import (
	"io"
	"net"
	"sync"
	"time"
)

// tlsWire is the net.Conn under a connection's tls.Conn (tls.go). During
// the handshake its goroutine reads what the loop appended to pending,
// under mu, and its writes go to the loop as tasks; once established, the
// loop alone uses it: Read takes from src, the ciphertext of the current
// read, and Write appends to the connection's output.
type tlsWire struct {
	c *Conn

	mu      sync.Mutex
	cond    sync.Cond // signalled when pending grows or the wire ends
	pending []byte    // ciphertext the handshake has not read; then what it left
	ended   error     // the handshake's reads fail with it: the peer's EOF, an abort

	established bool   // loop mode: set by the loop once the goroutine is gone
	src         []byte // established: ciphertext the tls.Conn has not read yet
	eof         bool   // established: the peer's FIN came behind src
}

// errDrained says the wire has no more ciphertext now: a net.Error that is
// Temporary, which tls.Conn.Read returns without keeping it.
var errDrained net.Error = drained{}

type drained struct{}

func (drained) Error() string   { return "loop: tls input drained" }
func (drained) Timeout() bool   { return true }
func (drained) Temporary() bool { return true }

// Read gives the tls.Conn ciphertext: established, what src holds (or
// errDrained); during the handshake, what the loop has appended, waiting
// for it.
func (w *tlsWire) Read(p []byte) (int, error) {
	if w.established {
		if len(w.src) == 0 {
			if w.eof {
				return 0, io.EOF // crypto/tls tells a cut record (io.ErrUnexpectedEOF) from a clean end
			}
			return 0, errDrained
		}
		n := copy(p, w.src)
		w.src = w.src[n:]
		return n, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.pending) == 0 && w.ended == nil {
		w.cond.Wait()
	}
	if len(w.pending) == 0 {
		return 0, w.ended
	}
	n := copy(p, w.pending)
	w.pending = w.pending[:copy(w.pending, w.pending[n:])]
	return n, nil
}

// Write takes the tls.Conn's records: established (on the loop), into the
// connection's output, never failing (tls.Conn keeps a write error for
// good) and never sending: a send that fails closes the connection, whose
// OnClose may write, which must not happen inside tls.Conn.Write (it holds
// its lock); the flush after the callback, or writeTLS's caller, sends.
// During the handshake, to the loop as a task, as AsyncWrite does.
func (w *tlsWire) Write(p []byte) (int, error) {
	c := w.c
	if !w.established {
		if err := c.AsyncWrite(p); err != nil { // a flight, in order; not encrypted again (runTasks)
			return 0, err
		}
		return len(p), nil
	}
	if !c.writeClosed && c.state < stateClosed {
		c.loop.queueOnly(c, p)
	}
	return len(p), nil
}

// feed appends ciphertext the loop read for the handshake. Loop
// goroutine.
func (w *tlsWire) feed(b []byte) {
	w.mu.Lock()
	w.pending = append(w.pending, b...)
	w.cond.Signal()
	w.mu.Unlock()
}

// pendingLen is how much ciphertext the handshake has not read yet.
func (w *tlsWire) pendingLen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// end makes the handshake's reads fail with err once pending is read
// (io.EOF: the peer finished), or at once (abort).
func (w *tlsWire) end(err error, now bool) {
	w.mu.Lock()
	if w.ended == nil {
		w.ended = err
	}
	if now {
		w.pending = nil
	}
	w.cond.Broadcast()
	w.mu.Unlock()
}

// abort ends a handshake whose connection closes.
func (w *tlsWire) abort() { w.end(net.ErrClosed, true) }

// establish switches to the loop's mode once the handshake goroutine has
// ended; what it had not read is the first ciphertext to decrypt.
func (w *tlsWire) establish() {
	w.mu.Lock()
	w.established = true
	w.src, w.pending = w.pending, nil
	w.eof = w.ended == io.EOF
	w.mu.Unlock()
}

// Close is crypto/tls closing the wire: a handshake that timed out (the
// connection is closed when the loop hears the handshake failed), or
// tls.Conn.Close, which this package does not call.
func (w *tlsWire) Close() error {
	if !w.established {
		w.end(net.ErrClosed, true)
	}
	return nil
}

func (w *tlsWire) LocalAddr() net.Addr  { return w.c.LocalAddr() }
func (w *tlsWire) RemoteAddr() net.Addr { return w.c.RemoteAddr() }

// The deadlines are the loop's: the handshake timeout, then the idle and
// write timeouts of Config.
func (w *tlsWire) SetDeadline(time.Time) error      { return nil }
func (w *tlsWire) SetReadDeadline(time.Time) error  { return nil }
func (w *tlsWire) SetWriteDeadline(time.Time) error { return nil }
