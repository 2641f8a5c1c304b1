//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package buffer

import "golang.org/x/sys/unix"

// Names of the calls behind vec's methods, for error messages.
const readvName, writevName = "read", "write"

// vec stands in for readv/writev with two plain calls, which exist
// everywhere x/sys does (unix.Readv does not on the BSDs and allocates).
type vec struct{}

// readv fills a, then b only if a was filled, so a short first read costs
// one call. An error from the second read is dropped because bytes were
// already read; it recurs on the next call.
func (*vec) readv(fd int, a, b []byte) (int, error) {
	n, err := unix.Read(fd, a)
	if err != nil || n < len(a) {
		return max(n, 0), err
	}
	m, err := unix.Read(fd, b)
	if err != nil || m < 0 {
		return n, nil
	}
	return n + m, nil
}

// writev sends a, then b only if a was taken whole. As in readv, an error
// from the second call is dropped in favour of the bytes already written.
func (*vec) writev(fd int, a, b []byte) (int, error) {
	n, err := unix.Write(fd, a)
	if err != nil || n < len(a) {
		return max(n, 0), err
	}
	m, err := unix.Write(fd, b)
	if err != nil || m < 0 {
		return n, nil
	}
	return n + m, nil
}
