package loop

import (
	"io"

	"github.com/airsock/airsock/buffer"
	"github.com/airsock/airsock/poller"
)

// The I/O path of a connection, in call order, all on its loop goroutine:
// ready, read, callData (where the handler consumes with Peek, Next,
// Discard or Read and replies with Write), keepLeftovers (with
// updateReading, which pauses reading at a limit), queueOutput, flush,
// onWritable, afterWrite and resumeData. The bytes move through the loop's
// backend (l.io: backend.go), whose syscalls are in sys_linux.go and
// sys_bsd.go. Reservations and watchdogs (backpressure.go) and the end of a
// connection (close.go) branch off this path.

// ready serves one readiness event. Output is handled before input: sending
// first frees the kernel buffer for the replies the input will produce and
// lets the high-water check see current numbers.
func (c *Conn) ready(m poller.Mask) {
	l := c.loop
	if c.state == stateConnecting {
		l.finishDial(c)
		return
	}
	if m == poller.Error { // a completion backend's send failed: see backend.go
		l.closeConn(c, l.io.failure(int(c.fd)), true)
		return
	}
	if m&poller.Writable != 0 && c.interest&poller.Writable != 0 {
		l.onWritable(c)
	}
	if m&poller.Readable != 0 && c.interest&poller.Readable != 0 {
		switch {
		case c.state == stateOpen:
			l.read(c)
		case c.lingering:
			l.discardInput(c)
		}
	}
	l.resumeData(c)
}

// read takes one read's worth of input and hands it to OnData. With no
// leftovers the bytes stay where the backend has them (the window: the
// loop's shared buffer, or an io_uring provided buffer); with
// leftovers they are read into the free halves of the connection's ring,
// behind them, so the handler sees one stream.
func (l *eventLoop) read(c *Conn) {
	if c.awaitingProxy() {
		l.readProxy(c)
		return
	}
	if c.isTLS() {
		l.readTLS(c)
		return
	}
	var n int
	var err error
	if c.in.Len() == 0 {
		l.win, err = l.io.input(int(c.fd), l.readBuf)
		n = len(l.win)
		c.winOff, c.winEnd = 0, int32(n)
	} else {
		a, b := c.in.Free(-1)
		if len(a) == 0 { // at its limit: wait for the handler to consume
			l.updateReading(c)
			return
		}
		n, err = l.io.read(int(c.fd), a, b)
		c.in.Commit(n)
	}
	if !l.took(c, n, err) {
		return
	}
	if c.ext != nil && c.ext.reserved > 0 {
		c.ext.heldSince += n
	}
	c.lastActivity = l.now
	l.callData(c)
	l.keepLeftovers(c)
	l.flush(c)
}

// took counts a read of c that returned n bytes or err, and reports
// whether it took bytes; the end of c's input or an error closes it, and a
// stale readiness took nothing.
func (l *eventLoop) took(c *Conn, n int, err error) bool {
	l.countRead(n, err)
	switch {
	case err == io.EOF:
		c.peerEOF = true
		l.closeConn(c, io.EOF, false)
		return false
	case err != nil:
		l.closeConn(c, err, true)
		return false
	}
	return n > 0
}

// callData runs OnData. While a callback of c runs, l.current is c: its
// writes need no place on the dirty list, because the loop flushes c as
// soon as the callback returns.
func (l *eventLoop) callData(c *Conn) {
	l.counters.callbacks.inc()
	l.current = c
	defer l.endCallback(c, "OnData")
	c.handler.OnData(c)
}

// endCallback ends a callback of c (deferred): l.current is reset and a
// panic is recovered (callbacks.go: handlePanic).
func (l *eventLoop) endCallback(c *Conn, callback string) {
	l.current = nil
	if r := recover(); r != nil {
		l.handlePanic(c, callback, r)
	}
}

// InboundBuffered returns how many received bytes are waiting to be consumed.
func (c *Conn) InboundBuffered() int {
	if c.in.Len() > 0 {
		return c.in.Len()
	}
	return int(c.winEnd - c.winOff)
}

