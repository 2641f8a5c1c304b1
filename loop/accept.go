package loop

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/buffer"
	"github.com/airsock/airsock/poller"
)

// acceptBatch bounds the connections one readiness event accepts, so a
// burst of connects cannot starve the loop's other descriptors; the
// listener stays readable (level-triggered) and the rest come next turn.
const acceptBatch = 64

// ready accepts pending connections and gives each to a loop. The handler's
// OnOpen runs without lf.mu held, so it may close the listener.
func (lf *listenFD) ready(poller.Mask) {
	l := lf.loop
	for range acceptBatch {
		c, more := lf.acceptOne()
		if c != nil {
			if c.loop == l {
				l.register(c)
			} else {
				c.loop.submit(task{kind: taskRegister, c: c})
			}
		}
		if !more {
			return
		}
	}
}

// acceptOne accepts one connection and reports whether to try for another.
// Running out of descriptors or memory must neither spin nor stop the
// engine: the listener is unwatched and retried after a back-off that
// doubles up to a second; meanwhile the kernel backlog holds newcomers.
func (lf *listenFD) acceptOne() (*Conn, bool) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	l, e := lf.loop, lf.loop.engine
	if lf.closed || !lf.watched {
		return nil, false
	}
	if e.atCapacity() {
		lf.unwatch()
		e.pauseListener(lf)
		if !e.atCapacity() {
			// A connection closed between the check and the pause, and
			// its connClosed may not have seen the listener paused.
			e.resumePaused()
		}
		return nil, false
	}
	fd, family, peer, err := l.io.accept(lf)
	switch {
	case err == nil && fd < 0: // none pending
		lf.backoff = 0
		return nil, false
	case errors.Is(err, unix.ECONNABORTED), errors.Is(err, unix.EPROTO):
		return nil, true // that one gave up while queued; the next may not
	case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE), errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.ENOMEM):
		lf.backOff(err)
		return nil, false
	case err != nil:
		l.cfg.Logger.Error("loop: accept failed", "addr", lf.ln.addr, "err", err)
		return nil, false
	}
	c := lf.newAccepted(fd, family, peer)
	if c != nil {
		l.counters.accepted.inc()
	}
	return c, true
}

// newAccepted makes the connection of fd, accepted from lf, on the loop
// that will serve it: lf's own, or with fewer sockets than loops the one
// with the fewest connections. It returns nil, having closed fd, if the
// socket cannot be set up. Any goroutine (Close drains on the caller's).
func (lf *listenFD) newAccepted(fd, family int, peer sockAddr) *Conn {
	l, e := lf.loop, lf.loop.engine
	if !acceptedInheritNoDelay {
		if err := setNoDelay(fd, family, !e.cfg.Nagle); err != nil && !errors.Is(err, unix.EINVAL) {
			unix.Close(fd)
			return nil
		}
	}
	target := l
	if len(lf.ln.fds) < len(e.loops) {
		target = e.pickLoop()
	}
	c := target.newConn(fd, family, lf.handler)
	c.raddr = peer
	if p := lf.ln.proxyProtocol(); p.Mode != ProxyOff {
		c.rarer().proxy = &proxyWait{cfg: p} // open waits for the header
	}
	if lf.ln.tls != nil {
		c.makeTLS(lf.ln.tls, true)
	}
	if family == unix.AF_UNIX {
		c.extended().unixPath = &lf.ln.path
	} else if !lf.ln.local.isUnspecified() {
		c.laddr = lf.ln.local // saves a getsockname in open
	}
	return c
}

// backOff unwatches lf after a resource error and schedules a retry.
func (lf *listenFD) backOff(err error) {
	const first, most = 5 * time.Millisecond, time.Second
	lf.backoff = min(max(2*lf.backoff, first), most)
	lf.unwatch()
	l := lf.loop
	l.counters.acceptBackoffs.inc()
	l.cfg.Logger.Warn("loop: accept out of resources; backing off",
		"addr", lf.ln.addr, "err", err, "retry", lf.backoff)
	if lf.retry == nil {
		lf.retry = newTimer(func() {
			lf.mu.Lock()
			lf.watch()
			lf.mu.Unlock()
		})
	}
	l.timers.schedule(lf.retry, now()+int64(lf.backoff))
}

// newConn makes a connection for fd that will live on l, and counts it.
func (l *eventLoop) newConn(fd, family int, h Handler) *Conn {
	c := &Conn{fd: int32(fd), family: uint8(family), loop: l, handler: h}
	_, c.hasWatcher = h.(OutputWatcher)
	c.in.Init(&buffer.Default, l.baseInbound())
	c.out.Init(&buffer.Default, 0)
	l.conns.Add(1)
	l.engine.conns.Add(1)
	return c
}
