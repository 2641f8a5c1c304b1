package loop

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// What Linux tells of a received datagram beside it, as control messages
// that recvmmsg writes into each slot's room: its destination on a socket
// bound to a wildcard address (IP_PKTINFO, for IPv4 also to an IPv6
// socket, and IPV6_PKTINFO), and the segment size of a coalesced buffer
// (UDP_GRO, packet_offload_linux.go).

// controlSpace is each receive slot's room for control messages: both
// PKTINFOs (an IPv6 socket gets both for IPv4 traffic) and UDP_GRO, with
// their headers, and some to spare.
const controlSpace = 128

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

// received is what the kernel told of one datagram.
type received struct {
	to      netip.Addr // its destination, if the kernel said
	segment int        // the segment size of a coalesced buffer, or 0
}

// controlOf reads the control messages the kernel wrote for h.
func controlOf(h *unix.Msghdr) received {
	var r received
	if h.Control == nil {
		return r
	}
	for off := uint64(0); off+unix.SizeofCmsghdr <= h.Controllen; {
		c := (*unix.Cmsghdr)(unsafe.Add(unsafe.Pointer(h.Control), off))
		if c.Len < unix.SizeofCmsghdr || off+c.Len > h.Controllen {
			break
		}
		data := unsafe.Add(unsafe.Pointer(c), unix.CmsgLen(0))
		switch {
		case c.Level == unix.IPPROTO_IP && c.Type == unix.IP_PKTINFO && c.Len >= uint64(unix.CmsgLen(unix.SizeofInet4Pktinfo)):
			r.to = netip.AddrFrom4((*unix.Inet4Pktinfo)(data).Addr)
		case c.Level == unix.IPPROTO_IPV6 && c.Type == unix.IPV6_PKTINFO && c.Len >= uint64(unix.CmsgLen(unix.SizeofInet6Pktinfo)):
			r.to = netip.AddrFrom16((*unix.Inet6Pktinfo)(data).Addr).Unmap()
		case c.Level == unix.SOL_UDP && c.Type == unix.UDP_GRO && c.Len >= uint64(unix.CmsgLen(4)):
			r.segment = int(*(*int32)(data))
		}
		off += uint64(unix.CmsgSpace(int(c.Len) - unix.CmsgLen(0)))
	}
	return r
}
