package loop

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/buffer"
	"github.com/airsock/airsock/poller"
)

// The I/O path of a connection, all on its loop goroutine.

// ready serves one readiness event. Output is handled before input: draining
// first frees the kernel buffer for the replies the input will produce and
// lets the high-water check see current numbers.
func (c *Conn) ready(m poller.Mask) {
	l := c.loop
	if c.state == stateConnecting {
		l.finishDial(c)
		return
	}
	if m&poller.Writable != 0 && c.interest&poller.Writable != 0 {
		l.drain(c)
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
// leftovers the bytes stay in the loop's shared buffer; with leftovers they
// are appended to the connection's ring so the handler sees one stream.
func (l *eventLoop) read(c *Conn) {
	var err error
	var n int
	if c.in.Len() == 0 {
		n, err = sysRead(int(c.fd), l.readBuf)
		if n > 0 {
			c.window = l.readBuf[:n]
		} else if err == nil {
			err = io.EOF
		}
	} else {
		n, err = c.in.ReadFd(int(c.fd))
	}
	if n > 0 && c.ext != nil && c.ext.reserved > 0 {
		c.ext.heldSince += n
	}
	if err != nil {
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			return
		case errors.Is(err, buffer.ErrLimit):
			l.updateReading(c)
		case err == io.EOF:
			c.peerEOF = true
			l.closeConn(c, io.EOF, false)
		default:
			l.closeConn(c, syscallError("read", err), true)
		}
		return
	}
	c.lastActivity = l.now
	l.callData(c)
	l.keepLeftovers(c)
	l.flush(c)
}

// keepLeftovers copies what OnData left unconsumed from the shared buffer
// into the connection's ring, gives back a reservation the handler no
// longer needs, and pauses reading at the inbound limit.
func (l *eventLoop) keepLeftovers(c *Conn) {
	if len(c.window) > 0 {
		c.in.Write(c.window) // cannot fail: the ring's limit is at least one read
		c.window = nil
	}
	if c.ext != nil && c.ext.reserved > 0 && !l.keepReservation(c) {
		l.unreserve(c)
		// Left holding exactly its limit, it would wait for a read that
		// never comes: let the handler see the input (and reserve again).
		c.resume = c.in.Len() >= l.inboundLimit(c)
	}
	l.releaseRing(&c.in)
	l.updateReading(c)
}

// sendNowMin is the size from which a write goes to the kernel at once,
// with whatever of the connection is staged, in one writev: copying it into
// the stage first would cost more than the coalescing saves.
const sendNowMin = 8 << 10

// queueOutput appends p to c's pending output. While c's ring is empty the
// bytes go to the loop's stage, so a reply costs no ring and no pool trip;
// a large one is sent at once (sendNow).
func (l *eventLoop) queueOutput(c *Conn, p []byte) {
	if len(p) >= sendNowMin && c.out.Len() == 0 && c.interest&poller.Writable == 0 &&
		(l.stageOwner == nil || l.stageOwner == c) && (c.state == stateOpen || c.state == stateClosing) {
		l.sendNow(c, p)
	} else if c.out.Len() == 0 && (l.stageOwner == nil || l.stageOwner == c) && len(l.stage)+len(p) <= cap(l.stage) {
		l.stageOwner = c
		l.stage = append(l.stage, p...)
	} else {
		if l.stageOwner == c {
			c.out.Write(l.stage) // keep order: staged bytes go first
			l.unstage()
		}
		c.out.Write(p)
	}
	if !c.dirty && c != l.current {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// sendNow writes c's staged bytes and p with one writev, straight from the
// caller's memory, and keeps only what the kernel did not take, in order.
// Progress is reported to an OutputWatcher at the next flush, not from
// inside the caller's Write.
func (l *eventLoop) sendNow(c *Conn, p []byte) {
	var staged []byte
	if l.stageOwner == c {
		staged = l.stage
	}
	n, err := writeBoth(int(c.fd), staged, p)
	if err != nil {
		if staged != nil {
			l.unstage()
		}
		l.closeConn(c, syscallError("writev", err), true)
		return
	}
	if n < len(staged) {
		c.out.Write(staged[n:])
		c.out.Write(p)
	} else if n < len(staged)+len(p) {
		c.out.Write(p[n-len(staged):])
	}
	if staged != nil {
		l.unstage()
	}
	if n > 0 {
		c.lastActivity = l.now
		if c.ext != nil {
			c.ext.lastProgress = l.now
		}
		c.progressed = true
	}
	l.afterWrite(c)
}

// writeBoth writes a then b with one writev (a may be empty), retrying on
// EINTR; EAGAIN is a zero-byte write.
func writeBoth(fd int, a, b []byte) (int, error) {
	for {
		var n int
		var err error
		if len(a) == 0 {
			n, err = sysWrite(fd, b)
		} else {
			n, err = sysWritev2(fd, a, b)
		}
		switch {
		case err == nil:
			return n, nil
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, nil
		}
		return 0, err
	}
}

// stagedFor returns how many of c's bytes sit in the stage.
func (l *eventLoop) stagedFor(c *Conn) int {
	if l.stageOwner == c {
		return len(l.stage)
	}
	return 0
}

func (l *eventLoop) unstage() {
	l.stage = l.stage[:0]
	l.stageOwner = nil
}

// flush hands c's pending output to the kernel: the stage with one write,
// or the ring with one writev. It does not write while the poller is
// watching for writability: the kernel buffer is full then.
func (l *eventLoop) flush(c *Conn) error {
	if c.state == stateClosed {
		return ErrClosed
	}
	waiting := c.interest&poller.Writable != 0
	var n int
	var err error
	if l.stageOwner == c {
		if waiting || c.out.Len() > 0 {
			c.out.Write(l.stage)
		} else {
			n, err = writeFd(int(c.fd), l.stage)
			if err == nil && n < len(l.stage) {
				c.out.Write(l.stage[n:])
			}
		}
		l.unstage()
	} else if c.out.Len() > 0 && !waiting {
		n, err = c.out.WriteFd(int(c.fd))
		if errors.Is(err, unix.EAGAIN) {
			err = nil
		}
	}
	if err != nil {
		err = syscallError("write", err)
		l.closeConn(c, err, true)
		return err
	}
	l.wrote(c, n)
	return nil
}

// syscallError names the failed call, unless the ring buffer already did.
func syscallError(call string, err error) error {
	if _, ok := err.(*os.SyscallError); ok {
		return err
	}
	return os.NewSyscallError(call, err)
}

// writeThrough sends p straight from the caller's memory when nothing else
// is pending; only what the kernel does not take is copied.
func (l *eventLoop) writeThrough(c *Conn, p []byte) error {
	if l.stageOwner == c || c.out.Len() > 0 || c.interest&poller.Writable != 0 {
		l.queueOutput(c, p) // keep order behind what is pending
		return l.flush(c)
	}
	n, err := writeFd(int(c.fd), p)
	if err != nil {
		err = os.NewSyscallError("write", err)
		l.closeConn(c, err, true)
		return err
	}
	if n < len(p) {
		c.out.Write(p[n:])
	}
	l.wrote(c, n)
	return nil
}

// wrote records that n bytes of c's output reached the kernel and brings
// interest and state in line; an OutputWatcher hears of the progress.
func (l *eventLoop) wrote(c *Conn, n int) {
	if n > 0 {
		c.lastActivity = l.now
		if c.ext != nil {
			c.ext.lastProgress = l.now
		}
	}
	l.afterWrite(c)
	if (n > 0 || c.progressed) && c.hasWatcher && c.state != stateClosed {
		c.progressed = false
		l.callOutput(c)
	}
}

// drain runs when a connection with pending output turns writable.
func (l *eventLoop) drain(c *Conn) {
	n, err := c.out.WriteFd(int(c.fd))
	if err != nil && !errors.Is(err, unix.EAGAIN) {
		l.closeConn(c, syscallError("writev", err), true)
		return
	}
	l.wrote(c, n)
}

// afterWrite brings interest, timers and state in line with what is left
// to send: watch writability while output is pending, finish a half-close
// or a close once it is all sent.
func (l *eventLoop) afterWrite(c *Conn) {
	if n := int64(c.out.Len()); c.backlog.Load() != n {
		c.backlog.Store(n)
	}
	if c.out.Len() > 0 {
		if c.interest&poller.Writable == 0 {
			l.setInterest(c, c.interest|poller.Writable)
			l.startStallTimer(c)
		}
		l.updateReading(c)
		return
	}
	l.releaseRing(&c.out)
	if c.interest&poller.Writable != 0 {
		l.setInterest(c, c.interest&^poller.Writable)
		l.stopStall(c)
	}
	if c.shutWrite {
		c.shutWrite = false
		unix.Shutdown(int(c.fd), unix.SHUT_WR)
	}
	if c.state == stateClosing && c.writeClosed && !c.lingering { // not while OnClose still runs
		l.finishClose(c)
		return
	}
	l.updateReading(c)
}

// writeFd writes p once, retrying on EINTR; EAGAIN is a zero-byte write.
func writeFd(fd int, p []byte) (int, error) {
	return writeBoth(fd, nil, p)
}

// closeConn ends c: OnClose runs once, then the descriptor closes at once
// (hard: after an error, its output is dropped) or once the pending output,
// including what OnClose writes, has been sent (bounded by WriteTimeout).
func (l *eventLoop) closeConn(c *Conn, reason error, hard bool) {
	if c.state >= stateClosing {
		if hard {
			l.closeFd(c)
		}
		return
	}
	if c.state == stateConnecting {
		if reason == nil {
			reason = ErrClosed
		}
		l.failDial(c, reason)
		return
	}
	wasOpen := c.state == stateOpen
	c.state = stateClosing
	c.closeQueued.Store(true)
	if wasOpen {
		l.callClose(c, reason)
	}
	if c.ext != nil && c.ext.reserved > 0 { // no input is read after OnClose
		c.in.Discard(-1)
		l.unreserve(c)
	}
	c.writeClosed = true
	if hard || c.state == stateClosed {
		l.closeFd(c)
		return
	}
	l.setInterest(c, c.interest&poller.Writable)
	l.flush(c)
	if c.state == stateClosing {
		l.startStallTimer(c)
	}
}

// finishClose ends a graceful close once all output is with the kernel.
// Closing a socket that still has unread input makes the kernel send a
// reset, which discards whatever of our output the peer has not read yet.
// So unless the peer has already finished sending (EOF), the close lingers:
// a FIN goes out after the data, and input is read and dropped until the
// peer closes too, for at most Config.LingerTimeout.
func (l *eventLoop) finishClose(c *Conn) {
	if c.peerEOF || l.cfg.LingerTimeout < 0 {
		l.closeFd(c)
		return
	}
	if err := unix.Shutdown(int(c.fd), unix.SHUT_WR); err != nil {
		l.closeFd(c) // not connected any more: nothing to protect
		return
	}
	c.lingering = true
	l.setInterest(c, poller.Readable)
	x := c.x()
	if x.stall == nil {
		x.stall = newTimer(func() { l.stallCheck(c) })
	}
	l.timers.schedule(x.stall, now()+int64(l.cfg.LingerTimeout))
}

// discardInput reads and drops a lingering connection's input until the
// peer's EOF (or an error), then closes it.
func (l *eventLoop) discardInput(c *Conn) {
	n, err := sysRead(int(c.fd), l.readBuf)
	if n > 0 || err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	l.closeFd(c) // EOF, or an error: either way the peer is done
}

// closeFd closes c's descriptor and frees what it holds. Closing drops the
// descriptor from the poller (no dup exists: see Conn.Fd), which saves an
// epoll_ctl per connection; the table entry goes now, so a stale event in
// this batch finds nothing.
func (l *eventLoop) closeFd(c *Conn) {
	if c.state == stateClosed {
		return
	}
	registered := int(c.fd) < len(l.fds) && l.fds[int(c.fd)] == fdHandler(c)
	if registered {
		l.fds[int(c.fd)] = nil
	}
	unix.Close(int(c.fd))
	c.state = stateClosed
	c.closeQueued.Store(true)
	c.interest = 0
	c.window = nil
	if l.stageOwner == c {
		l.unstage()
	}
	c.in.Discard(-1)
	c.out.Discard(-1)
	if c.ext != nil && c.ext.reserved > 0 {
		l.unreserve(c)
	}
	l.releaseRing(&c.in)
	l.releaseRing(&c.out)
	if x := c.ext; x != nil {
		l.timers.stop(x.idle)
		l.timers.stop(x.stall)
		l.timers.stop(x.inStall)
		for _, t := range x.userTimers {
			l.timers.stop(t)
		}
		x.userTimers = nil
		if x.dial != nil {
			l.timers.stop(x.dial.timer)
		}
	}
	l.conns.Add(-1)
	l.engine.connClosed()
}

// releaseCopy returns an AsyncWrite copy to the pool.
func releaseCopy(b []byte) { buffer.Default.Put(b[:cap(b)]) }
