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
			if errno == unix.EAGAIN {
				return i, nil
			}
			if errno != 0 {
				// With the datagrams before it: the BSDs clear a socket's
				// error as they return it, so the next call would not.
				return i, os.NewSyscallError("recvmsg", errno)
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
			r, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[i].Hdr)), unix.MSG_DONTWAIT)
			if errno == unix.EINTR {
				continue
			}
			if errno == 0 {
				msgs[i].Len = uint32(r) // as sendmmsg sets it
				break
			}
			if i > 0 {
				return i, nil
			}
			if errno == unix.EAGAIN { // ENOBUFS (an interface queue full) is a refusal: the socket stays writable, and waiting for room would spin
				return 0, nil
			}
			return 0, os.NewSyscallError("sendmsg", errno)
		}
	}
	return len(msgs), nil
}

// namedOnConnected: the BSDs refuse an address on a connected socket
// (EISCONN), so a datagram for its peer goes without one.
const namedOnConnected = false
