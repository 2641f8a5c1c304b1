package loop

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/poller"
	"github.com/airsock/airsock/uring"
)

// Accepting on io_uring: one multishot accept per TCP listener, armed with
// POLL_FIRST, so that arming it while the descriptor table is full waits
// for a connection instead of failing at once and being re-armed in a spin
// (EMFILE); accept then reports the error and the listener backs off as on
// epoll. The kernel accepts as connections arrive; what it accepted waits
// in the listener's queue until the loop takes it, and each is reported
// as the listener's fd being Readable. Peers' addresses come from
// getpeername: the one address buffer of a multishot accept would be
// overwritten by the next connection before the loop reads it.
//
// An armed accept holds a reference to the socket, so closing the
// descriptor alone would leave it listening. unlisten shuts the socket's
// reading side first, which ends the listening state at once and the
// accept with it; the listener's released channel is closed when that
// accept's last completion is reaped (the socket is gone by then), which is
// what Listener.Close waits for. Unix listeners stay on the epoll instance:
// shutting one down does not end the listening state, and its accept
// would retry in the kernel. So do the listeners of an engine with
// MaxConns (byEpoll).

// ringAccept is the backend's state of one listening descriptor.
type ringAccept struct {
	lf       *listenFD
	id       uint32 // in the user data of its accepts (as generation)
	on       bool   // the loop takes connections from it
	armed    bool   // a multishot accept is in flight
	stopping bool   // its cancel is submitted
	dropped  bool   // forgotten: kept until its accept ends, accepting nothing
	released chan struct{}
	queue    []int32 // accepted, not taken yet, from head
	head     int
	err      error // ended the accept: accept returns it once the queue is empty
}

// byEpoll reports whether lf is served through the epoll instance: a
// unix listener, or any listener of an engine with MaxConns, where the
// connections past the cap must wait in the kernel's backlog (a multishot
// accept would take the whole backlog in one go, as descriptors).
func byEpoll(lf *listenFD) bool {
	return lf.ln.path != "" || lf.ln.network == "unix" || lf.ln.engine.cfg.MaxConns > 0
}

func (u *completion) listen(lf *listenFD, on bool) error {
	if byEpoll(lf) {
		return pollListener(u.epoll, lf, on)
	}
	a := u.acceptOf(lf)
	a.on = on
	switch {
	case on && !a.armed:
		u.armAccept(a)
	case !on:
		u.cancelAccept(a)
	}
	return nil
}

// cancelAccept stops a's accept, if one is armed and not already stopping.
func (u *completion) cancelAccept(a *ringAccept) {
	if a.armed && !a.stopping {
		u.sqe().PrepCancel(userData(opAccept, a.id, a.lf.fd), userData(opOther, 0, a.lf.fd))
		u.inflight++
		a.stopping = true
	}
}

// acceptOf returns lf's state, making it at the first listen.
func (u *completion) acceptOf(lf *listenFD) *ringAccept {
	for _, a := range u.accepts {
		if a.lf == lf && !a.dropped {
			return a
		}
	}
	u.acceptIDs++
	a := &ringAccept{lf: lf, id: u.acceptIDs & 0xffffff}
	u.accepts = append(u.accepts, a)
	return a
}

// armAccepts arms the accept of every listener the loop takes from whose
// accept has ended (a completion ended it, or the loop read its error),
// before the turn's submission.
func (u *completion) armAccepts() {
	for _, a := range u.accepts {
		if a.on && !a.armed && a.err == nil && !a.dropped {
			a.lf.mu.Lock()
			if !a.lf.closed {
				u.armAccept(a)
			}
			a.lf.mu.Unlock()
		}
	}
}

// armAccept submits a's multishot accept at once, with lf.mu held: left
// for the turn's enter, it would reach the kernel after the lock is
// released, and a Close on another goroutine could close the descriptor
// in between, its number taken by another socket, whose connections the
// accept would then take. The lock also guards lf.released for closeFD.
// Arming is rare (a listener starts, resumes, or retries), so the syscall
// is not on any per-connection path.
func (u *completion) armAccept(a *ringAccept) {
	sqe := u.sqe()
	sqe.PrepMultishotAccept(a.lf.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, userData(opAccept, a.id, a.lf.fd))
	sqe.Ioprio |= uring.AcceptPollFirst
	u.inflight++
	a.armed, a.stopping = true, false
	a.released = make(chan struct{})
	a.lf.released = a.released
	if _, err := u.ring.Submit(0); err != nil {
		// It stays queued for the turn's enter, which reports the error.
		a.lf.loop.cfg.Logger.Warn("loop: io_uring submit of an accept failed", "addr", a.lf.ln.addr, "err", err)
	}
}

