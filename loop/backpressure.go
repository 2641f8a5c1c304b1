package loop

import (
	"github.com/airsock/airsock/buffer"
)

// Back-pressure: what a connection may hold each way, how its handler is
// told to stop, and when it is called to go on. All on the loop goroutine.
//
// Output: Writable turns false at WriteHighWater. A handler that sees it
// stops executing requests and leaves the rest of its input unconsumed; the
// loop stops reading the connection and, once the output has drained to
// WriteLowWater, calls OnData again (resumeData). So one read of pipelined
// requests can queue at most the high mark plus the replies the handler
// wrote before it looked.
//
// Input: the loop keeps at most MaxInbound unconsumed bytes and then stops
// reading. A handler waiting for a frame larger than that reserves room for
// it (ReserveInbound), from an engine-wide budget; one that neither consumes
// nor reserves is closed after InboundTimeout.
//
// The checks made on every message (updateReading, resumeData) are on the
// I/O path, in conn_io.go; this file has the rest.

// Writable reports whether c's pending output is below WriteHighWater. A
// handler serving pipelined requests checks it between requests and stops
// when it is false, leaving the rest of its input unconsumed: the loop then
// pauses reading c and calls OnData again when the output has drained to
// WriteLowWater, with the same input (and nothing new). Call it for the
// connection whose callback is running, on its loop goroutine.
func (c *Conn) Writable() bool {
	if c.OutboundBuffered() < c.loop.cfg.WriteHighWater {
		return true
	}
	c.blocked = true
	return false
}

// ReserveInbound lets c hold up to n unconsumed bytes, for a frame the
// handler has begun and cannot consume in pieces (its length known from a
// header, or at least n). Room beyond MaxInbound comes from the engine's
// InboundBudget and goes back to it once the handler has consumed input
// after reserving and no more than MaxInbound is left buffered; the ring
// grows as the bytes arrive, never past n. A handler bounds n by its own
// protocol's limits. n at or below what c may already hold is a no-op. It
// fails with ErrInboundBudget, changing nothing, when the budget cannot
// cover the room now, and with ErrClosed on a closed connection. Loop
// goroutine only.
func (c *Conn) ReserveInbound(n int) error {
	l := c.loop
	if c.state != stateOpen {
		return ErrClosed
	}
	if n <= l.inboundLimit(c) {
		return nil
	}
	extra := int64(n - l.cfg.MaxInbound)
	x := c.extended()
	if !l.engine.reserveInbound(extra - x.reserved) {
		return ErrInboundBudget
	}
	x.reserved = extra
	x.heldSince = c.InboundBuffered()
	c.in.SetLimit(max(n, l.cfg.ReadBufferSize))
	l.armInboundWatch(c)
	return nil
}

// keepReservation reports whether c still needs its reservation: until the
// handler consumes some input after reserving, and while more than
// MaxInbound is buffered.
func (l *eventLoop) keepReservation(c *Conn) bool {
	return c.in.Len() >= c.ext.heldSince || c.in.Len() > l.cfg.MaxInbound
}

// baseInbound is the ring limit of a connection without a reservation:
// MaxInbound, and at least one read, which keepLeftovers may have to keep.
func (l *eventLoop) baseInbound() int { return max(l.cfg.MaxInbound, l.cfg.ReadBufferSize) }

// unreserve gives c's reservation back to the budget. If the ring grew for
// it and still holds a few bytes, they move to an array of the normal size,
// so that a client cannot keep a large array by leaving a byte unconsumed.
func (l *eventLoop) unreserve(c *Conn) {
	l.engine.reserveInbound(-c.ext.reserved)
	c.ext.reserved = 0
	if !c.readPausedIn {
		l.timers.stop(c.ext.inTimer)
	}
	base := l.baseInbound()
	l.releaseRing(&c.in) // if empty: counted here, before SetLimit would drop the array unseen
	c.in.SetLimit(base)
	if c.in.Len() == 0 || c.in.Cap() <= base {
		return
	}
	tmp := buffer.Default.Get(c.in.Len())[:0]
	head, tail := c.in.Peek(-1)
	tmp = append(append(tmp, head...), tail...)
	l.noteFreed(c.in.Cap())
	c.in.Reset()
	c.in.Write(tmp)
	buffer.Default.Put(tmp[:cap(tmp)])
}

// reserveInbound adds n (negative: gives back) to the bytes reserved beyond
// MaxInbound over the engine; it refuses an addition past InboundBudget.
func (e *Engine) reserveInbound(n int64) bool {
	for {
		cur := e.reserved.Load()
		if n > 0 && cur+n > e.cfg.InboundBudget {
			return false
		}
		if e.reserved.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// watchInbound arms the InboundTimeout watchdog of c when its input
// reaches the limit (full), and stops it when the input falls below, unless
// a reservation still wants watching.
func (l *eventLoop) watchInbound(c *Conn, full bool) {
	if !full {
		if c.ext.reserved == 0 {
			l.timers.stop(c.ext.inTimer)
		}
		return
	}
	l.cfg.Logger.Debug("loop: inbound limit reached; reading paused until the handler consumes",
		"remote", c.RemoteAddr().String(), "buffered", c.in.Len())
	l.armInboundWatch(c)
}

// armInboundWatch (re)schedules c's inbound watchdog InboundTimeout from now.
func (l *eventLoop) armInboundWatch(c *Conn) {
	x := c.extended()
	if x.inTimer == nil {
		x.inTimer = newTimer(func() { l.inboundCheck(c) })
	}
	l.timers.schedule(x.inTimer, now()+int64(l.cfg.InboundTimeout))
}

// inboundCheck closes c if its input still sits at the limit with the
// handler doing nothing about it, or if it holds a reservation and no byte
// has arrived for InboundTimeout (a client that announced a large frame
// and stopped sending must not keep the budget). A handler waiting for its
// output to drain is the write timeout's business, so the watchdog waits
// again then.
func (l *eventLoop) inboundCheck(c *Conn) {
	if c.state != stateOpen {
		return
	}
	d := int64(l.cfg.InboundTimeout)
	if !c.readPausedIn {
		if c.ext.reserved == 0 {
			return
		}
		if due := c.lastActivity + d; due > now() {
			l.timers.schedule(c.ext.inTimer, due)
			return
		}
	} else if c.blocked || c.readPausedOut {
		l.timers.schedule(c.ext.inTimer, now()+d)
		return
	}
	l.cfg.Logger.Info("loop: closing a connection stalled at its inbound limit",
		"remote", c.RemoteAddr().String(), "buffered", c.in.Len())
	l.closeConn(c, ErrInboundStalled, false)
}
