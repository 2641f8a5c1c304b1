package serversocket

import (
	"errors"

	"github.com/airsock/airsock/buffer"
	"github.com/airsock/airsock/loop"
)

// How bytes move between a Socket and its loop.Conn.

var errNotConnected = errors.New("socket not connected")

// socketInput is the Socket as DataInput's source: the connection's input,
// or nothing once closed (reads then fail with IOError #2002).
type socketInput Socket

func (in *socketInput) InboundBuffered() int {
	if c := in.conn.Load(); c != nil {
		return c.InboundBuffered()
	}
	return 0
}

// closed reports errNotConnected once the socket has no connection.
func (in *socketInput) closed() error {
	if in.conn.Load() == nil {
		return errNotConnected
	}
	return nil
}

func (in *socketInput) Peek(n int) ([]byte, error) {
	c := in.conn.Load()
	if c == nil {
		return nil, errNotConnected
	}
	return c.Peek(n)
}

func (in *socketInput) Discard(n int) (int, error) {
	c := in.conn.Load()
	if c == nil {
		return 0, errNotConnected
	}
	n, err := c.Discard(n)
	if x := in.ext.Load(); x != nil { // nil: no SocketData announced any input yet
		x.unread = max(x.unread-n, 0)
		x.consumed += int64(n)
	}
	return n, err
}

// Peek returns the first n unread input bytes without consuming them (n <=
// 0: all) and without copying, unless they wrap in the connection's ring:
// the zero-copy path for Go code. The slice is valid until the next read.
// Fewer than n bytes: EOFError; not connected: IOError. Loop goroutine only.
func (s *Socket) Peek(n int) ([]byte, error) { return s.DataInput.peek(n) }

// ReserveInbound lets the socket hold up to n unread input bytes, for a
// message the application reads only once all of it has arrived (it waits
// for BytesAvailable to reach n). Without it the engine stops reading at
// loop.Config.MaxInbound unread bytes, and closes a socket left there for
// InboundTimeout; AIR itself buffers without bound. The room comes from the
// engine's InboundBudget and goes back once the input is read: see
// loop.Conn.ReserveInbound. It fails with an IOError #2002 when not
// connected, and wraps loop.ErrInboundBudget when there is no room now.
// Loop goroutine only.
func (s *Socket) ReserveInbound(n int) error {
	c := s.conn.Load()
	if c == nil {
		return errInvalidSocket(errNotConnected)
	}
	if err := c.ReserveInbound(n); err != nil {
		return errInvalidSocket(err)
	}
	return nil
}

// InboundLimit returns how many unread input bytes make the engine stop
// reading the socket: loop.Config.MaxInbound plus what ReserveInbound
// added; 0 when not connected. A reader waiting for the end of a message
// whose length it cannot know in advance (an AMF object, say) waits in vain
// once BytesAvailable reaches it, and reserves more or gives up. An airsock
// extension; loop goroutine only.
func (s *Socket) InboundLimit() int {
	if c := s.conn.Load(); c != nil {
		return c.InboundLimit()
	}
	return 0
}

// Discard consumes up to n unread input bytes (n < 0: all) and returns how
// many. Loop goroutine only.
func (s *Socket) Discard(n int) (int, error) {
	m, err := (*socketInput)(s).Discard(n)
	if err != nil {
		return 0, errInvalidSocket(err)
	}
	return m, nil
}

// socketOutput is the Socket as DataOutput's sink: a buffer that any
// goroutine may append to, emptied into the connection at each flush.
// DataOutput holds s.mu (its mu field) around each typed write, so these
// methods run with the lock held.
type socketOutput Socket

// lock and unlock take the socket's lock for DataOutput. Kept out of line
// (sync.Mutex's fast path would be inlined here), so that DataOutput's
// lock and unlock stay small enough to be inlined into every typed write.
//
//go:noinline
func (o *socketOutput) lock() { o.mu.Lock() }

//go:noinline
func (o *socketOutput) unlock() { o.mu.Unlock() }

func (o *socketOutput) Write(p []byte) (int, error) {
	return appendOutputLocked((*Socket)(o), p)
}

func (o *socketOutput) WriteString(str string) (int, error) {
	return appendOutputLocked((*Socket)(o), str)
}

// appendOutputLocked appends p to the socket's output; s.mu is held.
func appendOutputLocked[T []byte | string](s *Socket, p T) (int, error) {
	c := s.conn.Load()
	if c == nil {
		return 0, errNotConnected
	}
	x := s.x()
	// Refused once the bound is reached, not when this write would cross
	// it: a reply larger than the bound still goes out whole to a peer
	// that reads, and a writer that waits for outputProgress between writes
	// never sees the error.
	if int64(len(x.out))+x.pending.Load() >= s.maxPending.Load() {
		return 0, loop.ErrQueueFull
	}
	x.out = appendPooled(x.out, p)
	x.written.Add(int64(len(p)))
	s.scheduleFlushLocked(c, x)
	return len(p), nil
}

