//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package loop

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The socket syscalls of the loop on the BSDs and macOS, with the
// convention of sys_linux.go: EINTR retried, EAGAIN as (0, nil), io.EOF at
// the peer's end of stream, other errors as *os.SyscallError. They go
// through x/sys's ordinary calls: darwin allows no raw syscalls (its calls
// go through libc), and x/sys has no readv/writev here that does not
// allocate. Making a descriptor non-blocking and close-on-exec is the one
// thing that differs among them: sys_bsd_flags.go (FreeBSD, DragonFly:
// accept4 and socket flags, one call) and sys_bsd_forklock.go (the rest:
// a second call under syscall.ForkLock).

// sysReadv reads into a, then into b only if a was filled, so that a short
// first read costs one call.
func sysReadv(fd int, a, b []byte) (int, error) { return twoCalls(readOnce, fd, a, b) }

// sysWritev writes a, then b only if a was taken whole.
func sysWritev(fd int, a, b []byte) (int, error) { return twoCalls(writeOnce, fd, a, b) }

// twoCalls stands in for a vector call with one call per slice. An error
// from the second call is dropped because bytes already moved; it recurs
// on the next call.
func twoCalls(once func(int, []byte) (int, error), fd int, a, b []byte) (int, error) {
	n, err := once(fd, a)
	if err != nil || n < len(a) || len(b) == 0 {
		return n, err
	}
	m, err := once(fd, b)
	if err != nil {
		return n, nil
	}
	return n + m, nil
}

func readOnce(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Read(fd, p)
		switch {
		case err == nil && n == 0:
			return 0, io.EOF
		case err == nil:
			return n, nil
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, nil
		}
		return 0, os.NewSyscallError("read", err)
	}
}

func writeOnce(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Write(fd, p)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, os.NewSyscallError("write", err)
	}
}

// sysAccept accepts one connection, non-blocking and close-on-exec
// (acceptCloexec), and returns its family and peer; fd is -1 with a nil
// error when none is pending.
func sysAccept(lfd int) (fd, family int, peer sockAddr, err error) {
	for {
		fd, sa, err := acceptCloexec(lfd)
		switch err {
		case nil:
			return fd, socketFamily(sa), sockAddrOf(sa), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return -1, 0, sockAddr{}, nil
		}
		return -1, 0, sockAddr{}, err
	}
}

// sysSocket creates a socket, non-blocking and close-on-exec
// (socketCloexec).
func sysSocket(family, sotype int) (int, error) {
	return socketCloexec(family, sotype)
}

// socketFamily reports the address family of an accepted socket.
func socketFamily(sa unix.Sockaddr) int {
	switch sa.(type) {
	case *unix.SockaddrInet4:
		return unix.AF_INET
	case *unix.SockaddrInet6:
		return unix.AF_INET6
	}
	return unix.AF_UNIX
}

// acceptedInheritNoDelay is false: accept sets TCP_NODELAY on each
// connection (sys_linux.go has why Linux need not).
const acceptedInheritNoDelay = false

// threadID is 0: no backend here owns its loop's thread (onLoopThread).
func threadID() int { return 0 }

// maxBacklog is the kernel's listen backlog cap (kern.ipc.somaxconn).
func maxBacklog() int {
	if n, err := unix.SysctlUint32("kern.ipc.somaxconn"); err == nil && n > 0 {
		return int(n)
	}
	return 128
}

// The readiness poller of this OS, whether the io_uring backend is built
// here (never: it is Linux's), and what "auto" picks.
const (
	readinessName   = BackendKqueue
	completionBuilt = false
	autoBackend     = BackendKqueue
)

func newCompletion(*atomic.Int64) (backend, error) {
	return nil, fmt.Errorf("%w: io_uring is Linux's", ErrBackendUnavailable)
}

const ioUringHeld = 0
