package loop

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// The socket helpers of the package, which know nothing of the loop:
// resolving and converting addresses, creating and binding sockets,
// options. The loop calls them; they never call back. The calls that move
// bytes or accept are in sys_linux.go and sys_bsd.go.

// endpoint is a resolved address in the form the socket calls need.
type endpoint struct {
	family int
	sa     unix.Sockaddr
	v6only bool // only for AF_INET6: tcp6, and IPv6 literals other than "[::]" on tcp
	path   string
}

// resolve turns network and address into an endpoint. Host names are looked up
// with the net package's resolver on the calling goroutine.
func resolve(network, address string) (endpoint, error) {
	switch network {
	case "unix":
		if len(address) > 107 {
			return endpoint{}, fmt.Errorf("loop: unix socket path too long: %q", address)
		}
		return endpoint{family: unix.AF_UNIX, sa: &unix.SockaddrUnix{Name: address}, path: address}, nil
	case "tcp", "tcp4", "tcp6":
	default:
		return endpoint{}, net.UnknownNetworkError(network)
	}
	ta, err := net.ResolveTCPAddr(network, address)
	if err != nil {
		return endpoint{}, err
	}
	ip, zone := ta.IP, ta.Zone
	switch {
	case ip == nil && network == "tcp4":
		return endpoint{family: unix.AF_INET, sa: &unix.SockaddrInet4{Port: ta.Port}}, nil
	case ip == nil:
		// Like net.Listen("tcp", ":port"): a dual-stack socket when IPv6 exists.
		if ipv6Supported() {
			return endpoint{family: unix.AF_INET6, sa: &unix.SockaddrInet6{Port: ta.Port}, v6only: network == "tcp6"}, nil
		}
		return endpoint{family: unix.AF_INET, sa: &unix.SockaddrInet4{Port: ta.Port}}, nil
	}
	if ip4 := ip.To4(); ip4 != nil && network != "tcp6" {
		sa := &unix.SockaddrInet4{Port: ta.Port}
		copy(sa.Addr[:], ip4)
		return endpoint{family: unix.AF_INET, sa: sa}, nil
	}
	sa := &unix.SockaddrInet6{Port: ta.Port}
	copy(sa.Addr[:], ip.To16())
	if zone != "" {
		if ifi, err := net.InterfaceByName(zone); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	// "[::]:port" on "tcp" (or "udp") is dual-stack, as net.Listen makes it;
	// "tcp6" and every other IPv6 address take IPv6 only.
	v6only := !(ip.IsUnspecified() && network == "tcp")
	return endpoint{family: unix.AF_INET6, sa: sa, v6only: v6only}, nil
}

// resolvePacket turns a datagram network (udp, udp4, udp6, unixgram) and
// address into an endpoint, as resolve does for streams.
func resolvePacket(network, address string) (endpoint, error) {
	switch network {
	case "unixgram":
		return resolve("unix", address)
	case "udp", "udp4", "udp6":
		return resolve("tcp"+network[3:], address)
	}
	return endpoint{}, net.UnknownNetworkError(network)
}

// ipv6Supported reports whether an AF_INET6 socket can be created here.
func ipv6Supported() bool {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// toAddr converts a kernel socket address to the net package's form.
func toAddr(sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr)
		zone := ""
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				zone = ifi.Name
			}
		}
		return &net.TCPAddr{IP: ip.AsSlice(), Port: a.Port, Zone: zone}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}

// sockName returns the local address of fd, or nil.
func sockName(fd int) net.Addr {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil
	}
	return toAddr(sa)
}

// setNoDelay turns Nagle's algorithm off (on) for TCP sockets; other kinds ignore it.
func setNoDelay(fd int, family int, on bool) error {
	if family == unix.AF_UNIX {
		return nil
	}
	v := 0
	if on {
		v = 1
	}
	return setOption(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, v)
}

// setOption sets an integer socket option (SOL_SOCKET, IPPROTO_TCP, ...).
func setOption(fd, level, option, value int) error {
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, level, option, value))
}

// setReuse sets SO_REUSEADDR or SO_REUSEPORT (option) on or off.
func setReuse(fd, option int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return setOption(fd, unix.SOL_SOCKET, option, v)
}

// bindTo binds fd to sa.
func bindTo(fd int, sa unix.Sockaddr) error {
	return os.NewSyscallError("bind", unix.Bind(fd, sa))
}

// listenOn makes a bound stream socket accept, with the given backlog.
func listenOn(fd, backlog int) error {
	return os.NewSyscallError("listen", unix.Listen(fd, backlog))
}

