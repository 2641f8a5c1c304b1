package serversocket

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/airsock/airsock/loop"
)

// DatagramSocket is AIR's flash.net.DatagramSocket: one UDP socket that
// sends datagrams (Send) and, once Receive was called, dispatches a
// DatagramSocketDataEvent (type Data) for each datagram it receives.
//
// Events, each on the socket's loop goroutine, in order: Data for each
// datagram received after Receive; IOErrorType (IOErrorEvent, #2031) for
// what the socket reports without closing: a datagram the kernel refused
// to send, the ICMP unreachable a connected socket hears (ECONNREFUSED),
// datagrams dropped because the socket's send queue was full, a datagram
// longer than the engine reads (see Data's truncation note); Close when the
// system closes the socket (the engine shutting down), never after Close.
// An IOErrorType event nobody listens for goes to the uncaught-error
// handler (SetUncaughtErrorHandler).
//
// Goroutines: every method is safe from any goroutine, listeners included.
// Send only queues: a datagram Sent during a dispatch of this socket leaves
// when the dispatch ends, with the loop's other replies of the batch (one
// sendmmsg per socket on Linux); one Sent elsewhere leaves on the loop's
// next turn. Datagrams keep the order of the Sends of one goroutine.
//
// A DatagramSocket is one kernel socket on one loop, whatever the engine's
// number of loops, so that its events come in order on one goroutine, as
// AIR's do (see Bind). A DatagramSocket is used through its pointer and
// must not be copied.
type DatagramSocket struct {
	EventDispatcher
	engine *loop.Engine

	pc         atomic.Pointer[loop.PacketConn] // the socket; nil before it is bound and after it closed
	receiving  atomic.Bool                     // Receive was called
	inDispatch atomic.Bool                     // a dispatch of this socket is running: its end sends what Send queued

	mu        sync.Mutex
	closed    bool
	connected bool
	local     netip.AddrPort // the bound address (the port the system chose for port 0)
	remote    netip.AddrPort // the connected peer
	out       []byte         // payloads Sent during a dispatch, one after another
	outMsgs   []outDatagram  // where each of them ends in out, and its destination

	// The loop goroutine's: the reused data event and payload, and the
	// socket's address as the event reports it.
	dataEvent   DatagramSocketDataEvent
	data        DatagramData
	dstAddress  string
	dstPort     int
	lastSrc     netip.Addr // the previous datagram's source IP, whose text is reused
	lastSrcText string
	lastDst     netip.Addr // the same for its destination (Datagram.To)
	lastDstText string
}

// outDatagram is one datagram Sent during a dispatch: it ends at end in the
// socket's out buffer and goes to to.
type outDatagram struct {
	end int
	to  loop.PacketAddr
}

// errSocketClosed is the cause of the IOErrors of a closed DatagramSocket.
var errSocketClosed = errors.New("socket closed")

// NewDatagramSocket returns an unbound DatagramSocket on the default engine
// (DefaultEngine). Callable on any goroutine.
func NewDatagramSocket() (*DatagramSocket, error) {
	e, err := DefaultEngine()
	if err != nil {
		return nil, err
	}
	return NewDatagramSocketOn(e), nil
}

// NewDatagramSocketOn returns an unbound DatagramSocket whose socket will
// live on e. Callable on any goroutine.
func NewDatagramSocketOn(e *loop.Engine) *DatagramSocket {
	s := &DatagramSocket{engine: e}
	s.EventDispatcher.target = s
	s.dataEvent.Init(Data, false, false)
	s.data.src = &s.data.in
	s.dataEvent.Data = &s.data
	return s
}

// IsSupported reports whether DatagramSocket works on this platform: true
// wherever the package builds. It is AIR's static DatagramSocket.isSupported
// (the package-level IsSupported is ServerSocket's); any receiver, nil
// included, answers. Callable on any goroutine.
func (*DatagramSocket) IsSupported() bool { return true }

