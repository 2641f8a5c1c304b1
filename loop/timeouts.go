package loop

import "time"

// Per-connection timeouts. Each connection has at most one idle timer, one
// inbound timer (inTimer: InboundTimeout, backpressure.go) and one output
// timer (outTimer: WriteTimeout while output is stuck, then LingerTimeout
// once closed), armed lazily: activity only records the loop's time, and a
// timer that fires early re-arms itself for the remainder. So a busy
// connection costs no heap operation per message.

// startIdle arms c's idle timer when Config.IdleTimeout is set.
func (l *eventLoop) startIdle(c *Conn) {
	d := int64(l.cfg.IdleTimeout)
	if d <= 0 {
		return
	}
	c.lastActivity = now()
	x := c.extended()
	if x.idle == nil {
		x.idle = newTimer(func() { l.idleCheck(c) })
	}
	l.timers.schedule(x.idle, c.lastActivity+d)
}

func (l *eventLoop) idleCheck(c *Conn) {
	if c.state != stateOpen {
		return
	}
	d := int64(l.cfg.IdleTimeout)
	t := now()
	if due := c.lastActivity + d; due > t {
		l.timers.schedule(c.ext.idle, due)
		return
	}
	l.closeConn(c, ErrIdleTimeout, false)
}

// startWriteTimeout watches pending output: if it does not move for
// Config.WriteTimeout the peer has stopped reading and c is dropped.
func (l *eventLoop) startWriteTimeout(c *Conn) {
	t := now()
	x := c.extended()
	x.lastProgress = t
	if x.outTimer == nil {
		x.outTimer = newTimer(func() { l.outTimerCheck(c) })
	}
	if x.outTimer.index < 0 {
		l.timers.schedule(x.outTimer, t+int64(l.cfg.WriteTimeout))
	}
}

func (l *eventLoop) outTimerCheck(c *Conn) {
	if c.lingering {
		l.closeFd(c) // the linger time is up
		return
	}
	if held, _ := l.io.held(int(c.fd)); c.state == stateClosed || c.out.Len()+held == 0 {
		return
	}
	if due := c.ext.lastProgress + int64(l.cfg.WriteTimeout); due > now() {
		l.timers.schedule(c.ext.outTimer, due)
		return
	}
	l.cfg.Logger.Debug("loop: write timeout", "remote", c.RemoteAddr().String(), "pending", c.out.Len())
	if c.state == stateClosing {
		l.closeFd(c)
		return
	}
	l.closeConn(c, ErrWriteTimeout, true)
}

// AfterFunc runs f on the connection's loop goroutine after d, unless the
// connection has closed by then or the returned stop function was called
// (on the loop goroutine) first. It must be called on the loop goroutine.
func (c *Conn) AfterFunc(d time.Duration, f func(c *Conn)) (stop func()) {
	l := c.loop
	var t *timer
	t = newTimer(func() {
		c.forgetTimer(t)
		if c.state == stateOpen {
			l.runFunc(c, f)
		}
	})
	r := c.rarer()
	r.userTimers = append(r.userTimers, t)
	l.timers.schedule(t, now()+int64(d))
	return func() {
		l.timers.stop(t)
		c.forgetTimer(t)
	}
}

// forgetTimer drops t from c's AfterFunc timers, which closeFd stops.
func (c *Conn) forgetTimer(t *timer) {
	x := c.rarer()
	for i, u := range x.userTimers {
		if u == t {
			x.userTimers = append(x.userTimers[:i], x.userTimers[i+1:]...)
			return
		}
	}
}

// stopWriteTimeout stops c's write watchdog, if it has one.
func (l *eventLoop) stopWriteTimeout(c *Conn) {
	if c.ext != nil {
		l.timers.stop(c.ext.outTimer)
	}
}
