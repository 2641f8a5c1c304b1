//go:build darwin || dragonfly || freebsd || netbsd || openbsd

// The kqueue backend: one kqueue, a read and a write filter per descriptor,
// and a wake-up source that differs per OS (wake_*_kqueue.go).

package poller

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// maxWait caps a kevent timeout; Darwin rejects very long ones with EINVAL.
// Returning early with no events is allowed by Wait's contract.
const maxWait = 1e6 * time.Second

// Poller watches descriptors for readiness; see the package doc for the
// contract and which goroutine may call what.
type Poller struct {
	kq   int
	wake wakeGate
	sig  wakeSignal // the per-OS kernel half of Wake

	// kevents receives kevent results, grown to len(events) on first use so
	// Wait allocates nothing in steady state.
	kevents []unix.Kevent_t
	// slot[fd]-1 is fd's index in the events batch Wait is building, 0 if fd
	// is not in it yet. It merges an fd's read and write filter events into
	// one Event; Wait zeroes the entries it set before returning.
	slot []int32
	// ts is Wait's timeout, a field so passing its address does not allocate.
	ts unix.Timespec
}

// New creates a close-on-exec kqueue with its wake-up source. It may be
// called from any goroutine.
func New() (*Poller, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	// fork does not pass a kqueue on to the child, so the window before
	// CloseOnExec leaks nothing; the flag just makes the intent explicit.
	unix.CloseOnExec(kq)
	p := &Poller{kq: kq}
	if err := p.sig.open(kq); err != nil {
		unix.Close(kq)
		return nil, err
	}
	return p, nil
}

// Add registers fd with interest (Readable and/or Writable; other bits are
// ignored; 0 registers nothing). Call it from the loop goroutine, or from any
// goroutine concurrently with Wait.
func (p *Poller) Add(fd int, interest Mask) error {
	return p.change(fd, 0, interest)
}

// Modify changes fd's interest from old, which must be the interest last set,
// to interest, adding and deleting filters as needed. Call it from the loop
// goroutine, or from any goroutine concurrently with Wait.
func (p *Poller) Modify(fd int, old, interest Mask) error {
	return p.change(fd, old, interest)
}

// Delete removes fd's filters for interest old; call it before closing fd.
// Call it from the loop goroutine, or from any goroutine concurrently with
// Wait.
func (p *Poller) Delete(fd int, old Mask) error {
	return p.change(fd, old, 0)
}

// change submits the filter additions and deletions that turn old into
// interest, in one kevent call. kevent does not sleep without an event
// list, so it cannot fail with EINTR here.
func (p *Poller) change(fd int, old, interest Mask) error {
	var ch [2]unix.Kevent_t
	n := 0
	if filterChange(&ch[n], fd, unix.EVFILT_READ, old&Readable != 0, interest&Readable != 0) {
		n++
	}
	if filterChange(&ch[n], fd, unix.EVFILT_WRITE, old&Writable != 0, interest&Writable != 0) {
		n++
	}
	if n == 0 {
		return nil
	}
	if _, err := unix.Kevent(p.kq, ch[:n], nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

// filterChange fills k with the change for one filter and reports whether
// there is one.
func filterChange(k *unix.Kevent_t, fd, filter int, was, is bool) bool {
	switch {
	case is && !was:
		unix.SetKevent(k, fd, filter, unix.EV_ADD)
	case was && !is:
		unix.SetKevent(k, fd, filter, unix.EV_DELETE)
	default:
		return false
	}
	return true
}

// Wait fills events with ready descriptors; see the package doc for timeout,
// EINTR and wake-up handling. Call it from the loop goroutine only.
func (p *Poller) Wait(events []Event, timeout time.Duration) (int, error) {
	if len(events) == 0 {
		return 0, errNoRoom
	}
	if cap(p.kevents) < len(events) {
		p.kevents = make([]unix.Kevent_t, len(events))
	}
	kev := p.kevents[:len(events)]
	var tsp *unix.Timespec
	if timeout >= 0 {
		p.ts = unix.NsecToTimespec(int64(min(timeout, maxWait)))
		tsp = &p.ts
	}
	n, err := unix.Kevent(p.kq, nil, kev, tsp)
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, os.NewSyscallError("kevent", err)
	}
	out := 0
	for i := range kev[:n] {
		ev := &kev[i]
		if p.sig.owns(ev) {
			p.sig.drain()
			p.wake.drained()
			continue
		}
		fd := int(ev.Ident)
		m := kqueueMask(ev)
		if fd < len(p.slot) && p.slot[fd] != 0 {
			events[p.slot[fd]-1].Mask |= m // the fd's other filter fired too
			continue
		}
		p.markSlot(fd, out)
		events[out] = Event{Fd: fd, Mask: m}
		out++
	}
	for _, e := range events[:out] {
		p.slot[e.Fd] = 0
	}
	return out, nil
}

// markSlot records that fd sits at events[i], growing the table when a
// higher descriptor than ever before shows up.
func (p *Poller) markSlot(fd, i int) {
	if fd >= len(p.slot) {
		grown := make([]int32, max(fd+1, 2*len(p.slot)))
		copy(grown, p.slot)
		p.slot = grown
	}
	p.slot[fd] = int32(i + 1)
}

// kqueueMask translates one kevent into a Mask, folding EOF into Readable
// and errors into Readable|Writable so the I/O syscalls see them. A socket
// error (such as a reset) arrives as EV_EOF with the errno in fflags.
func kqueueMask(ev *unix.Kevent_t) Mask {
	var m Mask
	switch ev.Filter {
	case unix.EVFILT_READ:
		m = Readable
	case unix.EVFILT_WRITE:
		m = Writable
	}
	if ev.Flags&unix.EV_EOF != 0 {
		m |= HangUp | Readable
		if ev.Fflags != 0 {
			m |= Error | Readable | Writable
		}
	}
	if ev.Flags&unix.EV_ERROR != 0 {
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
	return p.wake.end(p.sig.signal(p.kq))
}

// Close releases the kqueue and the wake-up source. Call it from the loop
// goroutine once Wait has returned for the last time; closing twice is a
// no-op.
func (p *Poller) Close() error {
	if p.wake.shut() {
		return nil
	}
	return errors.Join(p.sig.close(), os.NewSyscallError("close", unix.Close(p.kq)))
}
