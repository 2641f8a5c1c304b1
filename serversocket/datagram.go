package serversocket

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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

	pc         atomic.Pointer[loop.PacketConn]       // the socket; nil before it is bound and after it closed
	receiving  atomic.Bool                           // Receive was called
	filter     atomic.Pointer[netip.AddrPort]        // the peer of a Connect made after Bind, whose datagrams alone are dispatched (see Connect)
	inDispatch atomic.Bool                           // a dispatch of this socket is running: its end sends what Send queued
	released   atomic.Pointer[chan *loop.PacketConn] // while Bind waits for its other sockets to close: where their OnClose reports

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
}

// outDatagram is one datagram Sent during a dispatch: it ends at end in the
// socket's out buffer and goes to to.
type outDatagram struct {
	end int
	to  loop.PacketAddr
}

// errSocketClosed is the cause of the IOErrors of a closed DatagramSocket.
var errSocketClosed = errors.New("socket closed")

// bindWaitLimit bounds each of Bind's waits for loops (see keepOne): a
// loop stuck in a listener must not hang Bind with it (loop.Listener.Close
// waits as long).
const bindWaitLimit = time.Second

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
// On Linux an engine of several loops binds one SO_REUSEPORT socket per
// loop (loop.Engine.ListenPacket, which has no option for one); Bind keeps
// one of them and closes the others before it returns (see keepOne), so
// that the socket's data events run in order on one loop goroutine, as
// AIR's do, and no datagram is spread to a socket nobody reads. A datagram
// that reached one of those others between the bind and its close (before
// Bind returned) is lost, as it would be before a bind. The socket kept
// still has SO_REUSEPORT set: another socket of the same user that sets it
// too could join the port, where AIR would refuse it.
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
	pl, err := s.engine.ListenPacket(udpNetwork(local.Addr()), local.String(), (*datagramHandler)(s))
	if err != nil {
		return errInvalidSocket(err)
	}
	keep, err := s.keepOne(pl.Conns())
	if err != nil {
		pl.Close()
		return errInvalidSocket(err)
	}
	s.attachLocked(keep)
	return nil
}

// keepOne returns one of conns, the sockets of one bound address, after
// closing the others. It keeps the socket of the last loop to run a probe:
// Bind may be called on a loop goroutine, whose loop runs nothing until
// Bind returns, so its socket must be the one kept; every other loop has
// shown it runs, and the closes there end (OnClose reports each) before
// Bind returns. Each wait is bounded by bindWaitLimit.
func (s *DatagramSocket) keepOne(conns []*loop.PacketConn) (*loop.PacketConn, error) {
	if len(conns) == 1 {
		return conns[0], nil
	}
	answered := make(chan int, len(conns))
	for i, pc := range conns {
		if err := pc.Run(func(*loop.PacketConn) { answered <- i }); err != nil {
			return nil, err
		}
	}
	ran := make([]bool, len(conns))
	timeout := time.NewTimer(bindWaitLimit)
	defer timeout.Stop()
wait:
	for range len(conns) - 1 {
		select {
		case i := <-answered:
			ran[i] = true
		case <-timeout.C:
			break wait
		}
	}
	keep := conns[slices.Index(ran, false)]
	released := make(chan *loop.PacketConn, len(conns))
	s.released.Store(&released)
	defer s.released.Store(nil)
	for _, pc := range conns {
		if pc != keep {
			pc.Close() // its events are ignored meanwhile: it is not s.pc
		}
	}
	timeout.Reset(bindWaitLimit)
	for range len(conns) - 1 {
		select {
		case <-released:
		case <-timeout.C:
			return keep, nil // a loop stuck in a listener: its socket closes later
		}
	}
	return keep, nil
}

// attachLocked makes pc the socket's; s.mu is held. The addresses the data
// events report are set before pc is published, so the loop that loads pc
// sees them.
func (s *DatagramSocket) attachLocked(pc *loop.PacketConn) {
	if a, ok := pc.LocalAddr().(interface{ AddrPort() netip.AddrPort }); ok { // *net.TCPAddr today, *net.UDPAddr as documented
		ap := a.AddrPort()
		s.local = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) // an IPv4 socket's address comes in 16 bytes
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
// An unbound socket becomes a connected kernel socket (loop.DialPacket):
// the kernel filters what it receives, and an ICMP unreachable from the
// peer (ECONNREFUSED) comes as an IOErrorType event. A socket already bound
// cannot be connected in the kernel through package loop, which has no
// such call: the socket stays unconnected, the datagrams of other peers are
// dropped before they are dispatched, Sends go to the peer, and ICMP errors
// go unheard, since the kernel reports them to connected sockets only.
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
		filter := netip.AddrPortFrom(ip.WithZone(""), peer.Port()) // the loop reports sources without zones
		s.filter.Store(&filter)
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
// a Data event. It returns at once. Datagrams that arrived before it are
// not dispatched: the loop reads a bound socket from the start and drops
// them, where AIR would leave them in the kernel's buffer. Receiving twice
// does nothing. Errors: IOError #2002 if the socket is closed or not bound
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
	s.receiving.Store(true)
	return nil
}

// Close closes the socket and frees its port. Datagrams Sent before Close
// are still sent; no event is dispatched, none of its events starts once
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
