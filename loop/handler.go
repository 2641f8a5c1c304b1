package loop

// Handler receives a connection's events. Every method runs on the goroutine
// of the loop that owns the connection, one at a time, so a handler needs no
// locking for per-connection state. A handler must not block: while it runs,
// every other connection of its loop waits.
//
// The contract never exposes readiness ("the socket is readable"), only data
// in hand, so a completion-based backend can deliver the same events.
type Handler interface {
	// OnOpen runs once, when an accepted or dialled connection is ready.
	OnOpen(c *Conn)
	// OnData runs when new bytes have arrived. They, and whatever earlier
	// calls left unconsumed, are read with c.Peek, c.Next or c.Discard;
	// bytes left unconsumed are kept and offered again with the next data.
	// A handler that stopped because c.Writable() was false is called
	// again, with no new bytes, once the output has drained to
	// Config.WriteLowWater. One that needs more than Config.MaxInbound
	// buffered to make progress asks for the room with c.ReserveInbound.
	OnData(c *Conn)
	// OnClose runs once, when the connection stops being readable: err is
	// nil after a local Close, io.EOF when the peer closed (or half-closed)
	// its side, and otherwise the reason (a syscall error, ErrShutdown,
	// ErrIdleTimeout, ...). Bytes still unconsumed can be read here, and
	// bytes written here are sent before the descriptor is closed.
	OnClose(c *Conn, err error)
}

// OutputWatcher is an optional interface of a Handler: OnOutput runs on the
// loop goroutine each time some of the connection's pending output reached
// the kernel, with how many bytes are still pending (0 when all is sent).
type OutputWatcher interface {
	OnOutput(c *Conn, pending int)
}

// Funcs adapts plain functions to a Handler; a nil field does nothing.
type Funcs struct {
	Open  func(c *Conn)
	Data  func(c *Conn)
	Close func(c *Conn, err error)
}

// OnOpen calls f.Open if set. It runs on the connection's loop goroutine.
func (f Funcs) OnOpen(c *Conn) {
	if f.Open != nil {
		f.Open(c)
	}
}

// OnData calls f.Data if set; otherwise it discards the input so that an
// unhandled connection does not buffer without bound. It runs on the
// connection's loop goroutine.
func (f Funcs) OnData(c *Conn) {
	if f.Data != nil {
		f.Data(c)
		return
	}
	c.Discard(-1)
}

// OnClose calls f.Close if set. It runs on the connection's loop goroutine.
func (f Funcs) OnClose(c *Conn, err error) {
	if f.Close != nil {
		f.Close(c, err)
	}
}
