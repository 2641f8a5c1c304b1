//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package loop

import "golang.org/x/sys/unix"

// The BSDs and macOS go through x/sys's ordinary calls (darwin allows no
// raw syscalls; its calls go through libc).

func sysRead(fd int, p []byte) (int, error) {
	n, err := unix.Read(fd, p)
	if err != nil {
		return 0, err
	}
	return n, nil
}

func sysWrite(fd int, p []byte) (int, error) {
	n, err := unix.Write(fd, p)
	if err != nil {
		return 0, err
	}
	return n, nil
}
