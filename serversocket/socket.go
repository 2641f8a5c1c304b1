package serversocket

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsock/airsock/loop"
)

// Socket is AIR's flash.net.Socket: one TCP connection that dispatches
// events (EventDispatcher), reads its input (DataInput) and buffers its
// output (DataOutput). A ServerSocket hands accepted sockets to Connect
// listeners; NewSocket and Connect make outbound ones. A Socket is used
// through its pointer and must not be copied.
//
// Events (each on the socket's loop goroutine, in order): Connect when an
// outbound Connect succeeds; SocketData (ProgressEvent) for each arrival of
// input; OutputProgress as written bytes reach the kernel; Close when the
// peer or the system closes the connection, after every byte received
// before it was delivered by SocketData; IOErrorType when a Connect fails
// or times out.
//
// Goroutines: the reads (DataInput, BytesAvailable, Peek, Discard) belong
// to the socket's loop goroutine: call them from listeners. The writes
// (DataOutput, Write), Flush, Close, Connect, BytesPending, Connected, the
// address getters and the properties are safe from any goroutine.
//
// Output: writes only buffer. The buffer is sent at the end of each
// dispatch turn (the Go form of AIR's flush between frames), and Flush sends
// it at once, or, inside a listener, as soon as that listener returns.
type Socket struct {
	EventDispatcher
	DataInput
	DataOutput

	engine     *loop.Engine
	conn       atomic.Pointer[loop.Conn] // nil while not connected
	ext        atomic.Pointer[socketExt] // nil until the socket is first used
	mu         sync.Mutex                // guards the output and Connect's generation (ext)
	maxPending atomic.Int64              // SetMaxBytesPending; here because servers set it on every socket
	inDispatch atomic.Bool               // a dispatch turn is running: its end flushes
}

// socketExt is what a Socket needs only once used: an idle accepted socket
// holds none of it, which is most of a server's sockets most of the time.
// It is made on the first input, write, Connect or property change, and
// kept from then on.
type socketExt struct {
	out            []byte // written since the last flush; pooled; s.mu
	flushScheduled bool   // a Run of flushOnLoop is queued; s.mu
	dialing        uint64 // generation of the latest Connect; s.mu
	timeoutMs      atomic.Int64
	noDelay        atomic.Bool
	pending        atomic.Int64 // the connection's OutboundBuffered as of the last flush or progress report, plus output in transit to it
	written        atomic.Int64 // bytes written since connecting, for BytesTotal

	// The loop goroutine's: input announced by SocketData and the events
	// it reuses; the input consumed since the first use, and ReadObject's
	// scan of an object that has not all arrived.
	unread    int
	consumed  int64
	scan      *objectScan
	dataEvent ProgressEvent
	outEvent  *OutputProgressEvent // made on the first OutputProgress dispatch
}

// DefaultTimeout is AIR's default connect timeout, in milliseconds.
const DefaultTimeout = 20000

// DefaultMaxBytesPending is how much written output a Socket holds for a
// peer that does not read before further writes fail (see SetMaxBytesPending).
const DefaultMaxBytesPending = 64 << 20

// NewSocket returns an unconnected Socket on the default engine. Callable on
// any goroutine.
func NewSocket() (*Socket, error) {
	e, err := DefaultEngine()
	if err != nil {
		return nil, err
	}
	return NewSocketOn(e), nil
}

// NewSocketOn returns an unconnected Socket whose connections live on e.
// Callable on any goroutine.
func NewSocketOn(e *loop.Engine) *Socket { return newSocket(e) }

func newSocket(e *loop.Engine) *Socket {
	s := &Socket{}
	s.init(e, s)
	return s
}

// init readies a new socket on e whose events report target as theirs
// (the socket, or the SecureSocket that embeds it).
func (s *Socket) init(e *loop.Engine, target any) {
	s.engine = e
	s.EventDispatcher.target = target
	s.DataInput.src = (*socketInput)(s)
	s.DataOutput.dst = (*socketOutput)(s)
	s.maxPending.Store(DefaultMaxBytesPending)
}

// x returns the socket's extension, making it on first use. Any goroutine:
// of two racing makers one wins and both use its value.
func (s *Socket) x() *socketExt {
	if x := s.ext.Load(); x != nil {
		return x
	}
	x := &socketExt{}
	x.timeoutMs.Store(DefaultTimeout)
	x.noDelay.Store(true)
	x.dataEvent.Init(SocketData, false, false)
	if s.ext.CompareAndSwap(nil, x) {
		return x
	}
	return s.ext.Load()
}

// attach makes c the socket's connection and its handler the socket's.
// It runs on c's loop goroutine.
func (s *Socket) attach(c *loop.Conn) {
	x := s.ext.Load()
	if n := c.InboundBuffered(); n > 0 || x != nil {
		x = s.x()
		x.unread = n
		x.pending.Store(0)
		x.written.Store(0)
		x.scan = nil // a partial object of the last connection is not this one's
	}
	s.watch(c, false)
	c.SetNoDelay(s.TCPNoDelay())
	s.conn.Store(c)
	socketsOpened.Add(1)
}

// Connected reports whether the socket has an open connection. Callable
// on any goroutine.
func (s *Socket) Connected() bool { return s.conn.Load() != nil }