// Bind binds the socket to port on the local IP address (AIR's defaults are
// port 0, any free port, and "0.0.0.0", every IPv4 interface; "" means
// "0.0.0.0" here too; "::" is every IPv6 interface, and an IPv6 socket
// sends to IPv6 addresses only). The address must be an IP literal: no name
// is looked up. It is synchronous: the socket is bound when Bind returns.
// Errors: RangeError #2006 if port is outside 0..65535, ArgumentError #2004
// for a malformed address, IOError #2002 if the port is in use (EADDRINUSE),
// privileged, not a local address, or the socket is already bound (by Bind,
// Connect or Send) or closed. Callable on any goroutine.
//
// The socket is one kernel socket on one loop of the engine, without
// SO_REUSEPORT (loop.PacketOptions.Single), so that its data events run in
// order on one loop goroutine, as AIR's do, and no other socket can join
// its port. Until Receive it does not read: datagrams wait in the kernel's
// buffer, as in AIR.
func (s *DatagramSocket) Bind(port int, address string) error {
	if port < 0 || port > 65535 {
		return errOutOfBounds()
	}
	ip, err := parseLocalIP(address)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.pc.Load() != nil {
		return errInvalidSocket(errors.New("socket already bound or closed"))
	}
	return s.bindLocked(netip.AddrPortFrom(ip, uint16(port)))
}

// parseLocalIP parses a local address as Bind takes it: an IP literal, ""
// meaning "0.0.0.0"; an IPv4-mapped IPv6 address means the IPv4 one.
// Anything else is an ArgumentError #2004.
func parseLocalIP(address string) (netip.Addr, error) {
	if address == "" {
		return netip.IPv4Unspecified(), nil
	}
	ip, err := netip.ParseAddr(address)
	if err != nil {
		return netip.Addr{}, errInvalidParameter(err)
	}
	return ip.Unmap(), nil
}

// udpNetwork is the loop's network for sockets of ip's family.
func udpNetwork(ip netip.Addr) string {
	if ip.Is4() {
		return "udp4"
	}
	return "udp6"
}

// bindLocked binds the socket to local; s.mu is held.
func (s *DatagramSocket) bindLocked(local netip.AddrPort) error {
	pl, err := s.engine.ListenPacketWith(udpNetwork(local.Addr()), local.String(), (*datagramHandler)(s),
		loop.PacketOptions{Single: true, Paused: true})
	if err != nil {
		return errInvalidSocket(err)
	}
	s.attachLocked(pl.Conns()[0])
	return nil
}

// attachLocked makes pc the socket's; s.mu is held. The addresses the data
// events report are set before pc is published, so the loop that loads pc
// sees them.
func (s *DatagramSocket) attachLocked(pc *loop.PacketConn) {
	if a, ok := pc.LocalAddr().(*net.UDPAddr); ok {
		ap := a.AddrPort()
		s.local = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	s.dstAddress = ipString(s.local)
	s.dstPort = int(s.local.Port())
	s.pc.Store(pc)
}

// Connect connects the socket to remoteAddress (an IP literal) and
// remotePort: from then on only that peer's datagrams are dispatched, and
// Send sends there (with no address or port of its own). An unbound socket
// is bound first, as AIR does, to the local address the system picks for
// the route to the peer and a free port. It is synchronous: UDP has no
// handshake. Errors: RangeError #2006 if remotePort is outside 1..65535,
// ArgumentError #2004 if remoteAddress is malformed or unspecified
// ("0.0.0.0", "::"), IOError #2002 if the socket is closed or already
// connected, or its bound address is of the other IP family. Callable on
// any goroutine.
//
// The socket is connected in the kernel (connect(2): loop.DialPacket for
// an unbound socket, loop.PacketConn.Connect for a bound one), so the
// kernel filters what it receives, and an ICMP unreachable from the peer
// (ECONNREFUSED) comes as an IOErrorType event.
func (s *DatagramSocket) Connect(remoteAddress string, remotePort int) error {
	if remotePort < 1 || remotePort > 65535 {
		return errOutOfBounds()
	}
	ip, err := netip.ParseAddr(remoteAddress)
	if err != nil {
		return errInvalidParameter(err)
	}
	ip = ip.Unmap()
	if ip.IsUnspecified() {
		return errInvalidParameter(errors.New("cannot connect to the unspecified address " + remoteAddress))
	}
	peer := netip.AddrPortFrom(ip, uint16(remotePort))
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errInvalidSocket(errSocketClosed)
	case s.connected:
		return errInvalidSocket(errors.New("socket already connected"))
	}
	if pc := s.pc.Load(); pc != nil {
		if err := s.sameFamilyLocked(ip); err != nil {
			return err
		}
		if err := pc.Connect(loop.UDPAddr(peer)); err != nil {
			return errInvalidSocket(err)
		}
	} else {
		pc, err := s.engine.DialPacket(udpNetwork(ip), peer.String(), (*datagramHandler)(s))
		if err != nil {
			return errInvalidSocket(err)
		}
		s.attachLocked(pc)
	}
	s.connected = true
	s.remote = peer
	return nil
}

