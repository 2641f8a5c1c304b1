package loop

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/poller"
)

// Datagram sockets (udp, udp4, udp6, unixgram) on the same loops as the
// connections, with the same goroutine rules. A loop reads a ready socket's
// datagrams in batches (recvmmsg on Linux, up to Config.PacketBatch a
// call) into its own memory and hands each to OnPacket in place; replies
// written during the batch are staged and leave together, with one
// sendmmsg per socket (Linux; a sendto each elsewhere) when the batch ends.

// PacketHandler receives a datagram socket's events, on the goroutine of
// the loop that owns the socket, one at a time; it must not block.
type PacketHandler interface {
	// OnPacket runs for each datagram received. d and the memory of
	// d.Data are the loop's, valid until OnPacket returns: a handler that
	// keeps the payload copies it. Replies written here (pc.WriteTo)
	// leave with the others of the batch.
	OnPacket(pc *PacketConn, d *Datagram)
	// OnError runs when the socket reports an error that ends no socket:
	// a send the kernel refused (EMSGSIZE, ENETUNREACH, ...), the ICMP
	// unreachable a connected socket hears (ECONNREFUSED), datagrams
	// dropped because the socket's queue was full (*DroppedError). The
	// socket stays open.
	OnError(pc *PacketConn, err error)
	// OnClose runs once, when the socket is closed: err is nil after
	// PacketConn.Close or PacketListener.Close, ErrShutdown when the
	// engine stops.
	OnClose(pc *PacketConn, err error)
}

// Datagram is one received datagram.
type Datagram struct {
	// Data is the payload, in the loop's memory until OnPacket returns.
	Data []byte
	// From is the sender (the zero PacketAddr for an unbound unixgram
	// sender, which cannot be answered).
	From PacketAddr
	// To is the address the datagram was sent to: on Linux, for a socket
	// bound to a wildcard address, the one in the datagram's header
	// (IP_PKTINFO); otherwise the socket's bound address (invalid for
	// unixgram).
	To netip.Addr
	// Truncated reports that the datagram was longer than
	// Config.PacketReadSize: Data holds its first bytes and Size says how
	// long it was (on Linux; elsewhere Size is len(Data)). The rest is
	// lost: a datagram is read whole or not at all.
	Truncated bool
	Size      int
}

// PacketFuncs adapts plain functions to a PacketHandler; a nil field does
// nothing.
type PacketFuncs struct {
	Packet func(pc *PacketConn, d *Datagram)
	Error  func(pc *PacketConn, err error)
	Close  func(pc *PacketConn, err error)
}

// OnPacket calls f.Packet if set, on the socket's loop goroutine.
func (f PacketFuncs) OnPacket(pc *PacketConn, d *Datagram) {
	if f.Packet != nil {
		f.Packet(pc, d)
	}
}

// OnError calls f.Error if set, on the socket's loop goroutine.
func (f PacketFuncs) OnError(pc *PacketConn, err error) {
	if f.Error != nil {
		f.Error(pc, err)
	}
}

// OnClose calls f.Close if set, on the socket's loop goroutine.
func (f PacketFuncs) OnClose(pc *PacketConn, err error) {
	if f.Close != nil {
		f.Close(pc, err)
	}
}

// ErrNoAddress is the error of a write to a PacketAddr the socket cannot
// send to: the zero address, a path from an inet socket, an IPv6 address
// from an IPv4 one, or any address on a connected socket's Write.
var ErrNoAddress = errors.New("loop: no address this socket can send to")

// DroppedError reports datagrams the loop dropped because the socket's
// kernel buffer and its queue (Config.PacketQueueBytes) were full: UDP
// may drop, and the loop says so instead of hiding it.
type DroppedError struct{ Datagrams, Bytes int }

func (e *DroppedError) Error() string {
	return "loop: datagrams dropped: socket queue full"
}

// PacketListener is a bound datagram address of an Engine: on Linux one
// SO_REUSEPORT socket per loop (the kernel spreads the flows over them),
// elsewhere one socket on one loop. Its methods are safe from any
// goroutine.
type PacketListener struct {
	engine *Engine
	addr   net.Addr
	path   string // unixgram file to remove on Close
	conns  []*PacketConn
	mu     sync.Mutex
	closed bool
}

// ListenPacket binds address for datagrams (networks udp, udp4, udp6 and
// unixgram) and starts receiving them for h. As for Bind, a port another
// socket holds is refused with EADDRINUSE unless Config.JoinReusePort
// joins it. Safe from any goroutine.
func (e *Engine) ListenPacket(network, address string, h PacketHandler) (*PacketListener, error) {
	return e.ListenPacketWith(network, address, h, PacketOptions{})
}

