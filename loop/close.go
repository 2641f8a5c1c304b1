package loop

import "github.com/airsock/airsock/poller"

// The end of a connection, on its loop goroutine: closeConn runs OnClose
// and lets the output drain, finishClose lingers until the peer is done,
// closeFd releases everything; stop and abort end a loop's connections at
// Shutdown.

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
	c.closeWhy = ReasonOf(reason)
	if c.awaitingProxy() { // the handler has not heard of c
		l.closeFd(c)
		return
	}
	wasOpen := c.state == stateOpen
	if c.isTLS() && c.ext.tls.handshaking { // the handler has not heard of c
		l.closeHandshaking(c, reason)
		return
	}
	c.state = stateClosing
	c.closeQueued.Store(true)
	if wasOpen {
		l.callClose(c, reason)
	}
	if c.ext != nil && c.ext.reserved > 0 { // no input is read after OnClose
		c.in.Discard(-1)
		l.unreserve(c)
	}
	if !hard {
		l.closeNotify(c)
	}
	c.writeClosed = true
	if hard || c.state == stateClosed {
		l.closeFd(c)
		return
	}
	l.setInterest(c, c.interest&poller.Writable)
	l.flush(c)
	if c.state == stateClosing {
		l.startWriteTimeout(c)
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
	if err := shutdownWrite(int(c.fd)); err != nil {
		l.closeFd(c) // not connected any more: nothing to protect
		return
	}
	c.lingering = true
	l.setInterest(c, poller.Readable)
	x := c.extended()
	if x.outTimer == nil {
		x.outTimer = newTimer(func() { l.outTimerCheck(c) })
	}
	l.timers.schedule(x.outTimer, now()+int64(l.cfg.LingerTimeout))
}

// discardInput reads and drops a lingering connection's input until the
// peer's EOF (or an error), then closes it.
func (l *eventLoop) discardInput(c *Conn) {
	n, err := l.io.read(int(c.fd), l.readBuf, nil)
	l.countRead(n, err)
	if n > 0 || err == nil {
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
	l.io.closeFd(int(c.fd))
	c.abortHandshake()
	c.state = stateClosed
	c.closeQueued.Store(true)
	c.interest = 0
	c.winOff, c.winEnd = 0, 0
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
		l.timers.stop(x.outTimer)
		l.timers.stop(x.inTimer)
		if r := x.rare; r != nil {
			for _, t := range r.userTimers {
				l.timers.stop(t)
			}
			r.userTimers = nil
			if r.proxy != nil {
				l.timers.stop(r.proxy.timer)
			}
		}
		if x.dial != nil {
			l.timers.stop(x.dial.timer)
		}
	}
	l.counters.closed[c.closeWhy].inc()
	if c.readPausedIn || c.readPausedOut { // frozen once closing: see updateReading
		l.counters.pausedBy(false)
	}
	l.conns.Add(-1)
	l.engine.connClosed()
}

// stop begins a graceful shutdown of the loop's connections.
func (l *eventLoop) stop() {
	l.stopping = true
	for _, h := range l.fds {
		if pc, ok := h.(*PacketConn); ok {
			l.closePacket(pc, ErrShutdown)
		}
		if c, ok := h.(*Conn); ok {
			if c.state == stateConnecting {
				l.failDial(c, ErrShutdown)
			} else {
				l.closeConn(c, ErrShutdown, false)
			}
		}
	}
}

// abort closes whatever connections a graceful shutdown left.
func (l *eventLoop) abort() {
	l.stop()
	for _, h := range l.fds {
		if c, ok := h.(*Conn); ok {
			l.closeFd(c)
		}
	}
}