// BytesPending returns how many written bytes have not yet been handed to
// the kernel: those still in the socket's buffer, and those the connection
// held at its last flush or progress report (see socketWatcher). Callable
// on any goroutine.
func (s *Socket) BytesPending() int {
	x := s.ext.Load()
	if x == nil {
		return 0
	}
	s.mu.Lock()
	n := len(x.out)
	s.mu.Unlock()
	return n + int(x.pending.Load())
}

// MaxBytesPending returns the bound on BytesPending. Callable on any goroutine.
func (s *Socket) MaxBytesPending() int { return int(s.maxPending.Load()) }

// SetMaxBytesPending bounds the output a socket holds (BytesPending): once
// BytesPending has reached it, a write fails with an IOError #2002
// wrapping loop.ErrQueueFull and writes nothing, so a peer that never reads
// cannot make the process buffer without limit (the write that crosses the
// bound is taken whole). AIR has no such bound; the default is
// DefaultMaxBytesPending. Callable on any goroutine.
func (s *Socket) SetMaxBytesPending(n int) { s.maxPending.Store(int64(n)) }

// Timeout returns the connect timeout in milliseconds (default 20000).
// Callable on any goroutine.
func (s *Socket) Timeout() int {
	if x := s.ext.Load(); x != nil {
		return int(x.timeoutMs.Load())
	}
	return DefaultTimeout
}

// SetTimeout sets the connect timeout in milliseconds for later Connects.
// Callable on any goroutine.
func (s *Socket) SetTimeout(ms int) { s.x().timeoutMs.Store(int64(ms)) }

func (s *Socket) timeout() time.Duration { return time.Duration(s.Timeout()) * time.Millisecond }

// TCPNoDelay reports whether Nagle's algorithm is off (true by default: the
// loop coalesces writes itself). Callable on any goroutine.
func (s *Socket) TCPNoDelay() bool {
	if x := s.ext.Load(); x != nil {
		return x.noDelay.Load()
	}
	return true
}

// SetTCPNoDelay turns Nagle's algorithm off (true) or on, now if connected
// and for later connections. Callable on any goroutine.
func (s *Socket) SetTCPNoDelay(on bool) {
	s.x().noDelay.Store(on)
	if c := s.conn.Load(); c != nil {
		c.Run(func(c *loop.Conn) { c.SetNoDelay(on) })
	}
}

// LocalAddress returns the local IP address, "" when not connected.
// Callable on any goroutine.
func (s *Socket) LocalAddress() string { return ipString(s.addr(false)) }

// LocalPort returns the local port, 0 when not connected. Callable on any
// goroutine.
func (s *Socket) LocalPort() int { return int(s.addr(false).Port()) }

// RemoteAddress returns the peer's IP address, "" when not connected.
// Callable on any goroutine.
func (s *Socket) RemoteAddress() string { return ipString(s.addr(true)) }

// RemotePort returns the peer's port, 0 when not connected. Callable on any
// goroutine.
func (s *Socket) RemotePort() int { return int(s.addr(true).Port()) }

// addr returns the connection's local or remote address; the zero value
// when not connected. The IP is formatted only by those who ask for it.
func (s *Socket) addr(remote bool) netip.AddrPort {
	c := s.conn.Load()
	if c == nil {
		return netip.AddrPort{}
	}
	a := c.LocalAddr()
	if remote {
		a = c.RemoteAddr()
	}
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	return t.AddrPort()
}

// ipString formats a's IP as AIR does (an IPv4-mapped address as IPv4),
// "" for the zero value.
func ipString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.Addr().Unmap().String()
}

// Endian returns the byte order of the socket's reads and writes, BigEndian
// unless SetEndian changed it. Call it on the socket's loop goroutine.
func (s *Socket) Endian() string { return s.DataInput.Endian() }

// SetEndian sets the byte order of both the socket's reads and writes to
// BigEndian or LittleEndian; any other value is an ArgumentError #2008 and
// changes nothing. Call it on the socket's loop goroutine.
func (s *Socket) SetEndian(endian string) error {
	if err := s.DataInput.SetEndian(endian); err != nil {
		return err
	}
	return s.DataOutput.SetEndian(endian)
}

// ObjectEncoding returns the AMF version of ReadObject and WriteObject:
// ObjectEncodingAMF3 (the default) or ObjectEncodingAMF0. Any goroutine
// that does not race SetObjectEncoding.
func (s *Socket) ObjectEncoding() uint { return s.DataInput.ObjectEncoding() }

// SetObjectEncoding sets the AMF version of both the socket's ReadObject
// and WriteObject; a value other than ObjectEncodingAMF0 and
// ObjectEncodingAMF3 is an ArgumentError #2008 and changes nothing. Call
// it on the socket's loop goroutine, before the objects it applies to.
func (s *Socket) SetObjectEncoding(v uint) error {
	if err := s.DataInput.SetObjectEncoding(v); err != nil {
		return err
	}
	return s.DataOutput.SetObjectEncoding(v)
}

// TLSState returns the connection's TLS state and true when the socket is
// connected over TLS (a SecureSocket, or one a ServerSocket accepted with
// ListenTLS), false otherwise. Call it on the socket's loop goroutine.
func (s *Socket) TLSState() (tls.ConnectionState, bool) {
	c := s.conn.Load()
	if c == nil {
		return tls.ConnectionState{}, false
	}
	return c.TLSState()
}
