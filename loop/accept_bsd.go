//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package loop

import "golang.org/x/sys/unix"

// acceptConn accepts one connection, non-blocking and close-on-exec, and
// returns its family and peer.
func acceptConn(lfd int) (fd, family int, peer sockAddr, err error) {
	fd, sa, err := acceptSockaddr(lfd)
	if err != nil {
		return -1, 0, sockAddr{}, err
	}
	return fd, socketFamily(sa), sockAddrOf(sa), nil
}

// socketFamily reports the address family of a socket.
func socketFamily(sa unix.Sockaddr) int {
	switch sa.(type) {
	case *unix.SockaddrInet4:
		return unix.AF_INET
	case *unix.SockaddrInet6:
		return unix.AF_INET6
	}
	return unix.AF_UNIX
}