// connectTo starts connecting the non-blocking socket fd to sa: done is
// true when it connected at once (as unix sockets usually do), false when
// the connect is in progress and writability will report its end
// (connectResult).
func connectTo(fd int, sa unix.Sockaddr) (done bool, err error) {
	switch err := unix.Connect(fd, sa); err {
	case nil:
		return true, nil
	case unix.EINPROGRESS, unix.EINTR:
		return false, nil
	default:
		return false, os.NewSyscallError("connect", err)
	}
}

// connectResult reports how a connect in progress ended (SO_ERROR).
func connectResult(fd int) error { return pendingError(fd, "connect") }

// pendingError takes fd's pending error (SO_ERROR, which reading clears)
// as an *os.SyscallError named call, or nil when there is none.
func pendingError(fd int, call string) error {
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soerr != 0 {
		err = unix.Errno(soerr)
	}
	return os.NewSyscallError(call, err)
}

// shutdownWrite sends a FIN after the output already with the kernel.
func shutdownWrite(fd int) error {
	return os.NewSyscallError("shutdown", unix.Shutdown(fd, unix.SHUT_WR))
}

// sockAddr is a TCP endpoint kept inline in a Conn, so that a connection's
// addresses cost no allocation (an idle connection's memory is the point).
type sockAddr struct {
	ip   [16]byte
	port uint16
	v6   bool
}

// sockAddrOf converts a kernel socket address; a unix one gives the zero value.
func sockAddrOf(sa unix.Sockaddr) sockAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		var s sockAddr
		copy(s.ip[:], net.IP(a.Addr[:]).To16())
		s.port = uint16(a.Port)
		return s
	case *unix.SockaddrInet6:
		return sockAddr{ip: a.Addr, port: uint16(a.Port), v6: true}
	}
	return sockAddr{}
}

// tcp returns the address in the net package's form.
func (a sockAddr) tcp() *net.TCPAddr {
	ip := netip.AddrFrom16(a.ip)
	if !a.v6 {
		ip = ip.Unmap()
	}
	return &net.TCPAddr{IP: ip.AsSlice(), Port: int(a.port)}
}

// isUnspecified reports whether a is a wildcard address (0.0.0.0 or ::).
func (a sockAddr) isUnspecified() bool {
	return netip.AddrFrom16(a.ip).Unmap().IsUnspecified()
}

// bindSocket creates a stream socket for ep and binds it, with
// SO_REUSEADDR for TCP.
func bindSocket(ep endpoint, reusePort bool) (int, error) {
	return bindWith(ep, ep.family != unix.AF_UNIX, reusePort && ep.family != unix.AF_UNIX)
}

// bindWith creates a stream socket for ep with the given reuse options and
// binds it.
func bindWith(ep endpoint, reuseAddr, reusePort bool) (int, error) {
	return bindType(ep, unix.SOCK_STREAM, reuseAddr, reusePort)
}

// bindDatagram creates a datagram socket for ep and binds it, with
// SO_REUSEPORT if reusePort (never SO_REUSEADDR, which would let any
// socket with it share a UDP port).
func bindDatagram(ep endpoint, reusePort bool) (int, error) {
	return bindType(ep, unix.SOCK_DGRAM, false, reusePort && ep.family != unix.AF_UNIX)
}

// bindType creates a socket of sotype for ep with the given reuse options
// and binds it.
func bindType(ep endpoint, sotype int, reuseAddr, reusePort bool) (int, error) {
	fd, err := sysSocket(ep.family, sotype)
	if err != nil {
		return -1, err
	}
	fail := func(err error) (int, error) {
		unix.Close(fd)
		return -1, err
	}
	if reuseAddr {
		if err := setReuse(fd, unix.SO_REUSEADDR, true); err != nil {
			return fail(err)
		}
	}
	if reusePort {
		if err := setReuse(fd, unix.SO_REUSEPORT, true); err != nil {
			return fail(err)
		}
	}
	if ep.family == unix.AF_INET6 {
		v := 0
		if ep.v6only {
			v = 1
		}
		if err := setOption(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v); err != nil {
			return fail(err)
		}
	}
	if err := bindTo(fd, ep.sa); err != nil {
		return fail(err)
	}
	return fd, nil
}

// sockaddrOf returns the local address of fd in the kernel's form, or nil.
func sockaddrOf(fd int) unix.Sockaddr {
	sa, _ := unix.Getsockname(fd)
	return sa
}

// portOf returns the port of an inet address; 0 for others.
func portOf(sa unix.Sockaddr) int {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port
	case *unix.SockaddrInet6:
		return a.Port
	}
	return 0
}

// setPort sets the port of an inet address; others are left alone.
func setPort(sa unix.Sockaddr, port int) {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		a.Port = port
	case *unix.SockaddrInet6:
		a.Port = port
	}
}
