//go:build netbsd || openbsd

// Wake-ups through a non-blocking pipe, for kqueues without EVFILT_USER.

package poller

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// wakeByte is what signal writes; only its arrival matters.
var wakeByte = [1]byte{1}

// wakeSignal is the kernel half of Wake on kqueues without EVFILT_USER: a
// pipe whose read end is watched for EVFILT_READ.
type wakeSignal struct {
	r, w int
	// buf receives drained bytes; a field so Read does not allocate it.
	buf [16]byte
}

// open creates the close-on-exec, non-blocking pipe and watches its read
// end on kq.
func (s *wakeSignal) open(kq int) error {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return os.NewSyscallError("pipe2", err)
	}
	s.r, s.w = fds[0], fds[1]
	var reg [1]unix.Kevent_t
	unix.SetKevent(&reg[0], s.r, unix.EVFILT_READ, unix.EV_ADD)
	if _, err := unix.Kevent(kq, reg[:], nil, nil); err != nil {
		unix.Close(s.r)
		unix.Close(s.w)
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

// owns reports whether ev is the pipe's read end becoming readable. The
// pipe is ours, so its descriptor is never one the loop registered.
func (s *wakeSignal) owns(ev *unix.Kevent_t) bool {
	return ev.Filter == unix.EVFILT_READ && int(ev.Ident) == s.r
}

// drain empties the pipe so the level-triggered filter goes quiet. The gate
// allows one byte in flight, so this is normally a single read; the bound
// only guards against a pipe somebody else wrote into.
func (s *wakeSignal) drain() {
	for range 64 {
		n, err := unix.Read(s.r, s.buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n < len(s.buf) {
			return
		}
	}
}

// signal writes one byte. EAGAIN means the pipe is full, so Wait will wake
// anyway.
func (s *wakeSignal) signal(int) error {
	for {
		_, err := unix.Write(s.w, wakeByte[:])
		switch err {
		case nil, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		default:
			return os.NewSyscallError("write", err)
		}
	}
}

// close releases both ends of the pipe.
func (s *wakeSignal) close() error {
	return errors.Join(
		os.NewSyscallError("close", unix.Close(s.r)),
		os.NewSyscallError("close", unix.Close(s.w)),
	)
}
