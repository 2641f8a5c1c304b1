//go:build darwin || netbsd || openbsd

package loop

import "golang.org/x/sys/unix"

// darwin has no SOCK_NONBLOCK, and x/sys offers no accept4 here: set the flags
// with a second call. A fork between the two may leak the descriptor into the
// child; the window is a few instructions wide.

func newSocket(family, sotype int) (int, error) {
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

func acceptConn(lfd int) (int, unix.Sockaddr, error) {
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
