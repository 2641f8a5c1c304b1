//go:build darwin || dragonfly || freebsd

// Wake-ups through an EVFILT_USER event: no descriptor, no data to drain.

package poller

import (
	"os"

	"golang.org/x/sys/unix"
)

// wakeIdent names the user event. EVFILT_USER identifiers are a namespace
// of their own, so it cannot collide with a watched descriptor.
const wakeIdent = 0

// wakeSignal is the kernel half of Wake on kqueues that have EVFILT_USER.
type wakeSignal struct {
	// trigger is the prepared NOTE_TRIGGER change. It is only ever read, so
	// the one Wake that passes the gate can submit it without allocating.
	trigger [1]unix.Kevent_t
}

// open registers the user event on kq. EV_CLEAR resets it each time Wait
// retrieves it, which is what makes drain a no-op.
func (s *wakeSignal) open(kq int) error {
	var reg [1]unix.Kevent_t
	unix.SetKevent(&reg[0], wakeIdent, unix.EVFILT_USER, unix.EV_ADD|unix.EV_CLEAR)
	if _, err := unix.Kevent(kq, reg[:], nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	unix.SetKevent(&s.trigger[0], wakeIdent, unix.EVFILT_USER, 0)
	s.trigger[0].Fflags = unix.NOTE_TRIGGER
	return nil
}

// owns reports whether ev is the wake-up event.
func (s *wakeSignal) owns(ev *unix.Kevent_t) bool {
	return ev.Filter == unix.EVFILT_USER && ev.Ident == wakeIdent
}

// drain does nothing: EV_CLEAR already reset the event on retrieval.
func (s *wakeSignal) drain() {}

// signal triggers the user event, making a blocked kevent wait return.
func (s *wakeSignal) signal(kq int) error {
	if _, err := unix.Kevent(kq, s.trigger[:], nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

// close has nothing to release: the event dies with the kqueue.
func (s *wakeSignal) close() error { return nil }
