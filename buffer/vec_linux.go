//go:build linux

package buffer

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Names of the calls behind vec's methods, for error messages.
const readvName, writevName = "readv", "writev"

// vec holds the iovec pair for readv/writev inside the Ring, so a call does
// not build (and possibly allocate) a fresh []Iovec as unix.Readv does.
type vec struct {
	iov [2]unix.Iovec
}

// readv fills a then b with one readv(2). The errno is returned bare.
func (v *vec) readv(fd int, a, b []byte) (int, error) {
	return v.call(unix.SYS_READV, fd, a, b)
}

// writev sends a then b with one writev(2). The errno is returned bare.
func (v *vec) writev(fd int, a, b []byte) (int, error) {
	return v.call(unix.SYS_WRITEV, fd, a, b)
}

// call needs a and b non-empty. It clears the iovecs afterwards so a released
// array is not kept alive by a stale pointer.
func (v *vec) call(trap uintptr, fd int, a, b []byte) (int, error) {
	v.iov[0].Base, v.iov[1].Base = &a[0], &b[0]
	v.iov[0].SetLen(len(a))
	v.iov[1].SetLen(len(b))
	n, _, errno := unix.Syscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&v.iov[0])), 2)
	v.iov = [2]unix.Iovec{}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
