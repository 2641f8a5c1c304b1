//go:build darwin || netbsd || openbsd

package loop

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// These systems (in x/sys) have no accept4, and darwin no SOCK_NONBLOCK: the
// flags take a second call, made under the read side of syscall.ForkLock
// (the lock os/exec takes to fork) as package net does, so that no child
// inherits the descriptor in between.

// acceptCloexec accepts one connection and makes it non-blocking and
// close-on-exec. An error other than EINTR or EAGAIN is an
// *os.SyscallError.
func acceptCloexec(lfd int) (int, unix.Sockaddr, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, sa, err := unix.Accept(lfd)
	if err == unix.EINTR || err == unix.EAGAIN {
		return -1, nil, err
	}
	if err != nil {
		return -1, nil, os.NewSyscallError("accept", err)
	}
	if err := setNonblockCloexec(fd); err != nil {
		unix.Close(fd)
		return -1, nil, os.NewSyscallError("fcntl", err)
	}
	return fd, sa, nil
}

// socketCloexec creates a socket and makes it non-blocking and
// close-on-exec, under syscall.ForkLock as acceptCloexec.
func socketCloexec(family, sotype int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(family, sotype, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := setNonblockCloexec(fd); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

func setNonblockCloexec(fd int) error {
	unix.CloseOnExec(fd)
	return unix.SetNonblock(fd, true)
}