// InboundLimit returns how many unconsumed input bytes make the loop stop
// reading the connection: Config.MaxInbound, plus what ReserveInbound
// added (one read may take the input past it). A handler waiting for a
// delimiter that has not come once that much is buffered waits in vain,
// and may fail the connection instead. Loop goroutine.
func (c *Conn) InboundLimit() int { return c.loop.inboundLimit(c) }

// window returns the unconsumed part of the input OnData was given (the
// loop's read buffer, or the backend's memory: eventLoop.win).
func (c *Conn) window() []byte { return c.loop.win[c.winOff:c.winEnd] }

// Peek returns the first n unconsumed bytes without consuming them (n <= 0:
// all of them) as one slice, copying only when buffered input wraps in the
// connection's ring. It returns io.ErrShortBuffer if fewer than n bytes are
// buffered. The slice is valid until the next call that consumes input or
// until the callback returns.
func (c *Conn) Peek(n int) ([]byte, error) {
	if c.in.Len() > 0 {
		if n > c.in.Len() {
			return nil, io.ErrShortBuffer
		}
		if n <= 0 {
			n = -1
		}
		return c.in.Contiguous(n), nil
	}
	w := c.window()
	if n > len(w) {
		return nil, io.ErrShortBuffer
	}
	if n <= 0 {
		return w, nil
	}
	return w[:n], nil
}

// Next returns the first n unconsumed bytes and consumes them (n <= 0: all).
// It returns io.ErrShortBuffer, consuming nothing, if fewer than n are
// buffered. The slice is valid until the next call that consumes input or
// until the callback returns.
func (c *Conn) Next(n int) ([]byte, error) {
	b, err := c.Peek(n)
	if err != nil {
		return nil, err
	}
	if c.in.Len() > 0 {
		// Contiguous left the bytes linear at the ring's head, and Discard
		// does not move them: b stays valid until the next write into in.
		c.in.Discard(len(b))
	} else {
		c.winOff += int32(len(b))
	}
	return b, nil
}

// Discard consumes up to n unconsumed bytes (n < 0: all) and returns how many.
func (c *Conn) Discard(n int) (int, error) {
	if c.in.Len() > 0 {
		return c.in.Discard(n), nil
	}
	if w := int(c.winEnd - c.winOff); n < 0 || n > w {
		n = w
	}
	c.winOff += int32(n)
	return n, nil
}

// Read copies unconsumed bytes into p and consumes them, for code written
// against io.Reader. It returns 0, nil when nothing is buffered: it never
// waits.
func (c *Conn) Read(p []byte) (int, error) {
	if c.in.Len() > 0 {
		head, tail := c.in.Peek(len(p))
		n := copy(p, head)
		n += copy(p[n:], tail)
		c.in.Discard(n)
		return n, nil
	}
	n := copy(p, c.window())
	c.winOff += int32(n)
	return n, nil
}

// keepLeftovers copies what OnData left unconsumed from the window into
// the connection's ring and gives back a reservation the handler no
// longer needs. Every caller flushes next, or calls updateReading itself.
func (l *eventLoop) keepLeftovers(c *Conn) {
	if c.winEnd > c.winOff {
		c.in.Write(c.window()) // cannot fail: the ring's limit is at least one read, and a window no more (backend.go: input)
	}
	c.winOff, c.winEnd = 0, 0
	if c.ext != nil && c.ext.reserved > 0 && !l.keepReservation(c) {
		l.unreserve(c)
		// Left holding exactly its limit, it would wait for a read that
		// never comes: let the handler see the input (and reserve again).
		c.resume = c.in.Len() >= l.inboundLimit(c)
	}
	l.releaseRing(&c.in)
	// Reading is paused or resumed by the flush that follows (afterWrite's
	// updateReading), once the reply is counted where it really is.
}

// releaseRing gives an empty ring's array back. Arrays too large (or of an
// exact, capped size) for the pool become garbage instead; they are counted
// so that the idle loop can have the memory returned to the OS.
func (l *eventLoop) releaseRing(r *buffer.Ring) {
	if r.Len() != 0 || r.Cap() == 0 {
		return
	}
	l.noteFreed(r.Cap())
	r.Release()
}

// noteFreed counts an array of n bytes the pool will not keep.
func (l *eventLoop) noteFreed(n int) {
	if n > buffer.MaxSize || n&(n-1) != 0 {
		l.engine.freed.Add(int64(n))
	}
}

