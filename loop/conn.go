package loop

import (
	"io"
	"net"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/buffer"
	"github.com/airsock/airsock/poller"
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
	window       []byte // the unconsumed part of the loop's read buffer, during OnData while in is empty (see Peek)
	in           buffer.Ring
	out          buffer.Ring
	ext          *connExt     // timers and dial state, made on first use
	lastActivity int64        // loop time of the last byte moved either way (IdleTimeout)
	backlog      atomic.Int64 // out.Len() as of the last flush, for AsyncWrite's bound
	laddr, raddr sockAddr
	fd           int32
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
	progressed    bool // sendNow moved output; OnOutput hears of it at the next flush
	peerEOF       bool // the peer has finished sending
	lingering     bool // closed, output sent, waiting for the peer's FIN (finishClose)
	dirty         bool // on the loop's flush list
	shutWrite     bool // CloseWrite requested: shut down once out drains
	writeClosed   bool // no more writes accepted
	closeQueued   atomic.Bool
	writeShut     atomic.Bool // CloseWrite was called: AsyncWrite refuses
}

// connExt is the part of a Conn that most connections never need.
type connExt struct {
	dial         *dialState
	idle, stall  *timer
	inStall      *timer   // reading paused at the inbound limit (InboundTimeout)
	reserved     int64    // inbound room beyond MaxInbound granted by ReserveInbound
	heldSince    int      // bytes buffered at the reservation plus those read since: less now means some were consumed
	userTimers   []*timer // AfterFunc timers still scheduled
	lastProgress int64    // loop time the pending output last moved (WriteTimeout)
	unixPath     string   // a unix socket's local path
}

// x returns c's extension, making it on first use.
func (c *Conn) x() *connExt {
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
	if c.family == unix.AF_UNIX {
		name := ""
		if c.ext != nil {
			name = c.ext.unixPath
		}
		return &net.UnixAddr{Name: name, Net: "unix"}
	}
	return c.laddr.tcp()
}

// RemoteAddr returns the peer's address (a new value each call). Safe from
// any goroutine once OnOpen has run.
func (c *Conn) RemoteAddr() net.Addr {
	if c.family == unix.AF_UNIX {
		return &net.UnixAddr{Net: "unix"}
	}
	return c.raddr.tcp()
}

// InboundBuffered returns how many received bytes are waiting to be consumed.
func (c *Conn) InboundBuffered() int {
	if c.in.Len() > 0 {
		return c.in.Len()
	}
	return len(c.window)
}

// Peek returns the first n unconsumed bytes without consuming them (n <= 0:
// all of them) as one slice, copying only when buffered input wraps in the
// connection's ring. It returns io.ErrShortBuffer if fewer than n bytes are
// buffered. The slice is valid until the next call that consumes input or
// until the callback returns.
func (c *Conn) Peek(n int) ([]byte, error) {
	if c.in.Len() > 0 {
		if n > c.in.Len() {
			return nil, io.ErrShortBuffer
		}
		if n <= 0 {
			n = -1
		}
		return c.in.Contiguous(n), nil
	}
	if n > len(c.window) {
		return nil, io.ErrShortBuffer
	}
	if n <= 0 {
		return c.window, nil
	}
	return c.window[:n], nil
}

// Next returns the first n unconsumed bytes and consumes them (n <= 0: all).
// It returns io.ErrShortBuffer, consuming nothing, if fewer than n are
// buffered. The slice is valid until the next call that consumes input or
// until the callback returns.
func (c *Conn) Next(n int) ([]byte, error) {
	b, err := c.Peek(n)
	if err != nil {
		return nil, err
	}
	if c.in.Len() > 0 {
		// Contiguous left the bytes linear at the ring's head, and Discard
		// does not move them: b stays valid until the next write into in.
		c.in.Discard(len(b))
	} else {
		c.window = c.window[len(b):]
	}
	return b, nil
}

// Discard consumes up to n unconsumed bytes (n < 0: all) and returns how many.
func (c *Conn) Discard(n int) (int, error) {
	if c.in.Len() > 0 {
		return c.in.Discard(n), nil
	}
	if n < 0 || n > len(c.window) {
		n = len(c.window)
	}
	c.window = c.window[n:]
	return n, nil
}

// Read copies unconsumed bytes into p and consumes them, for code written
// against io.Reader. It returns 0, nil when nothing is buffered: it never
// waits.
func (c *Conn) Read(p []byte) (int, error) {
	if c.in.Len() > 0 {
		head, tail := c.in.Peek(len(p))
		n := copy(p, head)
		n += copy(p[n:], tail)
		c.in.Discard(n)
		return n, nil
	}
	n := copy(p, c.window)
	c.window = c.window[n:]
	return n, nil
}

// Write queues p to be sent and returns len(p). It never blocks, and p may
// be reused on return. Small writes are copied and all of them leave in one
// syscall when the callback returns (or at Flush); a write of 8 KiB or more
// goes to the kernel at once, with what is queued before it, in one writev
// from p itself (copying it would cost more than coalescing saves), and
// only what the kernel does not take is copied. Order is always kept.
// After Close, CloseWrite or the peer's reset it returns ErrClosed.
func (c *Conn) Write(p []byte) (int, error) {
	if c.writeClosed || c.state >= stateClosed {
		return 0, ErrClosed
	}
	c.loop.queueOutput(c, p)
	return len(p), nil
}

// Writev queues every slice of bs, in order, as Write does, and returns the
// total length.
func (c *Conn) Writev(bs [][]byte) (int, error) {
	n := 0
	for _, b := range bs {
		m, err := c.Write(b)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Flush hands queued output to the kernel now rather than when the callback
// returns. What the kernel cannot take stays queued and is sent as the socket
// drains.
func (c *Conn) Flush() error {
	if c.state >= stateClosed {
		return ErrClosed
	}
	return c.loop.flush(c)
}

// WriteThrough is Write followed by Flush without the copy: when no output is
// pending, p goes to the kernel straight from the caller's memory and only
// what the kernel does not take is copied. p may be reused on return.
func (c *Conn) WriteThrough(p []byte) (int, error) {
	if c.writeClosed || c.state >= stateClosed {
		return 0, ErrClosed
	}
	if err := c.loop.writeThrough(c, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// OutboundBuffered returns how many written bytes the kernel has not taken yet.
func (c *Conn) OutboundBuffered() int {
	return c.out.Len() + c.loop.stagedFor(c)
}

// CloseWrite shuts the write side down (a TCP FIN) once queued output has
// been sent; reading goes on until the peer closes.
func (c *Conn) CloseWrite() error {
	if c.state >= stateClosed || c.writeClosed {
		return ErrClosed
	}
	c.writeClosed = true
	c.writeShut.Store(true)
	c.shutWrite = true
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
	if c.closeQueued.Load() || c.writeShut.Load() {
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