// accepted handles an accept completion: a connection joins the queue; an
// accept that ended with an error to report keeps it until accept returns
// it (armAccepts arms it again after that, unless the listener backs off).
func (u *completion) accepted(id uint32, res int32, flags uint32) {
	var a *ringAccept
	for _, x := range u.accepts {
		if x.id == id {
			a = x
			break
		}
	}
	if a == nil || a.dropped {
		if res >= 0 {
			unix.Close(int(res))
		}
		if a != nil && flags&uring.CQEMore == 0 {
			u.endAccept(a)
		}
		return
	}
	if res >= 0 {
		a.queue = append(a.queue, res)
		u.ringAccepted++
	}
	if flags&uring.CQEMore != 0 {
		return
	}
	u.endAccept(a)
	switch errno := syscall.Errno(-res); {
	case res >= 0, errno == unix.ECANCELED:
	case errno == unix.ECONNABORTED, errno == unix.EPROTO, errno == unix.EINTR, errno == unix.EAGAIN:
		// That connection gave up while queued; the next may not.
	default:
		a.lf.mu.Lock()
		closed := a.lf.closed
		a.lf.mu.Unlock()
		if !closed { // a closed one ends with EINVAL (its shutdown): nothing to report
			a.err = os.NewSyscallError("accept", errno)
		}
	}
}

// endAccept records that a's accept has ended, and forgets a dropped one.
func (u *completion) endAccept(a *ringAccept) {
	a.armed, a.stopping = false, false
	close(a.released)
	if a.dropped {
		for i, x := range u.accepts {
			if x == a {
				u.accepts = append(u.accepts[:i], u.accepts[i+1:]...)
				break
			}
		}
	}
}

// acceptsDue reports whether a listener the loop takes from has
// connections or an error waiting; with report, it appends an event for
// each.
func (u *completion) acceptsDue(report bool) bool {
	due := false
	for _, a := range u.accepts {
		if a.on && !a.dropped && (a.head < len(a.queue) || a.err != nil) {
			if !report {
				return true
			}
			u.events = append(u.events, poller.Event{Fd: a.lf.fd, Mask: poller.Readable})
			due = true
		}
	}
	return due
}

// accept hands over the next connection lf's accept took, with its peer.
func (u *completion) accept(lf *listenFD) (int, int, sockAddr, error) {
	if byEpoll(lf) {
		return sysAccept(lf.fd)
	}
	a := u.acceptOf(lf)
	if a.head == len(a.queue) {
		a.queue, a.head = a.queue[:0], 0
		err := a.err
		a.err = nil // reported once: armAccepts arms again unless a back-off stops the listener
		return -1, 0, sockAddr{}, err
	}
	fd := int(a.queue[a.head])
	a.head++
	family, peer, err := sysPeer(fd)
	if err != nil {
		// Reset before the loop got to it: as accept4's ECONNABORTED.
		unix.Close(fd)
		return -1, 0, sockAddr{}, os.NewSyscallError("accept", unix.ECONNABORTED)
	}
	return fd, family, peer, nil
}

// unlisten ends lf's listening state before its descriptor closes (any
// goroutine, lf.mu held): see the comment at the top.
func (u *completion) unlisten(lf *listenFD) <-chan struct{} {
	if byEpoll(lf) {
		return unpollListener(u.epoll, lf)
	}
	// A socket another process shares must go on listening there; Close
	// has ended its accept first (listener_drain.go), unless this loop
	// was stuck, and then the accept lasts until the ring closes.
	if !lf.ln.shared.Load() {
		unix.Shutdown(lf.fd, unix.SHUT_RD)
	}
	return lf.released
}

// forget closes what lf's accept took and the loop did not, and keeps its
// state only until its accept ends.
func (u *completion) forget(lf *listenFD) {
	if byEpoll(lf) {
		return
	}
	for i, a := range u.accepts {
		if a.lf != lf || a.dropped {
			continue
		}
		for _, fd := range a.queue[a.head:] {
			unix.Close(int(fd))
		}
		a.queue, a.head, a.on = nil, 0, false
		if !a.armed {
			u.accepts = append(u.accepts[:i], u.accepts[i+1:]...)
			return
		}
		a.dropped = true
		u.cancelAccept(a)
		return
	}
}

// closeAccepts closes what every listener's accept took and lets go of
// anyone waiting for an accept to end: the ring's close ends them all.
func (u *completion) closeAccepts() {
	for _, a := range u.accepts {
		for _, fd := range a.queue[a.head:] {
			unix.Close(int(fd))
		}
		if a.armed {
			close(a.released)
		}
	}
	u.accepts = nil
}
