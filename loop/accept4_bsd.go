//go:build dragonfly || freebsd

package loop

import "golang.org/x/sys/unix"

// acceptSockaddr accepts non-blocking and close-on-exec in one syscall.
func acceptSockaddr(lfd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}