// updateReading pauses or resumes reading c by its backlogs: unconsumed
// input at its limit; output at WriteHighWater until it drains to
// WriteLowWater; a handler that stopped at the high mark (blocked), which is
// called again once the output reaches the low mark.
func (l *eventLoop) updateReading(c *Conn) {
	if c.state != stateOpen {
		return
	}
	wasPaused := c.readPausedIn || c.readPausedOut
	out := c.OutboundBuffered()
	if c.readPausedOut {
		c.readPausedOut = out > l.cfg.WriteLowWater
	} else {
		c.readPausedOut = out >= l.cfg.WriteHighWater
	}
	if c.blocked && out <= l.cfg.WriteLowWater {
		c.blocked = false
		c.resume = c.InboundBuffered() > 0
	}
	full := c.in.Len() >= l.inboundLimit(c)
	if full != c.readPausedIn {
		c.readPausedIn = full
		l.watchInbound(c, full)
	}
	want := c.interest &^ poller.Readable
	if !full && !c.readPausedOut && !c.blocked {
		want |= poller.Readable
	}
	if paused := c.readPausedIn || c.readPausedOut; paused != wasPaused {
		l.counters.pausedBy(paused)
	}
	l.setInterest(c, want)
}

// inboundLimit is how much unconsumed input c may hold before reading pauses.
func (l *eventLoop) inboundLimit(c *Conn) int {
	if c.ext != nil {
		return l.cfg.MaxInbound + int(c.ext.reserved)
	}
	return l.cfg.MaxInbound
}

// Write queues p to be sent and returns len(p). It never blocks, and p may
// be reused on return. Small writes are copied and all of them leave in one
// syscall when the callback returns (or at Flush); a write of 8 KiB or more,
// when nothing of another connection sits in the loop's stage and nothing of
// this one waits in its ring, goes to the kernel at once, with what is
// staged before it, in one writev from p itself (copying it would cost more
// than coalescing saves), and only what the kernel does not take is copied.
// Order is always kept. After Close, CloseWrite or the peer's reset it
// returns ErrClosed.
func (c *Conn) Write(p []byte) (int, error) {
	if c.writeClosed || c.state >= stateClosed {
		return 0, ErrClosed
	}
	if c.isTLS() {
		return c.loop.writeTLS(c, p)
	}
	c.loop.queueOutput(c, p, false) // an error closed c: the next call reports ErrClosed
	return len(p), nil
}