// Write appends p to the output buffer, for code written against
// io.Writer; it is WriteBytes(p, 0, 0). Callable on any goroutine.
func (s *Socket) Write(p []byte) (int, error) {
	if err := s.WriteBytes(p, 0, 0); err != nil {
		return 0, err
	}
	return len(p), nil
}

// appendPooled appends p to b, taking b's memory from the buffer pool so that
// an idle socket holds none.
func appendPooled[T []byte | string](b []byte, p T) []byte {
	if need := len(b) + len(p); need > cap(b) {
		nb := buffer.Default.Get(max(need, 2*cap(b)))[:len(b)]
		copy(nb, b)
		if cap(b) > 0 {
			buffer.Default.Put(b[:cap(b)])
		}
		b = nb
	}
	return append(b, p...)
}

// scheduleFlushLocked makes sure output written outside a dispatch turn is
// sent on the next loop turn; inside one, the turn's end sends it.
func (s *Socket) scheduleFlushLocked(c *loop.Conn, x *socketExt) {
	if x.flushScheduled || s.inDispatch.Load() {
		return
	}
	x.flushScheduled = true
	c.Run(flushOnLoop)
}

// Flush sends the buffered output: at once when called outside a listener,
// or as soon as the running listener returns when called inside one.
// Not connected: IOError #2002. Callable on any goroutine.
func (s *Socket) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conn.Load()
	if c == nil {
		return errInvalidSocket(errNotConnected)
	}
	if x := s.ext.Load(); x != nil && len(x.out) > 0 {
		s.scheduleFlushLocked(c, x)
	}
	return nil
}

// takeOutput removes and returns the buffered output.
func (s *Socket) takeOutput() []byte {
	s.mu.Lock()
	out := s.takeOutputLocked()
	s.mu.Unlock()
	return out
}

// takeOutputLocked empties the output buffer. Its bytes count as pending
// until send records the connection's own figure, so BytesPending (and the
// MaxBytesPending check) never misses bytes in transit.
func (s *Socket) takeOutputLocked() []byte {
	x := s.ext.Load()
	if x == nil { // never written to
		return nil
	}
	out := x.out
	x.out = nil
	x.flushScheduled = false
	if len(out) > 0 {
		x.pending.Add(int64(len(out)))
	}
	return out
}

// send hands out to c with no second copy and returns its memory to the
// pool. BytesPending then counts what c kept, which the loop knows without
// asking the socket back; only if c kept some does the socket follow c's
// progress reports until they are sent (watch), or always while an
// OutputProgress listener wants them.
func (s *Socket) send(c *loop.Conn, out []byte) {
	if len(out) > 0 {
		x := s.ext.Load() // out came from it
		current := s.conn.Load() == c
		if current && s.HasEventListener(OutputProgress) {
			s.watch(c, true) // before the write, so that its progress is reported too
		}
		c.WriteThrough(out)
		n := c.OutboundBuffered()
		x.pending.Store(int64(n))
		if n > 0 && current {
			s.watch(c, true)
		}
	}
	if cap(out) > 0 {
		buffer.Default.Put(out[:cap(out)])
	}
}

// flushOnLoop is Flush's work on the loop goroutine. One func value for all
// sockets: the connection's context leads to its socket.
func flushOnLoop(c *loop.Conn) {
	if s := socketOf(c); s != nil && s.conn.Load() == c {
		s.send(c, s.takeOutput())
	}
}

// endTurn ends a dispatch turn on the loop goroutine: what the listeners
// wrote goes to the kernel.
func (s *Socket) endTurn(c *loop.Conn) {
	s.mu.Lock()
	out := s.takeOutputLocked()
	s.inDispatch.Store(false)
	s.mu.Unlock()
	s.send(c, out)
}

// Close closes the connection: output written before Close is still sent,
// then the connection ends. No Close event is dispatched; reads and writes
// afterwards fail with IOError #2002, and the socket may Connect again.
// Closing a socket that is not connected is an IOError #2002. Callable on
// any goroutine.
func (s *Socket) Close() error {
	s.mu.Lock()
	var out []byte
	if x := s.ext.Load(); x != nil { // nil: no Connect was made, no output written
		x.dialing++ // a Connect in flight is abandoned too
		out = x.out
		x.out = nil
		x.flushScheduled = false
	}
	c := s.conn.Swap(nil)
	if c == nil {
		s.mu.Unlock()
		return errInvalidSocket(errNotConnected)
	}
	s.mu.Unlock()
	closeAfter(c, out)
	return nil
}

