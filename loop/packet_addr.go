package loop

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PacketAddr is the peer of a datagram: an IP address and port (udp), or
// the path of a unixgram socket. It is a value, so handing one to OnPacket
// and back to WriteTo allocates nothing. The zero value is no address (an
// unbound unixgram sender, which cannot be answered).
type PacketAddr struct {
	ap    netip.AddrPort
	scope uint32 // an IPv6 link-local address's interface index, kept for the reply
	path  string
}

// UDPAddr returns the PacketAddr of an IP address and port. An IPv4-mapped
// IPv6 address means the IPv4 one; an IPv6 zone (an interface's name or
// index) picks the interface of a link-local address. Any goroutine.
func UDPAddr(ap netip.AddrPort) PacketAddr {
	a := PacketAddr{ap: netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())}
	if zone := ap.Addr().Zone(); zone != "" {
		if ifi, err := net.InterfaceByName(zone); err == nil {
			a.scope = uint32(ifi.Index)
		} else if i, err := strconv.ParseUint(zone, 10, 32); err == nil {
			a.scope = uint32(i)
		}
	}
	return a
}

// UnixgramAddr returns the PacketAddr of a unixgram socket's path (a
// leading '@' names the abstract namespace, as in package net). Any
// goroutine.
func UnixgramAddr(path string) PacketAddr { return PacketAddr{path: path} }

// AddrPort returns the IP address and port (IPv4 ones unmapped), or the
// zero AddrPort for a unixgram address. Any goroutine.
func (a PacketAddr) AddrPort() netip.AddrPort { return a.ap }

// Path returns a unixgram address's path, or "". Any goroutine.
func (a PacketAddr) Path() string { return a.path }

// IsValid reports whether a names a peer that can be written to. Any
// goroutine.
func (a PacketAddr) IsValid() bool { return a.ap.IsValid() || a.path != "" }

// String returns "ip:port", the path, or "" for the zero value. Any goroutine.
func (a PacketAddr) String() string {
	if a.ap.IsValid() {
		return a.ap.String()
	}
	return a.path
}

// Net returns the address in the net package's form (*net.UDPAddr or
// *net.UnixAddr), or nil for the zero value; it allocates. Any goroutine.
func (a PacketAddr) Net() net.Addr {
	switch {
	case a.ap.IsValid():
		return net.UDPAddrFromAddrPort(a.ap)
	case a.path != "":
		return &net.UnixAddr{Net: "unixgram", Name: a.path}
	}
	return nil
}

// netipAddrPort converts an inet sockAddr.
func netipAddrPort(s sockAddr) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(s.ip).Unmap(), s.port)
}

// packetAddrOf converts an address the kernel wrote (recvmmsg's names);
// last is the previous datagram's source, whose path string is reused when
// the bytes match, so a unixgram peer that keeps sending costs no
// allocation.
func packetAddrOf(rsa *unix.RawSockaddrAny, namelen uint32, last PacketAddr) PacketAddr {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return PacketAddr{ap: netip.AddrPortFrom(netip.AddrFrom4(a.Addr), ntohs(a.Port))}
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		ip := netip.AddrFrom16(a.Addr)
		if ip.Is4In6() {
			return PacketAddr{ap: netip.AddrPortFrom(ip.Unmap(), ntohs(a.Port))}
		}
		return PacketAddr{ap: netip.AddrPortFrom(ip, ntohs(a.Port)), scope: a.Scope_id}
	case unix.AF_UNIX:
		return PacketAddr{path: unixPath(rsa, namelen, last.path)}
	}
	return PacketAddr{}
}

// unixPath reads the path of a unix socket address of namelen bytes,
// returning last itself when it is the same path.
func unixPath(rsa *unix.RawSockaddrAny, namelen uint32, last string) string {
	a := (*unix.RawSockaddrUnix)(unsafe.Pointer(rsa))
	off := uint32(unsafe.Offsetof(a.Path))
	if namelen <= off {
		return "" // unnamed: an unbound sender
	}
	n := min(int(namelen-off), len(a.Path))
	b := unsafe.Slice((*byte)(unsafe.Pointer(&a.Path[0])), n)
	if b[0] != 0 { // a file path ends at its NUL; an abstract one starts with one
		for i, c := range b {
			if c == 0 {
				b = b[:i]
				break
			}
		}
	}
	if len(b) == len(last) && (len(b) == 0 || b[0] != 0 && string(b) == last || b[0] == 0 && last[0] == '@' && string(b[1:]) == last[1:]) {
		return last
	}
	if len(b) > 0 && b[0] == 0 {
		return "@" + string(b[1:])
	}
	return string(b)
}

// rawPacketAddr writes a in the kernel's form for a socket of family into
// rsa and returns its length, or 0 when a cannot be sent to from such a
// socket (an IPv6 peer of an IPv4 socket, a path from an inet one).
func rawPacketAddr(a PacketAddr, family int, rsa *unix.RawSockaddrAny) uint32 {
	switch {
	case family == unix.AF_UNIX:
		u := (*unix.RawSockaddrUnix)(unsafe.Pointer(rsa))
		if a.path == "" || len(a.path) > len(u.Path) {
			return 0
		}
		u.Family = unix.AF_UNIX
		for i := 0; i < len(a.path); i++ {
			u.Path[i] = int8(a.path[i])
		}
		n := len(a.path)
		if a.path[0] == '@' {
			u.Path[0] = 0 // abstract: no terminating NUL counted
		} else if n < len(u.Path) {
			u.Path[n] = 0
			n++
		}
		return uint32(unsafe.Offsetof(u.Path)) + uint32(n)
	case !a.ap.IsValid():
		return 0
	case family == unix.AF_INET:
		ip := a.ap.Addr()
		if !ip.Is4() {
			return 0
		}
		v4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		*v4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Port: htons(a.ap.Port()), Addr: ip.As4()}
		return unix.SizeofSockaddrInet4
	case family == unix.AF_INET6:
		v6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		*v6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Port: htons(a.ap.Port()), Addr: a.ap.Addr().As16(), Scope_id: a.scope}
		return unix.SizeofSockaddrInet6
	}
	return 0
}

// sysConnect connects datagram socket fd to the n-byte address rsa.
func sysConnect(fd int, rsa *unix.RawSockaddrAny, n uint32) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(rsa)), uintptr(n))
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return os.NewSyscallError("connect", errno)
	}
}

// ntohs converts a port from network byte order as the kernel stores it.
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// htons converts a port to network byte order as the kernel stores it.
func htons(p uint16) uint16 { return ntohs(p) }

// packetName returns the local address of datagram socket fd in the net
// package's form (*net.UDPAddr, *net.UnixAddr of "unixgram"), or nil.
func packetName(fd int) net.Addr {
	switch a := sockName(fd).(type) {
	case *net.TCPAddr:
		return &net.UDPAddr{IP: a.IP, Port: a.Port, Zone: a.Zone}
	case *net.UnixAddr:
		return &net.UnixAddr{Name: a.Name, Net: "unixgram"}
	}
	return nil
}
