package loop

import (
	"net"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/buffer"
	"github.com/airsock/airsock/poller"
	"github.com/airsock/airsock/proxyproto"
)

// connState is where a connection is in its life; only its loop changes it.
type connState uint8

const (
	stateNew        connState = iota // accepted, not yet registered
	stateConnecting                  // dialled, connect(2) in progress
	stateOpen                        // OnOpen has run
	stateClosing                     // OnClose has run; draining output
	stateClosed                      // descriptor closed
)

// Conn is one TCP or unix stream connection owned by one event loop.
//
// Unless a method says otherwise it must be called on the connection's loop
// goroutine: from the Handler's callbacks, or from a function run with
// Conn.Run. Close, AsyncWrite, Run, Context-free getters (LocalAddr,
// RemoteAddr, Loop) are safe from any goroutine.
type Conn struct {
	// Fields are ordered to pack: a Conn is the per-connection cost of an
	// idle connection, so rare state lives behind ext.
	loop         *eventLoop
	handler      Handler
	ctx          any
	in           buffer.Ring
	out          buffer.Ring
	ext          *connExt     // timers and dial state, made on first use
	lastActivity int64        // loop time of the last byte moved either way (IdleTimeout)
	backlog      atomic.Int64 // out.Len() as of the last flush, for AsyncWrite's bound
	laddr, raddr sockAddr
	fd           int32
	winOff       int32 // the window: loop.win[winOff:winEnd], the unconsumed part of one read,
	winEnd       int32 // during OnData while in is empty (see Peek); offsets, not a slice, to keep a Conn small
	interest     poller.Mask
	family       uint8
	state        connState

	hasWatcher    bool // the handler is an OutputWatcher
	readPausedOut bool // output reached WriteHighWater: reading waits for WriteLowWater
	readPausedIn  bool // unconsumed input reached its limit (MaxInbound or a reservation)
	blocked       bool // Writable reported false: the handler waits for the low mark
	resume        bool // blocked, output drained to the low mark, input buffered: call OnData again
	inOutput      bool // OnOutput is running (see callOutput)
	outputAgain   bool // progress was made while OnOutput ran
	progressed    bool // a large Write went out at once (queueOutput); OnOutput hears of it at the next flush
	peerEOF       bool // the peer has finished sending
	lingering     bool // closed, output sent, waiting for the peer's FIN (finishClose)
	dirty         bool // on the loop's flush list
	finPending    bool // CloseWrite requested: send the FIN once the output is sent
	writeClosed   bool // no more writes accepted
	closeWhy      CloseReason
	closeQueued   atomic.Bool
	writeShutdown atomic.Bool // CloseWrite was called: AsyncWrite refuses
}

// connExt is the part of a Conn that most connections never need.
type connExt struct {
	dial         *dialState
	idle         *timer      // IdleTimeout
	outTimer     *timer      // WriteTimeout while output is stuck; LingerTimeout once closed (finishClose)
	inTimer      *timer      // reading paused at the inbound limit (InboundTimeout)
	reserved     int64       // inbound room beyond MaxInbound granted by ReserveInbound
	heldSince    int         // bytes buffered at the reservation plus those read since: less now means some were consumed
	rare         *connRare   // AfterFunc timers and the PROXY header: rarer still
	lastProgress int64       // loop time the pending output last moved (WriteTimeout)
	unixPath     *string     // a unix socket's local path (a pointer: connExt stays at 96 bytes)
	tls          *tlsSession // a TLS connection's session (tls.go)
}

// connRare is the part of connExt that few connections with an extension
// need either.
type connRare struct {
	userTimers  []*timer // AfterFunc timers still scheduled
	proxy       *proxyWait
	proxyHeader *proxyproto.Header // the PROXY header the connection began with
}

// rarer returns c's rare state, making it (and the extension) on first use.
func (c *Conn) rarer() *connRare {
	x := c.extended()
	if x.rare == nil {
		x.rare = &connRare{}
	}
	return x.rare
}

// extended returns c's extension, making it on first use.
func (c *Conn) extended() *connExt {
	if c.ext == nil {
		c.ext = &connExt{}
	}
	return c.ext
}

