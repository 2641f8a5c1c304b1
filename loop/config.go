package loop

import (
	"log/slog"
	"runtime"
	"time"
)

// Config sets up an Engine. The zero value is ready to use: every field's
// zero means the default given in its comment.
type Config struct {
	// Loops is the number of event loops, each on its own goroutine.
	// Default: runtime.NumCPU().
	Loops int
	// LockOSThread pins each loop goroutine to an OS thread (the io_uring
	// backend always does: its ring accepts submissions from one thread).
	LockOSThread bool
	// Backend chooses how the loops do their I/O: "epoll" (Linux) or
	// "kqueue" (macOS, the BSDs), readiness pollers under which the loop
	// makes the syscalls; "io_uring" (Linux), a completion ring to which
	// each loop submits the I/O of all its connections with one
	// io_uring_enter per turn, failing New with ErrBackendUnavailable where
	// the kernel or a seccomp filter refuses it; or "auto", the default:
	// see DefaultBackend. Engine.Backend reports the choice. The
	// environment variable AIRSOCK_IO, when set, overrides "auto" (and
	// only "auto") for the whole process, so an operator can switch
	// without a rebuild.
	Backend string
	// NoReusePort turns off the Linux default of one SO_REUSEPORT listener
	// per loop; one loop then accepts and hands each connection to the loop
	// with the fewest connections (always the case on the BSDs and macOS).
	NoReusePort bool
	// JoinReusePort lets this engine's SO_REUSEPORT listeners join a port
	// that another socket (another process, say) already serves with
	// SO_REUSEPORT, sharing its connections: what a zero-downtime hand-over
	// wants. By default binding such a port fails with EADDRINUSE, as it
	// would without SO_REUSEPORT, so a second server cannot split the
	// traffic of the first by accident.
	JoinReusePort bool
	// ReadBufferSize is the size of each loop's shared read buffer: the most
	// one read takes from a socket. Default: 64 KiB.
	ReadBufferSize int
	// Nagle leaves Nagle's algorithm on. By default TCP_NODELAY is set on
	// every TCP connection, because the loop already coalesces writes.
	Nagle bool
	// MaxConns caps accepting: while this many connections are open on the
	// engine (dialled ones count too, but dials are never refused),
	// listeners stop accepting and the kernel backlog holds newcomers until
	// a connection closes. Default: no cap.
	MaxConns int
	// MaxInbound caps the unconsumed input kept per connection. When a
	// handler leaves this much unconsumed, the loop stops reading that
	// connection until the handler consumes some; a handler that needs more
	// room for one frame asks for it with Conn.ReserveInbound. The ring that
	// holds the input never grows past max(MaxInbound, ReadBufferSize).
	// Default: 64 KiB.
	MaxInbound int
	// InboundBudget is the most bytes, over the whole engine, that
	// Conn.ReserveInbound may grant beyond MaxInbound: what all the large
	// frames being received at one time may hold. Default: 1 GiB.
	InboundBudget int64
	// InboundTimeout closes, with ErrInboundStalled, a connection whose
	// reading stayed paused at its inbound limit for this long because the
	// handler consumed nothing and reserved no room: a handler that cannot
	// make progress must not hold a connection forever. Default: 30 s.
	InboundTimeout time.Duration
	// WriteHighWater: when a connection's pending output reaches it,
	// Conn.Writable reports false and the loop stops reading that
	// connection (a peer that sends but never reads cannot make the server
	// buffer without bound). Reading resumes, and a handler that stopped at
	// the mark is called again, when the output drains to WriteLowWater.
	// Defaults: 64 KiB and 32 KiB (Netty's marks).
	WriteHighWater, WriteLowWater int
	// AsyncQueueBytes caps the bytes waiting in one loop's cross-goroutine
	// queue; AsyncWrite beyond it fails with ErrQueueFull. Default: 64 MiB.
	AsyncQueueBytes int
	// IdleTimeout closes a connection that moved no byte either way for this
	// long, with ErrIdleTimeout. Default: none.
	IdleTimeout time.Duration
	// WriteTimeout closes a connection whose pending output has not moved for
	// this long (a peer that stopped reading), with ErrWriteTimeout. It also
	// bounds how long a closing connection may take to drain. Default: 30 s.
	WriteTimeout time.Duration
	// LingerTimeout bounds how long a gracefully closed connection, its
	// output all sent and a FIN after it, waits for the peer to close too,
	// dropping any input meanwhile; closing at once with unread input would
	// make the kernel reset the connection and discard output the peer has
	// not read yet. Negative: close at once. Default: 2 s.
	LingerTimeout time.Duration
	// ScavengeAbove: when a loop goes idle and at least this many bytes of
	// buffer memory sit unused in the pool (after a burst of large frames or
	// of clients that stopped reading), the engine forces a garbage
	// collection and returns the memory to the OS, at most once a second, so
	// the process's RSS comes back down within seconds instead of holding its
	// peak; a sixteenth of it left idle is returned every five seconds.
	// Negative: never. Default: 64 MiB.
	ScavengeAbove int64
	// ProxyProtocol reads a PROXY protocol header (v1 or v2) at the start
	// of each accepted connection, before OnOpen, from trusted sources:
	// see ProxyProtocol. Default: off.
	ProxyProtocol ProxyProtocol
	// TLSHandshakeTimeout bounds a TLS connection's handshake (ListenTLS,
	// DialOptions.TLS): a peer that has not finished it by then is
	// closed. Default: 10 s.
	TLSHandshakeTimeout time.Duration
	// PacketBatch is how many datagrams a loop reads from a socket with
	// one call (recvmmsg on Linux) and sends with one (sendmmsg).
	// Default: 64; at most 1024.
	PacketBatch int
	// PacketReadSize is the most of one datagram a loop reads; a longer
	// one is truncated and reported so (Datagram.Truncated). Each loop
	// with a datagram socket maps PacketBatch x PacketReadSize bytes of
	// which only the pages datagrams reach are committed. Default: 64 KiB
	// (the largest UDP payload fits).
	PacketReadSize int
	// PacketQueueBytes caps the datagrams one socket keeps waiting for
	// room in its kernel buffer; beyond it they are dropped and reported
	// to OnError (*DroppedError). Default: 1 MiB.
	PacketQueueBytes int
	// PacketNoOffload turns off UDP segmentation offload, which is on by
	// default on Linux: a run of same-sized datagrams that one socket
	// writes to one address within a batch leaves with one send as one
	// buffer that the kernel cuts into the datagrams (UDP_SEGMENT, GSO),
	// and the kernel may hand a run of one sender's datagrams as one
	// buffer that the loop cuts before OnPacket (UDP_GRO; only with
	// PacketReadSize of 64 KiB or more, the largest such buffer). Peers
	// see the same datagrams either way; a route that cannot segment is
	// detected at its first refusal and sent to one by one.
	PacketNoOffload bool
	// Logger receives reports of recovered panics, accept back-offs and
	// other trouble no caller can be told about. Default: slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Loops <= 0 {
		c.Loops = runtime.NumCPU()
	}
	if c.ReadBufferSize <= 0 {
		c.ReadBufferSize = 64 << 10
	}
	if c.MaxInbound <= 0 {
		c.MaxInbound = 64 << 10
	}
	if c.InboundBudget <= 0 {
		c.InboundBudget = 1 << 30
	}
	if c.InboundTimeout <= 0 {
		c.InboundTimeout = 30 * time.Second
	}
	if c.WriteHighWater <= 0 {
		c.WriteHighWater = 64 << 10
	}
	if c.WriteLowWater <= 0 || c.WriteLowWater >= c.WriteHighWater {
		c.WriteLowWater = c.WriteHighWater / 2
	}
	if c.ScavengeAbove == 0 {
		c.ScavengeAbove = 64 << 20
	}
	if c.AsyncQueueBytes <= 0 {
		c.AsyncQueueBytes = 64 << 20
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.LingerTimeout == 0 {
		c.LingerTimeout = 2 * time.Second
	}
	if c.ProxyProtocol.Mode != ProxyOff {
		c.ProxyProtocol.withDefaults()
	}
	if c.TLSHandshakeTimeout <= 0 {
		c.TLSHandshakeTimeout = 10 * time.Second
	}
	if c.PacketBatch <= 0 {
		c.PacketBatch = 64
	}
	c.PacketBatch = min(c.PacketBatch, 1024)
	if c.PacketReadSize <= 0 {
		c.PacketReadSize = 64 << 10
	}
	if c.PacketQueueBytes <= 0 {
		c.PacketQueueBytes = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
