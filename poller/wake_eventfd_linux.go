//go:build linux

// Wake-ups through an eventfd registered in the epoll instance.

package poller

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// wakeOne is the 8-byte, host-endian 1 that a write adds to an eventfd.
var wakeOne = func() (b [8]byte) {
	binary.NativeEndian.PutUint64(b[:], 1)
	return b
}()

// wakeSignal is the kernel half of Wake on Linux: an eventfd whose counter
// going non-zero makes it readable.
type wakeSignal struct {
	fd int
	// buf receives the counter on drain; a field so Read does not allocate.
	buf [8]byte
}

// open creates the close-on-exec, non-blocking eventfd and watches it for
// EPOLLIN on p.
func (s *wakeSignal) open(p *Poller) error {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return os.NewSyscallError("eventfd", err)
	}
	if err := p.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN); err != nil {
		unix.Close(fd)
		return err
	}
	s.fd = fd
	return nil
}

// drain resets the counter so the level-triggered EPOLLIN goes quiet. EAGAIN
// (nothing to read) is harmless: the signal was already consumed.
func (s *wakeSignal) drain() {
	for {
		if _, err := unix.Read(s.fd, s.buf[:]); err != unix.EINTR {
			return
		}
	}
}

// signal adds 1 to the counter. EAGAIN means the counter is saturated, so a
// wake-up is pending anyway.
func (s *wakeSignal) signal() error {
	for {
		_, err := unix.Write(s.fd, wakeOne[:])
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

// close releases the eventfd.
func (s *wakeSignal) close() error {
	return os.NewSyscallError("close", unix.Close(s.fd))
}
