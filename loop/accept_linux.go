package loop

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// acceptConn accepts one connection, non-blocking and close-on-exec, and
// returns its family and peer. The peer's address is read from a buffer on
// the stack: unlike unix.Accept4 this allocates nothing, which matters for
// connection churn. The listener is non-blocking, so a raw syscall is safe.
func acceptConn(lfd int) (fd, family int, peer sockAddr, err error) {
	var rsa unix.RawSockaddrAny
	size := uint32(unsafe.Sizeof(rsa))
	r, _, errno := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)),
		uintptr(unsafe.Pointer(&size)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, 0, sockAddr{}, errno
	}
	fd, family = int(r), int(rsa.Addr.Family)
	switch family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		peer.ip[10], peer.ip[11] = 0xff, 0xff
		copy(peer.ip[12:], a.Addr[:])
		peer.port = ntohs(a.Port)
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		peer = sockAddr{ip: a.Addr, port: ntohs(a.Port), v6: true}
	}
	return fd, family, peer, nil
}

// ntohs converts a port from network byte order as the kernel stores it.
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}
