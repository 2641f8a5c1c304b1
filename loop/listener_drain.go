package loop

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// Closing a listener without losing the connections queued for it.
//
// Closing a listening socket resets every connection in its accept queue:
// the kernel completed their handshakes, their clients may have sent a
// request, and nobody will ever accept them (on Linux 5.14+ with
// net.ipv4.tcp_migrate_req=1 the kernel moves them to another socket of
// the same SO_REUSEPORT group instead, if there is one). So Close first
// takes what is queued and then closes at once: what is lost is only what
// completes its handshake in between, one syscall's time, plus the
// handshakes still half done (SYN_RECV), which the kernel resets when
// their last ACK finds the socket closed (or migrates, as above).
//
// A socket shared with another process (FileListener, Files) is different:
// it goes on listening there, and its queue is that process's to take.
// Closing it here must lose only what this engine holds itself: the
// connections an io_uring multishot accept has taken and the loop has not
// yet served. For those, and for a socket of our own on io_uring, the
// accept is cancelled on the loop and its last completion awaited before
// what it took is served and the descriptor closes. Readiness holds
// nothing: the caller's goroutine drains and closes directly.

// drainMost bounds the connections one listening socket's drain takes, so
// that Close ends under a connect flood.
const drainMost = 4 * acceptBatch

// drainWait bounds a drain's waits for the loops, as closeFD's for an
// accept: a loop stuck in a handler must not hang Close; after it, Close
// closes as if there were nothing to drain.
const drainWait = time.Second

// stopAccepting drains every descriptor of ln (see above) and closes it;
// ln.mu is held. A listener that never served has nothing queued.
func (ln *Listener) stopAccepting() {
	if !ln.listening {
		return
	}
	var ring []*listenFD
	for _, lf := range ln.fds {
		if !lf.drainDirect() {
			ring = append(ring, lf)
		}
	}
	if len(ring) == 0 || ln.engine.onLoopThread() {
		// Waiting for a loop on a loop could wait for ourselves: closeFDs
		// closes these as if nothing were queued.
		return
	}
	expired := make(chan struct{})
	t := time.AfterFunc(drainWait, func() { close(expired) })
	defer t.Stop()
	// Stop every ring accept first, then serve what each took.
	released := make([]<-chan struct{}, len(ring))
	for i, lf := range ring {
		released[i] = onLoopWait(lf.loop, expired, lf.stopRing)
	}
	for i, lf := range ring {
		if released[i] == nil { // closed meanwhile, or its loop is stuck
			continue
		}
		select {
		case <-released[i]:
		case <-expired:
			return
		}
		onLoopWait(lf.loop, expired, func() chan struct{} {
			lf.drainRing()
			return closedChan
		})
	}
}

// closedChan is a channel closed from the start.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// onLoopWait runs f on l and returns its result, or nil if l did not run it
// before expired was closed.
func onLoopWait(l *eventLoop, expired <-chan struct{}, f func() chan struct{}) <-chan struct{} {
	res := make(chan chan struct{}, 1)
	if !l.submit(task{kind: taskFunc, fn: func() { res <- f() }}) {
		return nil
	}
	select {
	case r := <-res:
		if r == nil {
			return nil
		}
		return r
	case <-expired:
		return nil
	}
}

// drainDirect takes, on the caller's goroutine, what the kernel queued for
// lf (not for a shared socket, whose queue the other holder takes), closes
// lf and hands each connection to its loop. The loop may accept too
// meanwhile: lf.mu keeps the two apart, and either serves a connection. It
// returns false, doing nothing, for a socket with a ring accept (one was
// armed: released is set), which only its loop can stop.
func (lf *listenFD) drainDirect() bool {
	var fds []accepted
	lf.mu.Lock()
	if lf.released != nil && !lf.closed {
		lf.mu.Unlock()
		return false
	}
	lf.stopping = true // nor may the loop arm one now
	if !lf.closed && !lf.ln.shared.Load() {
		fds = takeQueued(lf.fd, fds)
	}
	lf.mu.Unlock()
	lf.closeFD()
	lf.start(fds)
	return true
}

// stopRing, on lf's loop, cancels its ring accept for good and returns the
// channel closed when that accept has ended (nil once lf is closed).
func (lf *listenFD) stopRing() chan struct{} {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return nil
	}
	lf.stopping = true
	lf.unwatch()
	if lf.released == nil {
		return closedChan // never armed
	}
	return lf.released
}

// drainRing, on lf's loop once its accept has ended, serves what the
// accept took, and for a socket of our own what the kernel still queues,
// then closes lf.
func (lf *listenFD) drainRing() {
	var fds []accepted
	lf.mu.Lock()
	if !lf.closed {
		for len(fds) < drainMost {
			fd, family, peer, err := lf.loop.io.accept(lf)
			if fd < 0 {
				if err == nil || !retryAccept(err) {
					break
				}
				continue
			}
			fds = append(fds, accepted{fd, family, peer})
		}
		if !lf.ln.shared.Load() {
			fds = takeQueued(lf.fd, fds)
		}
	}
	lf.mu.Unlock()
	lf.closeFD()
	lf.start(fds)
}

// accepted is one connection a drain took.
type accepted struct {
	fd, family int
	peer       sockAddr
}

// takeQueued accepts what the kernel queued on the listening socket lfd,
// up to drainMost in all, appending to fds.
func takeQueued(lfd int, fds []accepted) []accepted {
	for len(fds) < drainMost {
		fd, family, peer, err := sysAccept(lfd)
		if fd < 0 {
			if err == nil || !retryAccept(err) {
				break
			}
			continue
		}
		fds = append(fds, accepted{fd, family, peer})
	}
	return fds
}

// retryAccept reports whether an accept error concerned only that one
// connection (it gave up while queued), so the next may succeed.
func retryAccept(err error) bool {
	return errors.Is(err, unix.ECONNABORTED) || errors.Is(err, unix.EPROTO)
}

// start makes a connection of each descriptor a drain took and gives it to
// its loop; from any goroutine (a task registers it, and lf's loop counts
// them: only a loop writes its counters). A connection taken past MaxConns
// is served too: refusing it now would reset it.
func (lf *listenFD) start(fds []accepted) {
	n := uint64(0)
	for _, a := range fds {
		if c := lf.newAccepted(a.fd, a.family, a.peer); c != nil {
			n++
			c.loop.submit(task{kind: taskRegister, c: c})
		}
	}
	if n > 0 {
		l := lf.loop
		l.submit(task{kind: taskFunc, fn: func() { l.counters.accepted.add(n) }})
	}
}