// Context returns the value set by SetContext (or given to Dial).
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value of the caller's to the connection.
func (c *Conn) SetContext(v any) { c.ctx = v }

// Fd returns the connection's file descriptor, for socket options. Do not
// close or dup it: the loop closes it without deregistering first, relying
// on the kernel dropping a closed descriptor from the poller, which a dup
// would prevent.
func (c *Conn) Fd() int { return int(c.fd) }

// LocalAddr returns the local address (a new value each call). Safe from
// any goroutine once OnOpen has run.
func (c *Conn) LocalAddr() net.Addr {
	if c.family == unix.AF_UNIX && !c.proxiedTCP() {
		name := ""
		if c.ext != nil && c.ext.unixPath != nil {
			name = *c.ext.unixPath
		}
		return &net.UnixAddr{Name: name, Net: "unix"}
	}
	return c.laddr.tcp()
}

// RemoteAddr returns the peer's address (a new value each call). Safe from
// any goroutine once OnOpen has run.
func (c *Conn) RemoteAddr() net.Addr {
	if c.family == unix.AF_UNIX && !c.proxiedTCP() {
		return &net.UnixAddr{Net: "unix"}
	}
	return c.raddr.tcp()
}

// CloseWrite shuts the write side down (a TCP FIN) once queued output has
// been sent; reading goes on until the peer closes.
func (c *Conn) CloseWrite() error {
	if c.state >= stateClosed || c.writeClosed {
		return ErrClosed
	}
	c.loop.closeNotify(c)
	c.writeClosed = true
	c.writeShutdown.Store(true)
	c.finPending = true
	return c.loop.flush(c)
}

// Close ends the connection: OnClose runs with a nil error, output queued
// before Close is sent, then the descriptor is closed. It is safe from any
// goroutine; the work happens on the loop after the current callback.
// Closing twice returns ErrClosed.
func (c *Conn) Close() error {
	if !c.closeQueued.CompareAndSwap(false, true) {
		return ErrClosed
	}
	c.loop.submit(task{kind: taskClose, c: c})
	return nil
}

// AsyncWrite queues a copy of p for the connection from any goroutine; the
// loop writes it after the current callback, in the order AsyncWrites were
// made. It fails with ErrQueueFull, queueing nothing, when the loop's queue
// holds Config.AsyncQueueBytes or the connection's unsent output has reached
// Config.WriteHighWater (a peer that does not read), and with ErrClosed
// after Close or CloseWrite.
func (c *Conn) AsyncWrite(p []byte) error {
	if c.closeQueued.Load() || c.writeShutdown.Load() {
		return ErrClosed
	}
	if c.backlog.Load() >= int64(c.loop.cfg.WriteHighWater) {
		return ErrQueueFull
	}
	data := buffer.Default.Get(len(p))[:len(p)]
	copy(data, p)
	if !c.loop.submit(task{kind: taskWrite, c: c, data: data}) {
		buffer.Default.Put(data[:cap(data)])
		return ErrQueueFull
	}
	return nil
}

// Run calls f on the connection's loop goroutine, from any goroutine, after
// the current callback. Output f writes is flushed when it returns. f is
// not run if the connection is closed by then. Run itself does not
// allocate: pass a func value made once, not a new closure per call, on a
// hot path.
func (c *Conn) Run(f func(c *Conn)) error {
	if !c.loop.submit(task{kind: taskConnFunc, c: c, cfn: f}) {
		return ErrQueueFull
	}
	return nil
}

// SetHandler hands the connection to h: its next events go to h's
// callbacks (a protocol upgrade, or an adapter that wraps each connection
// in its own object). It must be called on the loop goroutine.
func (c *Conn) SetHandler(h Handler) {
	c.handler = h
	_, c.hasWatcher = h.(OutputWatcher)
}

// SetNoDelay turns TCP_NODELAY on (Nagle off, the default) or off; unix
// sockets ignore it. It must be called on the loop goroutine.
func (c *Conn) SetNoDelay(on bool) error {
	if c.state >= stateClosed {
		return ErrClosed
	}
	return setNoDelay(int(c.fd), int(c.family), on)
}

// Loop returns the index of the event loop that owns the connection.
func (c *Conn) Loop() int { return c.loop.index }
