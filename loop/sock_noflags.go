//go:build darwin || netbsd || openbsd

package loop

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// darwin has no SOCK_NONBLOCK, and x/sys offers no accept4 here: set the flags
// with a second call, under the read side of syscall.ForkLock (the lock
// os/exec takes to fork) as package net does, so no child inherits the
// descriptor in between.

func newSocket(family, sotype int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(family, sotype, 0)
	if err != nil {
		return -1, err
	}
	if err := setup(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func acceptSockaddr(lfd int) (int, unix.Sockaddr, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, sa, err := unix.Accept(lfd)
	if err != nil {
		return -1, nil, err
	}
	if err := setup(fd); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, sa, nil
}

func setup(fd int) error {
	unix.CloseOnExec(fd)
	return unix.SetNonblock(fd, true)
}