// sameFamilyLocked refuses a peer the bound socket cannot reach: an IPv6
// one from an IPv4 socket, an IPv4 one from an IPv6 socket (bound to an
// IPv6 literal, it is IPv6-only). s.mu is held.
func (s *DatagramSocket) sameFamilyLocked(ip netip.Addr) error {
	if ip.Is4() != s.local.Addr().Is4() {
		return errInvalidSocket(errors.New("address family of " + ip.String() + " differs from the bound " + s.local.Addr().String()))
	}
	return nil
}

// Receive starts dispatching received datagrams: from then on each one is
// a Data event. It returns at once. Datagrams that arrived before it have
// waited in the kernel's buffer (which drops what does not fit) and are
// dispatched first, as in AIR. Receiving twice does nothing. Errors: IOError #2002 if the socket is closed or not bound
// (AIR receives "on the bound address and port" and documents no error;
// like ServerSocket.Listen, this package refuses an unbound socket, since
// nothing could ever arrive). Callable on any goroutine.
func (s *DatagramSocket) Receive() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errInvalidSocket(errSocketClosed)
	case s.pc.Load() == nil:
		return errInvalidSocket(errors.New("socket not bound"))
	}
	if !s.receiving.Swap(true) {
		s.pc.Load().Run(startReading) // the loop reads from its next turn
	}
	return nil
}

// startReading is Receive's work on the socket's loop.
func startReading(pc *loop.PacketConn) { pc.SetReading(true) }

// Close closes the socket; its port is free once the socket's loop has run
// the close, at its next turn (Close does not wait for it, since it may be
// called on that loop). Datagrams Sent before Close are still sent; no event is dispatched, none of its events starts once
// the loop has run the close (a dispatch already under way on the loop is
// not waited for), and a closed socket cannot be reused: Bind, Connect,
// Send, Receive and Close afterwards are IOErrors #2002. Closing a socket
// that was never bound is allowed. Callable on any goroutine.
func (s *DatagramSocket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errInvalidSocket(errSocketClosed)
	}
	s.closeLocked()
	if pc := s.pc.Swap(nil); pc != nil {
		pc.Close()
	}
	return nil
}

// closeLocked marks the socket closed; s.mu is held.
func (s *DatagramSocket) closeLocked() {
	s.closed = true
	s.connected = false
	s.local, s.remote = netip.AddrPort{}, netip.AddrPort{}
	s.receiving.Store(false)
}

// Bound reports whether the socket is bound (by Bind, Connect or Send) and
// not closed. Callable on any goroutine.
func (s *DatagramSocket) Bound() bool { return s.pc.Load() != nil }

// Connected reports whether the socket is connected to a peer. Callable on
// any goroutine.
func (s *DatagramSocket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// LocalAddress returns the bound IP address, "" when not bound: after
// Bind(0, "0.0.0.0") it is "0.0.0.0". Callable on any goroutine.
func (s *DatagramSocket) LocalAddress() string { return ipString(s.addr(false)) }

// LocalPort returns the bound port, the one the system chose for port 0;
// 0 when not bound. Callable on any goroutine.
func (s *DatagramSocket) LocalPort() int { return int(s.addr(false).Port()) }

// RemoteAddress returns the connected peer's IP address, "" when not
// connected. Callable on any goroutine.
func (s *DatagramSocket) RemoteAddress() string { return ipString(s.addr(true)) }

// RemotePort returns the connected peer's port, 0 when not connected.
// Callable on any goroutine.
func (s *DatagramSocket) RemotePort() int { return int(s.addr(true).Port()) }

// addr returns the local or the connected peer's address.
func (s *DatagramSocket) addr(remote bool) netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	if remote {
		return s.remote
	}
	return s.local
}
