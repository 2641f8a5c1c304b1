//go:build linux

package buffer

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Names of the calls behind vec's methods, for error messages.
const readvName, writevName = "readv", "writev"

// vec does readv/writev with an iovec pair on the stack: converted to a
// uintptr in the syscall's argument list it does not escape, so a call
// neither allocates nor makes every Ring carry the pair.
type vec struct{}

// readv fills a then b with one readv(2). The errno is returned bare.
func (vec) readv(fd int, a, b []byte) (int, error) {
	return vecCall(unix.SYS_READV, fd, a, b)
}

// writev sends a then b with one writev(2). The errno is returned bare.
func (vec) writev(fd int, a, b []byte) (int, error) {
	return vecCall(unix.SYS_WRITEV, fd, a, b)
}

// vecCall needs a and b non-empty.
func vecCall(trap uintptr, fd int, a, b []byte) (int, error) {
	var iov [2]unix.Iovec
	iov[0].Base, iov[1].Base = &a[0], &b[0]
	iov[0].SetLen(len(a))
	iov[1].SetLen(len(b))
	n, _, errno := unix.Syscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
