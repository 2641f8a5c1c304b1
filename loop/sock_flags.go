//go:build linux || freebsd || dragonfly

package loop

import "golang.org/x/sys/unix"

// These systems create sockets non-blocking and close-on-exec in one
// syscall, so no fork between two calls can leak a descriptor.

func newSocket(family, sotype int) (int, error) {
	return unix.Socket(family, sotype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}
