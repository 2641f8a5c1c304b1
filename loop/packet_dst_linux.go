package loop

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The destination of a datagram received on a socket bound to a wildcard
// address: Linux reports it with IP_PKTINFO (IPv4, also to an IPv6 socket
// for IPv4 traffic) and IPV6_PKTINFO, as a control message that recvmmsg
// writes beside each datagram.

// controlSpace is each receive slot's room for control messages: one
// IPV6_PKTINFO (the larger) with its header, and some to spare.
const controlSpace = 64

// wantDestination asks the kernel to report each datagram's destination
// on fd, a socket of family bound to a wildcard address.
func wantDestination(fd, family int) error {
	if err := setOption(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1); err != nil && family == unix.AF_INET {
		return err
	}
	if family == unix.AF_INET6 {
		return setOption(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
	}
	return nil
}

// destinationOf reads the destination address from the control messages
// the kernel wrote for h, if it wrote one.
func destinationOf(h *unix.Msghdr) (netip.Addr, bool) {
	if h.Controllen < unix.SizeofCmsghdr || h.Control == nil {
		return netip.Addr{}, false
	}
	c := (*unix.Cmsghdr)(unsafe.Pointer(h.Control))
	data := unsafe.Add(unsafe.Pointer(h.Control), unix.CmsgLen(0))
	switch {
	case c.Level == unix.IPPROTO_IP && c.Type == unix.IP_PKTINFO && c.Len >= uint64(unix.CmsgLen(unix.SizeofInet4Pktinfo)):
		return netip.AddrFrom4((*unix.Inet4Pktinfo)(data).Addr), true
	case c.Level == unix.IPPROTO_IPV6 && c.Type == unix.IPV6_PKTINFO && c.Len >= uint64(unix.CmsgLen(unix.SizeofInet6Pktinfo)):
		return netip.AddrFrom16((*unix.Inet6Pktinfo)(data).Addr).Unmap(), true
	}
	return netip.Addr{}, false
}
