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
	in.unread = max(in.unread-n, 0)
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
	// Refused once the bound is reached, not when this write would cross
	// it: a reply larger than the bound still goes out whole to a peer
	// that reads, and a writer that waits for outputProgress between writes
	// never sees the error.
	if int64(len(s.out))+s.pending.Load() >= s.maxPending.Load() {
		return 0, loop.ErrQueueFull
	}
	s.out = appendPooled(s.out, p)
	s.written.Add(int64(len(p)))
	s.scheduleFlushLocked(c)
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
func (s *Socket) scheduleFlushLocked(c *loop.Conn) {
	if s.flushScheduled || s.inDispatch.Load() {
		return
	}
	s.flushScheduled = true
	c.Run(s.flushFn)
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
	if len(s.out) > 0 {
		s.scheduleFlushLocked(c)
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
	out := s.out
	s.out = nil
	s.flushScheduled = false
	if len(out) > 0 {
		s.pending.Add(int64(len(out)))
	}
	return out
}

// send hands out to c with no second copy and returns its memory to the pool.
func (s *Socket) send(c *loop.Conn, out []byte) {
	if len(out) > 0 {
		c.WriteThrough(out)
		s.pending.Store(int64(c.OutboundBuffered()))
	}
	if cap(out) > 0 {
		buffer.Default.Put(out[:cap(out)])
	}
}

// flushOnLoop is Flush's work on the loop goroutine.
func (s *Socket) flushOnLoop(c *loop.Conn) {
	if s.conn.Load() == c {
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
	s.dialing++ // a Connect in flight is abandoned too
	c := s.conn.Swap(nil)
	if c == nil {
		s.mu.Unlock()
		return errInvalidSocket(errNotConnected)
	}
	out := s.out
	s.out = nil
	s.flushScheduled = false
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

// socketHandler is the Socket as its connection's loop.Handler.
type socketHandler Socket

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
	avail := c.InboundBuffered()
	s.dataEvent.BytesLoaded = avail - s.unread
	s.unread = avail
	s.inDispatch.Store(true)
	s.DispatchEvent(s.dataEvent)
	s.endTurn(c)
}

// OnOutput dispatches OutputProgress as output drains.
func (h *socketHandler) OnOutput(c *loop.Conn, pending int) {
	s := (*Socket)(h)
	if s.conn.Load() != c { // an old connection still draining
		return
	}
	s.pending.Store(int64(pending))
	if !s.HasEventListener(OutputProgress) {
		return
	}
	if s.outEvent == nil {
		s.outEvent = NewOutputProgressEvent(OutputProgress, false, false, 0, 0)
	}
	s.outEvent.BytesPending = pending
	s.outEvent.BytesTotal = int(s.written.Load())
	s.inDispatch.Store(true)
	s.DispatchEvent(s.outEvent)
	s.endTurn(c)
}

// OnClose dispatches Close when the peer or the system ended the
// connection; a local Close (already detached) dispatches nothing.
func (h *socketHandler) OnClose(c *loop.Conn, reason error) {
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
