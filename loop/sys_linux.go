package loop

import (
	"io"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The socket syscalls of the loop on Linux; sys_bsd.go has the same
// functions for the BSDs and macOS. Nothing else in the package reads,
// writes or accepts. Every function here follows one convention:
//
//   - EINTR is retried;
//   - EAGAIN, which a non-blocking socket returns when it has nothing to
//     give or no room, is (0, nil): nothing now, wait for readiness;
//   - a read that finds the peer's end of stream returns io.EOF;
//   - any other error is an *os.SyscallError naming the call, so that
//     errors.Is works on the errno.
//
// The loop's sockets are non-blocking, so these calls never wait in the
// kernel: a raw syscall skips the scheduler's entersyscall/exitsyscall
// bookkeeping that only a blocking call needs. The iovecs stay on the
// stack (converted to a uintptr in the argument list they do not escape).

// sysReadv reads into a, then b, with one read(2), or one readv(2) when b
// is not empty.
func sysReadv(fd int, a, b []byte) (int, error) {
	if len(a) == 0 {
		return 0, nil
	}
	for {
		r, errno := rawIO(unix.SYS_READ, unix.SYS_READV, fd, a, b)
		switch {
		case errno == 0 && r == 0:
			return 0, io.EOF
		case errno == 0:
			return int(r), nil
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN:
			return 0, nil
		}
		return 0, os.NewSyscallError(callName(unix.SYS_READ, len(b)), errno)
	}
}

// sysWritev writes a, then b, with one write(2), or one writev(2) when
// both hold bytes. Either may be empty; with both empty it makes no call.
func sysWritev(fd int, a, b []byte) (int, error) {
	if len(a) == 0 {
		a, b = b, nil
	}
	if len(a) == 0 {
		return 0, nil
	}
	for {
		r, errno := rawIO(unix.SYS_WRITE, unix.SYS_WRITEV, fd, a, b)
		switch errno {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, os.NewSyscallError(callName(unix.SYS_WRITE, len(b)), errno)
	}
}

// rawIO makes the call one over a (a not empty) or, when b is not empty,
// the vector call vec over a and b.
func rawIO(one, vec uintptr, fd int, a, b []byte) (uintptr, unix.Errno) {
	if len(b) == 0 {
		r, _, errno := unix.RawSyscall(one, uintptr(fd), uintptr(unsafe.Pointer(&a[0])), uintptr(len(a)))
		return r, errno
	}
	iov := iovecs(a, b)
	r, _, errno := unix.RawSyscall(vec, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2)
	return r, errno
}

// iovecs describes a and b, both non-empty, for readv or writev.
func iovecs(a, b []byte) (iov [2]unix.Iovec) {
	iov[0].Base, iov[1].Base = &a[0], &b[0]
	iov[0].SetLen(len(a))
	iov[1].SetLen(len(b))
	return iov
}

// callName names the call behind an error: the vector form when a second
// slice was given.
func callName(trap uintptr, second int) string {
	switch {
	case trap == unix.SYS_READ && second > 0:
		return "readv"
	case trap == unix.SYS_READ:
		return "read"
	case second > 0:
		return "writev"
	}
	return "write"
}

// sysAccept accepts one connection, non-blocking and close-on-exec in one
// call (accept4), and returns its family and peer; fd is -1 with a nil
// error when none is pending.
func sysAccept(lfd int) (fd, family int, peer sockAddr, err error) {
	for {
		var rsa unix.RawSockaddrAny
		size := uint32(unsafe.Sizeof(rsa))
		r, _, errno := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)),
			uintptr(unsafe.Pointer(&size)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return -1, 0, sockAddr{}, nil
		default:
			return -1, 0, sockAddr{}, os.NewSyscallError("accept4", errno)
		}
		family, peer = rawSockAddr(&rsa)
		return int(r), family, peer, nil
	}
}

// sysPeer returns the family and peer of a connected socket (getpeername),
// for connections accepted without their address (io_uring).
func sysPeer(fd int) (family int, peer sockAddr, err error) {
	var rsa unix.RawSockaddrAny
	size := uint32(unsafe.Sizeof(rsa))
	_, _, errno := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&size)))
	if errno != 0 {
		return 0, sockAddr{}, os.NewSyscallError("getpeername", errno)
	}
	family, peer = rawSockAddr(&rsa)
	return family, peer, nil
}

// rawSockAddr reads the family and address the kernel wrote to rsa.
func rawSockAddr(rsa *unix.RawSockaddrAny) (family int, peer sockAddr) {
	family = int(rsa.Addr.Family)
	switch family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		peer.ip[10], peer.ip[11] = 0xff, 0xff
		copy(peer.ip[12:], a.Addr[:])
		peer.port = ntohs(a.Port)
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		peer = sockAddr{ip: a.Addr, port: ntohs(a.Port), v6: true}
	}
	return family, peer
}

// acceptedInheritNoDelay: Linux copies a listening socket's TCP_NODELAY to
// the sockets it accepts, so Serve sets it once on the listener and accept
// makes no setsockopt per connection (TestAcceptedNoDelay).
const acceptedInheritNoDelay = true

// threadID is the calling OS thread's id (onLoopThread).
func threadID() int { return unix.Gettid() }

// sysSocket creates a socket non-blocking and close-on-exec in one call, so
// no fork between two calls can leak the descriptor.
func sysSocket(family, sotype int) (int, error) {
	fd, err := unix.Socket(family, sotype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// maxBacklog is the kernel's listen backlog cap (net.core.somaxconn).
func maxBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 4096
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 4096
	}
	return n
}

// The readiness poller of this OS, whether the io_uring backend is built
// here, and what "auto" picks: io_uring, which the floor measured at a
// tenth of epoll's syscalls per message or fewer and 0.7-0.9x its CPU
// (docs/backends.md); epoll where the kernel refuses it.
const (
	readinessName   = BackendEpoll
	completionBuilt = true
	autoBackend     = BackendIOUring
)