// Writev queues every slice of bs, in order, as Write does, and returns the
// total length.
func (c *Conn) Writev(bs [][]byte) (int, error) {
	n := 0
	for _, b := range bs {
		m, err := c.Write(b)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// WriteThrough is Write followed by Flush, without the copy: when nothing
// else of the connection is pending, p goes to the kernel straight from the
// caller's memory, whatever its size, and only what the kernel does not
// take is copied. p may be reused on return. Under io_uring the send
// completes after WriteThrough returns, so an error the kernel reports then
// closes the connection (OnClose's reason) instead of being returned.
func (c *Conn) WriteThrough(p []byte) (int, error) {
	if c.writeClosed || c.state >= stateClosed {
		return 0, ErrClosed
	}
	if c.isTLS() { // records, not p: encrypted into the output, then flushed
		if _, err := c.loop.writeTLS(c, p); err != nil {
			return 0, err
		}
		return len(p), c.loop.flush(c)
	}
	if err := c.loop.queueOutput(c, p, true); err != nil {
		return 0, err
	}
	if err := c.loop.flush(c); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush hands queued output to the kernel now rather than when the callback
// returns. What the kernel cannot take stays queued and is sent as the socket
// drains.
func (c *Conn) Flush() error {
	if c.state >= stateClosed {
		return ErrClosed
	}
	return c.loop.flush(c)
}

// OutboundBuffered returns how many written bytes the kernel has not taken
// yet: queued or staged. Under io_uring, bytes in sends not yet completed
// count too, beyond the first 64 KiB per connection, which stand for the
// socket buffer that takes them at once under epoll.
func (c *Conn) OutboundBuffered() int {
	_, over := c.loop.io.held(int(c.fd))
	return c.out.Len() + c.loop.stagedFor(c) + over
}

// sendNowMin is the size from which a write goes to the kernel at once,
// with whatever of the connection is staged, in one writev: copying it into
// the stage first would cost more than the coalescing saves.
const sendNowMin = 8 << 10

// queueOutput appends p to c's pending output. While c's ring is empty the
// bytes go to the loop's stage, so a reply costs no ring and no pool trip.
// A large p (through: any p, for WriteThrough), with nothing of c pending
// but what it has staged, goes to the kernel at once from the caller's
// memory, in one call with the staged bytes; an OutputWatcher hears of it at
// the next flush (every queueOutput has one: the callback's end, or the
// dirty list), not from inside the caller's Write.
// It returns the error that closed c, if sending did.
func (l *eventLoop) queueOutput(c *Conn, p []byte, through bool) error {
	stageFree := l.stageOwner == nil || l.stageOwner == c
	if !((len(p) >= sendNowMin && stageFree || through) && c.out.Len() == 0 &&
		l.io.canWrite(int(c.fd), c.interest&poller.Writable != 0) && (c.state == stateOpen || c.state == stateClosing)) {
		l.queueOnly(c, p)
		return nil
	}
	n, err := l.send(c, l.stagedBytes(c), p)
	if l.stageOwner == c {
		l.unstage()
	}
	if err != nil {
		l.closeConn(c, err, true)
		return err
	}
	c.progressed = c.progressed || n > 0
	if c.out.Len() > 0 {
		l.afterWrite(c) // the kernel is full: watch for room, so the flush does not try again now
	}
	l.markDirty(c)
	return nil
}

// queueOnly appends p to c's pending output without sending any of it:
// to the stage or the ring, and c to the dirty list unless a callback of
// its runs (whose end flushes). For writes that must not close c, even on
// a failed send (a TLS record, inside tls.Conn.Write).
func (l *eventLoop) queueOnly(c *Conn, p []byte) {
	switch {
	case (l.stageOwner == nil || l.stageOwner == c) && c.out.Len() == 0 && len(l.stage)+len(p) <= cap(l.stage):
		l.stageOwner = c
		l.stage = append(l.stage, p...)
	default:
		if l.stageOwner == c {
			c.out.Write(l.stage) // keep order: staged bytes go first
			l.unstage()
		}
		c.out.Write(p)
	}
	l.markDirty(c)
}

// markDirty puts c on the dirty list, whose flush runs at the turn's end,
// unless a callback of c runs (its end flushes c).
func (l *eventLoop) markDirty(c *Conn) {
	if !c.dirty && c != l.current {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// flush hands c's pending output to the kernel: the stage with one write,
// or the ring's two halves with one writev. It does not write while the
// backend cannot take bytes (canWrite: under readiness, while it watches
// for room after the kernel buffer was full): onWritable sends then.
func (l *eventLoop) flush(c *Conn) error {
	if c.state == stateClosed {
		return ErrClosed
	}
	waiting := !l.io.canWrite(int(c.fd), c.interest&poller.Writable != 0)
	var n int
	var err error
	if l.stageOwner == c && c.out.Len() == 0 && !waiting {
		n, err = l.send(c, l.stage, nil)
		l.unstage()
	} else {
		if l.stageOwner == c { // only while waiting: c stages only with an empty ring
			c.out.Write(l.stage) // keep order: behind what the ring holds
			l.unstage()
		}
		if !waiting {
			n, err = l.sendRing(c)
		}
	}
	if err != nil {
		l.closeConn(c, err, true)
		return err
	}
	l.wrote(c, n)
	return nil
}

// send writes a then b, which are not c's ring (the stage, the caller's
// memory), with one call, and copies into the ring what the kernel did not
// take, in order.
func (l *eventLoop) send(c *Conn, a, b []byte) (int, error) {
	l.counters.writes.inc()
	n, err := l.io.write(int(c.fd), a, b)
	if err != nil {
		return 0, err
	}
	if n < len(a) {
		c.out.Write(a[n:])
		c.out.Write(b)
	} else if n < len(a)+len(b) {
		c.out.Write(b[n-len(a):])
	}
	l.moved(c, n)
	return n, nil
}

// sendRing writes c's ring, both halves with one call, and discards what
// the kernel took. An empty ring costs nothing.
func (l *eventLoop) sendRing(c *Conn) (int, error) {
	if c.out.Len() == 0 {
		return 0, nil
	}
	a, b := c.out.Peek(-1)
	l.counters.writes.inc()
	n, err := l.io.write(int(c.fd), a, b)
	if err != nil {
		return 0, err
	}
	c.out.Discard(n)
	l.moved(c, n)
	return n, nil
}

// moved records that n bytes of c's output reached the backend (or, n 1,
// that a send completed), for the idle and write timeouts. The bytes are
// counted by the backend, when the kernel takes them (bytesSent).
func (l *eventLoop) moved(c *Conn, n int) {
	if n > 0 {
		c.lastActivity = l.now
		if c.ext != nil {
			c.ext.lastProgress = l.now
		}
	}
}

// stagedBytes returns c's bytes in the stage, or nil.
func (l *eventLoop) stagedBytes(c *Conn) []byte {
	if l.stageOwner == c {
		return l.stage
	}
	return nil
}

// stagedFor returns how many of c's bytes sit in the stage.
func (l *eventLoop) stagedFor(c *Conn) int { return len(l.stagedBytes(c)) }

func (l *eventLoop) unstage() {
	l.stage = l.stage[:0]
	l.stageOwner = nil
}

// onWritable runs when a connection with pending output has room in the
// kernel again.
func (l *eventLoop) onWritable(c *Conn) {
	// Room, or (io_uring) a completed send: progress itself, for the write
	// timeout and an OutputWatcher, even when nothing is left to send.
	c.progressed = true
	l.moved(c, 1)
	n, err := l.sendRing(c)
	if err != nil {
		l.closeConn(c, err, true)
		return
	}
	l.wrote(c, n)
}

// wrote brings interest and state in line after n bytes of c's output
// reached the kernel; an OutputWatcher hears of the progress.
func (l *eventLoop) wrote(c *Conn, n int) {
	l.afterWrite(c)
	if (n > 0 || c.progressed) && c.hasWatcher && c.state != stateClosed {
		c.progressed = false
		l.callOutput(c)
	}
}

// afterWrite brings interest, timers and state in line with what is left
// to send: watch for room while output is pending, finish a half-close or
// a close once it is all sent.
func (l *eventLoop) afterWrite(c *Conn) {
	if n := int64(c.out.Len()); c.backlog.Load() != n {
		c.backlog.Store(n)
	}
	l.releaseRing(&c.out)
	// Output waits in the ring for room in the kernel, or (io_uring) in
	// sends still in flight: those beyond what stands for the kernel's
	// socket buffer count against the marks, so their completion must be
	// heard, and a FIN or a close must wait for all of them. Either way
	// the write timeout bounds it.
	held, over := l.io.held(int(c.fd))
	if c.out.Len() > 0 || over > 0 || held > 0 && (c.finPending || c.state == stateClosing) {
		if c.interest&poller.Writable == 0 {
			l.setInterest(c, c.interest|poller.Writable)
			l.startWriteTimeout(c)
		}
		l.updateReading(c)
		return
	}
	if c.interest&poller.Writable != 0 {
		l.setInterest(c, c.interest&^poller.Writable)
		l.stopWriteTimeout(c)
	}
	if c.finPending {
		c.finPending = false
		shutdownWrite(int(c.fd))
	}
	if c.state == stateClosing && c.writeClosed && !c.lingering { // not while OnClose still runs
		l.finishClose(c)
		return
	}
	l.updateReading(c)
}

// resumeData calls OnData again for a handler that stopped at the high mark,
// now that its output has drained to the low mark. Each call executes at
// least one of the buffered requests (the handler stops only after writing),
// and reading stays paused meanwhile, so this ends with the input in hand.
func (l *eventLoop) resumeData(c *Conn) {
	if c.isTLS() {
		l.resumeTLS(c)
	}
	for c.resume && c.state == stateOpen {
		c.resume = false
		if c.in.Len() == 0 {
			break // consumed meanwhile (outside OnData input lives in the ring)
		}
		l.callData(c)
		l.keepLeftovers(c)
		l.flush(c)
	}
}
