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

// sysWritev2 writes a, then b if a went whole (not every BSD has writev
// in x/sys); the caller keeps what was not written either way.
func sysWritev2(fd int, a, b []byte) (int, error) {
	n, err := sysWrite(fd, a)
	if err != nil || n < len(a) {
		return n, err
	}
	m, err := sysWrite(fd, b)
	if err != nil {
		return n, nil // a was written; b's error shows on the next write
	}
	return n + m, nil
}
