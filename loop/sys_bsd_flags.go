//go:build dragonfly || freebsd

package loop

import (
	"os"

	"golang.org/x/sys/unix"
)

// acceptCloexec accepts non-blocking and close-on-exec in one call. An
// error other than EINTR or EAGAIN is an *os.SyscallError.
func acceptCloexec(lfd int) (int, unix.Sockaddr, error) {
	fd, sa, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	if err != nil && err != unix.EINTR && err != unix.EAGAIN {
		return -1, nil, os.NewSyscallError("accept4", err)
	}
	return fd, sa, err
}

// socketCloexec creates a socket non-blocking and close-on-exec in one
// call, so no fork in between can leak it.
func socketCloexec(family, sotype int) (int, error) {
	fd, err := unix.Socket(family, sotype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}