// closeAfter sends out on c, then closes c. Run, unlike AsyncWrite, is never
// refused for backpressure, so nothing written before Close is dropped.
func closeAfter(c *loop.Conn, out []byte) {
	if len(out) == 0 {
		c.Close()
		return
	}
	c.Run(func(c *loop.Conn) {
		c.Write(out)
		buffer.Default.Put(out[:cap(out)])
		c.Close()
	})
}

// socketHandler is the Socket as its connection's loop.Handler, and
// socketWatcher the same handler that is also a loop.OutputWatcher. A
// connection has the watcher only while the socket needs the loop's
// progress reports: while an OutputProgress listener is registered, or
// while the connection holds output, whose drain BytesPending and
// MaxBytesPending must see. Otherwise the loop has no reason to call back
// into the socket after each reply it sends.
type (
	socketHandler Socket
	socketWatcher Socket
)

// watch gives c the socketWatcher (on) or the socketHandler. c's context
// names the same handler, so that c's loop goroutine can tell which one c
// has and find the socket from c alone (socketOf). Loop goroutine of c.
func (s *Socket) watch(c *loop.Conn, on bool) {
	var h loop.Handler = (*socketHandler)(s)
	if on {
		h = (*socketWatcher)(s)
	}
	if c.Context() != h {
		c.SetHandler(h)
		c.SetContext(h)
	}
}

// socketOf returns the socket whose handler c has, or nil. Loop goroutine
// of c.
func socketOf(c *loop.Conn) *Socket {
	switch h := c.Context().(type) {
	case *socketHandler:
		return (*Socket)(h)
	case *socketWatcher:
		return (*Socket)(h)
	}
	return nil
}

// OnOpen never runs: connections reach the socket already open, through
// ServerSocket or dialHandler.
func (h *socketHandler) OnOpen(c *loop.Conn) {}

// OnData dispatches SocketData for the bytes that arrived, then flushes.
func (h *socketHandler) OnData(c *loop.Conn) {
	s := (*Socket)(h)
	if s.conn.Load() != c { // closed from another goroutine meanwhile
		c.Discard(-1)
		return
	}
	x := s.x()
	avail := c.InboundBuffered()
	x.dataEvent.BytesLoaded = avail - x.unread
	x.unread = avail
	s.inDispatch.Store(true)
	s.DispatchEvent(&x.dataEvent)
	s.endTurn(c)
}

// OnClose dispatches Close when the peer or the system ended the
// connection; a local Close (already detached) dispatches nothing.
func (h *socketHandler) OnClose(c *loop.Conn, reason error) {
	socketsClosed.Add(1)
	s := (*Socket)(h)
	if s.conn.Load() != c || reason == nil {
		s.conn.CompareAndSwap(c, nil)
		return
	}
	s.inDispatch.Store(true)
	s.DispatchEvent(NewEvent(Close, false, false))
	s.mu.Lock()
	s.conn.CompareAndSwap(c, nil)
	s.mu.Unlock()
	// After a half-close the loop still sends what the close listeners
	// wrote; after an error it drops it.
	s.endTurn(c)
}

// OnOpen, OnData and OnClose are socketHandler's.
func (w *socketWatcher) OnOpen(c *loop.Conn)             {}
func (w *socketWatcher) OnData(c *loop.Conn)             { (*socketHandler)(w).OnData(c) }
func (w *socketWatcher) OnClose(c *loop.Conn, err error) { (*socketHandler)(w).OnClose(c, err) }

// OnOutput records how much output c still holds, for BytesPending, and
// dispatches OutputProgress if someone listens.
func (w *socketWatcher) OnOutput(c *loop.Conn, pending int) {
	s := (*Socket)(w)
	if s.conn.Load() != c { // an old connection still draining
		return
	}
	x := s.ext.Load() // made by the write that made the socket watch
	x.pending.Store(int64(pending))
	if !s.HasEventListener(OutputProgress) {
		// Drained, and nobody listens: no progress is left to follow. The
		// handler changes only here, where no listener ran and so nothing
		// was written meanwhile: the loop is not about to report more
		// progress to this OnOutput.
		if pending == 0 {
			s.watch(c, false)
		}
		return
	}
	if x.outEvent == nil {
		x.outEvent = NewOutputProgressEvent(OutputProgress, false, false, 0, 0)
	}
	x.outEvent.BytesPending = pending
	x.outEvent.BytesTotal = int(x.written.Load())
	s.inDispatch.Store(true)
	s.DispatchEvent(x.outEvent)
	s.endTurn(c)
}
