//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package loop

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Datagrams on the BSDs and macOS: a recvmsg or sendmsg per datagram over
// the same batch of headers that Linux hands to recvmmsg and sendmmsg,
// with the convention of sys_bsd.go.

// mmsg is one message of a batch: its header and how many bytes it
// carried.
type mmsg struct {
	Hdr unix.Msghdr
	Len uint32
}

// recvBatch receives up to len(msgs) datagrams, one recvmsg each, until
// none is left.
func recvBatch(fd int, msgs []mmsg) (int, error) {
	for i := range msgs {
		m := &msgs[i]
		m.Hdr.Namelen = unix.SizeofSockaddrAny
		for {
			r, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.Hdr)), unix.MSG_DONTWAIT)
			if errno == unix.EINTR {
				continue
			}
			if errno == unix.EAGAIN || errno != 0 && i > 0 {
				return i, nil // an error after some datagrams is reported by the next call
			}
			if errno != 0 {
				return 0, os.NewSyscallError("recvmsg", errno)
			}
			m.Len = uint32(r)
			break
		}
	}
	return len(msgs), nil
}

// sendBatch sends msgs in order, one sendmsg each, and returns how many
// left: (0, nil) when the kernel had no room for the first, (0, err) when
// it refused the first.
func sendBatch(fd int, msgs []mmsg) (int, error) {
	for i := range msgs {
		for {
			_, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[i].Hdr)), unix.MSG_DONTWAIT)
			if errno == unix.EINTR {
				continue
			}
			if errno == 0 {
				break
			}
			if i > 0 {
				return i, nil
			}
			if errno == unix.EAGAIN || errno == unix.ENOBUFS {
				return 0, nil
			}
			return 0, os.NewSyscallError("sendmsg", errno)
		}
	}
	return len(msgs), nil
}
