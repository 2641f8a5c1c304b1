//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package loop

import "golang.org/x/sys/unix"

// maxBacklog is the kernel's listen backlog cap (kern.ipc.somaxconn).
func maxBacklog() int {
	if n, err := unix.SysctlUint32("kern.ipc.somaxconn"); err == nil && n > 0 {
		return int(n)
	}
	return 128
}