// PacketOptions tune ListenPacketWith.
type PacketOptions struct {
	// Single binds one socket on one loop, even on Linux, and without
	// SO_REUSEPORT, so that no other socket can join its port (not even
	// with JoinReusePort) and one goroutine handles all its datagrams in
	// order: what a socket API with one object per socket (AIR's
	// DatagramSocket) needs.
	Single bool
	// Paused starts the sockets without reading: datagrams wait in the
	// kernel's buffer (which drops what does not fit) until
	// PacketConn.SetReading(true).
	Paused bool
}

// ListenPacketWith is ListenPacket with options. Safe from any goroutine.
func (e *Engine) ListenPacketWith(network, address string, h PacketHandler, opts PacketOptions) (*PacketListener, error) {
	e.lifeMu.RLock() // held until the sockets are handed to their loops, as in Bind
	defer e.lifeMu.RUnlock()
	ep, err := e.resolvePacket(network, address)
	if err != nil {
		return nil, err
	}
	inet := ep.family != unix.AF_UNIX
	n := 1
	if inet && runtime.GOOS == "linux" && !e.cfg.NoReusePort && !opts.Single {
		n = len(e.loops)
	}
	fds, err := bindPackets(ep, n, e.cfg.JoinReusePort && !opts.Single)
	if err != nil {
		return nil, err
	}
	pl := &PacketListener{engine: e, path: ep.path}
	pl.addr = packetName(fds[0])
	for i, fd := range fds {
		if a, ok := pl.addr.(*net.UDPAddr); ok && a.IP.IsUnspecified() {
			if err := wantDestination(fd, ep.family); err != nil {
				for _, fd := range fds {
					unix.Close(fd)
				}
				return nil, err
			}
		}
		l := e.loops[i]
		if n == 1 {
			l = e.pickLoop()
		}
		pc := l.newPacketConn(fd, ep.family, h, pl)
		pc.paused = opts.Paused
		pl.conns = append(pl.conns, pc)
	}
	for _, pc := range pl.conns {
		pc.loop.submit(task{kind: taskFunc, fn: pc.adopt})
	}
	return pl, nil
}

// resolvePacket resolves a datagram address for a new socket of a running
// engine; e.lifeMu is read-held.
func (e *Engine) resolvePacket(network, address string) (endpoint, error) {
	if e.closed.Load() {
		return endpoint{}, ErrClosed
	}
	return resolvePacket(network, address)
}

// bindPackets binds n datagram sockets for ep, sharing its port: the first
// without SO_REUSEPORT, so that a port anybody holds is refused, and then
// with it, so that the others can join; with join, all of them with it.
func bindPackets(ep endpoint, n int, join bool) ([]int, error) {
	var fds []int
	fail := func(err error) ([]int, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, err
	}
	for i := 0; i < n; i++ {
		fd, err := bindDatagram(ep, join || i > 0)
		if err != nil {
			return fail(err)
		}
		fds = append(fds, fd)
		if i == 0 {
			if n > 1 && !join {
				if err := setReuse(fd, unix.SO_REUSEPORT, true); err != nil {
					return fail(err)
				}
			}
			setPort(ep.sa, portOf(sockaddrOf(fd))) // port 0: the others take the one the first got
		}
	}
	return fds, nil
}

// Addr returns the bound address (*net.UDPAddr or *net.UnixAddr): with
// port 0, the port the system chose. Any goroutine.
func (pl *PacketListener) Addr() net.Addr { return pl.addr }

// Conns returns the listener's sockets, one per loop on Linux. Any
// goroutine.
func (pl *PacketListener) Conns() []*PacketConn { return pl.conns }

// Close closes every socket of the listener (each OnClose runs on its
// loop, with a nil error, after the datagrams staged before it are sent).
// The port is free once the loops have run the close, which Close does
// not wait for: each socket's Done tells. Closing twice returns
// ErrClosed. Any goroutine.
func (pl *PacketListener) Close() error {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return ErrClosed
	}
	pl.closed = true
	pl.mu.Unlock()
	for _, pc := range pl.conns {
		pc.Close()
	}
	if pl.path != "" && pl.path[0] != '@' {
		unix.Unlink(pl.path)
	}
	return nil
}

// DialPacket creates a connected datagram socket to address (udp, udp4,
// udp6, unixgram) on a loop: it receives only that peer's datagrams, and
// PacketConn.Write sends to it. It returns once the socket is created; h's
// events run on the loop. Safe from any goroutine.
func (e *Engine) DialPacket(network, address string, h PacketHandler) (*PacketConn, error) {
	return e.DialPacketWith(network, address, h, DialOptions{})
}

