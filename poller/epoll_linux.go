//go:build linux

// The epoll backend: one epoll instance; its eventfd wake-up source is in
// wake_eventfd_linux.go.

package poller

import (
	"errors"
	"math"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Poller watches descriptors for readiness; see the package doc for the
// contract and which goroutine may call what.
type Poller struct {
	epfd int
	wake wakeGate
	sig  wakeSignal // the eventfd half of Wake

	// kevents receives epoll_wait results. It is grown to len(events) on
	// first use, so Wait allocates nothing in steady state.
	kevents []unix.EpollEvent
}

// New creates a close-on-exec epoll instance with its wake-up source.
// It may be called from any goroutine.
func New() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	p := &Poller{epfd: epfd}
	if err := p.sig.open(p); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	return p, nil
}

// Add registers fd with interest (Readable and/or Writable; other bits are
// ignored; 0 registers fd idle). Call it from the loop goroutine, or from any
// goroutine concurrently with Wait.
func (p *Poller) Add(fd int, interest Mask) error {
	return p.ctl(unix.EPOLL_CTL_ADD, fd, epollEvents(interest))
}

// Modify changes fd's interest from old to interest. epoll does not need old;
// it only lets an unchanged interest skip the syscall. Call it from the loop
// goroutine, or from any goroutine concurrently with Wait.
func (p *Poller) Modify(fd int, old, interest Mask) error {
	if epollEvents(old) == epollEvents(interest) {
		return nil
	}
	return p.ctl(unix.EPOLL_CTL_MOD, fd, epollEvents(interest))
}

// Delete stops watching fd; call it before closing fd. old is unused on
// epoll. Call it from the loop goroutine, or from any goroutine concurrently
// with Wait.
func (p *Poller) Delete(fd int, old Mask) error {
	// A non-nil event keeps pre-2.6.9 kernels happy; it costs nothing here.
	return p.ctl(unix.EPOLL_CTL_DEL, fd, 0)
}

// ctl applies one epoll_ctl operation.
func (p *Poller) ctl(op, fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, op, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// epollEvents translates an interest mask into epoll event bits. EPOLLRDHUP
// rides with read interest so a peer's half-close is reported as HangUp.
// EPOLLERR and EPOLLHUP need no asking: epoll always reports them.
func epollEvents(interest Mask) uint32 {
	var e uint32
	if interest&Readable != 0 {
		e |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if interest&Writable != 0 {
		e |= unix.EPOLLOUT
	}
	return e
}

// Wait fills events with ready descriptors; see the package doc for timeout,
// EINTR and wake-up handling. Call it from the loop goroutine only.
func (p *Poller) Wait(events []Event, timeout time.Duration) (int, error) {
	if len(events) == 0 {
		return 0, errNoRoom
	}
	if cap(p.kevents) < len(events) {
		p.kevents = make([]unix.EpollEvent, len(events))
	}
	kev := p.kevents[:len(events)]
	var n int
	var err error
	switch {
	case timeout == 0:
		n, err = pollNow(p.epfd, kev)
	case timeout > 0 && !noPwait2.Load():
		n, err = waitPrecise(p.epfd, kev, timeout)
	default:
		n, err = unix.EpollWait(p.epfd, kev, epollTimeout(timeout))
	}
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, os.NewSyscallError("epoll_wait", err)
	}
	out := 0
	for i := range kev[:n] {
		fd := int(kev[i].Fd)
		if fd == p.sig.fd {
			p.sig.drain()
			p.wake.drained()
			continue
		}
		events[out] = Event{Fd: fd, Mask: epollMask(kev[i].Events)}
		out++
	}
	return out, nil
}

// epollTimeout converts Wait's timeout into epoll_wait milliseconds, rounding
// up so a short positive timeout does not degrade into a busy poll.
func epollTimeout(d time.Duration) int {
	switch {
	case d < 0:
		return -1
	case d >= math.MaxInt32*time.Millisecond:
		return math.MaxInt32
	default:
		return int((d + time.Millisecond - 1) / time.Millisecond)
	}
}

// epollMask translates epoll result bits into a Mask, folding hang-ups into
// Readable and errors into Readable|Writable so the I/O syscalls see them.
func epollMask(e uint32) Mask {
	var m Mask
	if e&unix.EPOLLIN != 0 {
		m |= Readable
	}
	if e&unix.EPOLLOUT != 0 {
		m |= Writable
	}
	if e&(unix.EPOLLHUP|unix.EPOLLRDHUP) != 0 {
		m |= HangUp | Readable
	}
	if e&unix.EPOLLERR != 0 {
		m |= Error | Readable | Writable
	}
	return m
}

// Wake makes the current or next Wait return. It may be called from any
// goroutine, also concurrently with or after Close, when it does nothing.
func (p *Poller) Wake() error {
	if !p.wake.begin() {
		return nil
	}
	return p.wake.end(p.sig.signal())
}

// Close releases the epoll instance and the wake-up source. Call it from the
// loop goroutine once Wait has returned for the last time; closing twice is a
// no-op.
func (p *Poller) Close() error {
	if p.wake.shut() {
		return nil
	}
	return errors.Join(p.sig.close(), os.NewSyscallError("close", unix.Close(p.epfd)))
}

// pollNow is epoll_wait with a zero timeout, which never blocks: a raw
// syscall spares it the scheduler's bookkeeping for blocking calls, which
// costs more than the poll itself on a busy loop.
func pollNow(epfd int, kev []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&kev[0])), uintptr(len(kev)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// noPwait2 is set once epoll_pwait2 turns out to be missing (before Linux
// 5.11); waits then round up to epoll_wait's whole milliseconds.
var noPwait2 atomic.Bool

// waitPrecise waits up to d with nanosecond precision, so that loop timers
// (a load generator's pacing, say) are not rounded up to a millisecond.
func waitPrecise(epfd int, kev []unix.EpollEvent, d time.Duration) (int, error) {
	ts := unix.NsecToTimespec(int64(d))
	n, _, errno := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(epfd), uintptr(unsafe.Pointer(&kev[0])),
		uintptr(len(kev)), uintptr(unsafe.Pointer(&ts)), 0, 0)
	switch errno {
	case 0:
		return int(n), nil
	case unix.ENOSYS:
		noPwait2.Store(true)
		return unix.EpollWait(epfd, kev, epollTimeout(d))
	}
	return 0, errno
}

// Fd returns the epoll descriptor, so that another poller (an io_uring
// ring) can watch this one: it is readable while an event is ready. Any
// goroutine.
func (p *Poller) Fd() int { return p.epfd }
