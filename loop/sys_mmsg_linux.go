package loop

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Datagrams in batches on Linux: recvmmsg and sendmmsg, with the
// convention of sys_linux.go (EAGAIN is (0, nil); other errors are
// *os.SyscallError).

// mmsg is one message of a batch: its header and, after the call, how many
// bytes it carried.
type mmsg = unix.Mmsghdr

// recvFlags asks for the real length of a datagram longer than its slot
// (Linux reports it in the message's length, and MSG_TRUNC in its flags).
const recvFlags = unix.MSG_DONTWAIT | unix.MSG_TRUNC

// recvBatch receives up to len(msgs) datagrams with one recvmmsg.
func recvBatch(fd int, msgs []mmsg) (int, error) {
	for i := range msgs {
		msgs[i].Hdr.Namelen = unix.SizeofSockaddrAny
		msgs[i].Hdr.Controllen = controlSpace
	}
	return mmsgCall(unix.SYS_RECVMMSG, "recvmmsg", fd, msgs, recvFlags)
}

// sendBatch sends msgs in order with one sendmmsg and returns how many
// left: (0, nil) when the kernel had no room for the first, (0, err) when
// it refused the first (the caller skips it and goes on).
func sendBatch(fd int, msgs []mmsg) (int, error) {
	return mmsgCall(unix.SYS_SENDMMSG, "sendmmsg", fd, msgs, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
}

// mmsgCall makes recvmmsg or sendmmsg (trap, called name) over msgs.
func mmsgCall(trap uintptr, name string, fd int, msgs []mmsg, flags uintptr) (int, error) {
	for {
		r, _, errno := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), flags, 0, 0)
		switch errno {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, os.NewSyscallError(name, errno)
	}
}

// namedOnConnected: Linux takes a destination address on a connected
// socket (and sends there), so every datagram is addressed when written.
const namedOnConnected = true