// DialPacketWith is DialPacket with options: LocalAddr is bound first (a
// load generator's source address), Context is the socket's initial
// Context; Timeout does not apply (a datagram socket connects at once).
// Safe from any goroutine.
func (e *Engine) DialPacketWith(network, address string, h PacketHandler, opts DialOptions) (*PacketConn, error) {
	e.lifeMu.RLock()
	defer e.lifeMu.RUnlock()
	ep, err := e.resolvePacket(network, address)
	if err != nil {
		return nil, err
	}
	fd, err := sysSocket(ep.family, unix.SOCK_DGRAM)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*PacketConn, error) {
		unix.Close(fd)
		return nil, err
	}
	switch {
	case opts.LocalAddr != "":
		local, err := resolvePacket(network, opts.LocalAddr)
		if err != nil {
			return fail(err)
		}
		if err := bindTo(fd, local.sa); err != nil {
			return fail(err)
		}
	case ep.family == unix.AF_UNIX && runtime.GOOS == "linux":
		// An unbound unixgram socket cannot be answered: bind it to an
		// abstract address of the kernel's choosing (Linux autobind).
		if err := unix.Bind(fd, &unix.SockaddrUnix{}); err != nil {
			return fail(err)
		}
	}
	if err := unix.Connect(fd, ep.sa); err != nil {
		return fail(os.NewSyscallError("connect", err))
	}
	pc := e.pickLoop().newPacketConn(fd, ep.family, h, nil)
	pc.ctx = opts.Context
	pc.setPeer(packetAddrOfSockaddr(ep.sa))
	pc.loop.submit(task{kind: taskFunc, fn: pc.adopt})
	return pc, nil
}

// PacketConn is one datagram socket on one loop. Unless a method says
// otherwise it must be called on its loop goroutine (from the handler's
// callbacks, or a function run with Run).
type PacketConn struct {
	loop         *eventLoop
	handler      PacketHandler
	listener     *PacketListener // nil for a dialled socket
	fd           int
	family       int
	peer         atomic.Pointer[PacketAddr] // a connected socket's peer; nil while not connected
	local        net.Addr
	dst          netip.Addr // the bound address: Datagram.To unless the kernel says
	pktinfo      bool       // bound to a wildcard address: the kernel reports each destination
	gsoBelow     int        // datagrams shorter than this may leave segmented (0: none; packet_offload_linux.go)
	gro          bool       // the kernel may hand coalesced buffers (UDP_GRO)
	paused       bool       // not reading (PacketOptions.Paused, SetReading)
	done         chan struct{}
	timers       []*timer     // AfterFunc\'s, stopped at the close
	asyncPending atomic.Int32 // AsyncWriteTo datagrams not yet staged
	errNoted     bool         // a refusal waits for reportPacketErrors
	dropNoted    bool         // drops wait for reportPacketErrors
	fdMu         sync.Mutex   // held to connect and to close the descriptor, which Connect may use from any goroutine
	fdClosed     bool

	interest poller.Mask
	state    connState
	lastFrom PacketAddr // the previous datagram's source: its path is reused (packetAddrOf)
	queued   []queuedDatagram
	qbytes   int
	dropped  DroppedError // dropped since the last OnError about it
	closeQ   atomic.Bool  // Close was called
	ctx      any
}

// queuedDatagram is a datagram that waits for room in the socket's kernel
// buffer.
type queuedDatagram struct {
	data []byte // pooled
	to   PacketAddr
}

// LocalAddr returns the socket's bound address. Any goroutine.
func (pc *PacketConn) LocalAddr() net.Addr { return pc.local }

// RemoteAddr returns a connected socket's peer, or the zero PacketAddr.
// Any goroutine.
func (pc *PacketConn) RemoteAddr() PacketAddr {
	if p := pc.peer.Load(); p != nil {
		return *p
	}
	return PacketAddr{}
}

// Connected reports whether the socket is connected to a peer (DialPacket,
// Connect). Any goroutine.
func (pc *PacketConn) Connected() bool { return pc.peer.Load() != nil }

// setPeer records that the socket is connected to to.
func (pc *PacketConn) setPeer(to PacketAddr) { pc.peer.Store(&to) }

// Loop returns the index of the socket's loop. Any goroutine.
func (pc *PacketConn) Loop() int { return pc.loop.index }

// Fd returns the socket's descriptor, for options the loop does not set.
// Any goroutine, while the socket is open (the number is another's once
// the loop has closed it: Done); do not close it.
func (pc *PacketConn) Fd() int { return pc.fd }

// Context returns the value set with SetContext. Loop goroutine.
func (pc *PacketConn) Context() any { return pc.ctx }

// SetContext attaches a value to the socket. Loop goroutine.
func (pc *PacketConn) SetContext(v any) { pc.ctx = v }
