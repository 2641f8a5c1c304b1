package loop

import (
	"fmt"
	"runtime/debug"
)

// PanicError is the close reason of a connection whose handler panicked.
type PanicError struct {
	Callback string // "OnOpen", "OnData", "OnOutput", "OnClose", "Run", "VerifyHandshake" or "dial callback"
	Value    any    // what was passed to panic
	Stack    []byte // the panicking goroutine's stack
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("loop: panic in %s: %v", e.Callback, e.Value)
}

// Each callback runs behind a recover: a panic is logged with its stack and
// closes only the connection whose handler panicked; the loop goes on.

func (l *eventLoop) recovered(c *Conn, callback string) {
	if r := recover(); r != nil {
		l.handlePanic(c, callback, r)
	}
}

// handlePanic logs a recovered panic and closes c.
func (l *eventLoop) handlePanic(c *Conn, callback string, r any) {
	err := &PanicError{Callback: callback, Value: r, Stack: debug.Stack()}
	l.counters.panic.inc()
	l.cfg.Logger.Error("loop: handler panic; closing its connection",
		"callback", callback, "panic", fmt.Sprint(r), "remote", c.RemoteAddr().String(), "stack", string(err.Stack))
	l.closeConn(c, err, true)
}

// While a callback of c runs, l.current is c: its writes need no place on
// the dirty list, because the loop flushes c as soon as the callback returns.

func (l *eventLoop) callOpen(c *Conn) {
	l.current = c
	defer l.endCallback(c, "OnOpen")
	c.handler.OnOpen(c)
}

// callOutput reports output progress. A handler that writes its next chunk
// from OnOutput would otherwise recurse once per chunk for as long as the
// kernel takes them: a nested report only asks the outer one to go again.
func (l *eventLoop) callOutput(c *Conn) {
	if c.inOutput {
		c.outputAgain = true
		return
	}
	c.inOutput = true
	defer func() { c.inOutput = false }()
	defer l.recovered(c, "OnOutput")
	for {
		c.outputAgain = false
		c.handler.(OutputWatcher).OnOutput(c, c.OutboundBuffered())
		if !c.outputAgain || c.state == stateClosed {
			break
		}
	}
	// OnOutput may have consumed input (a protocol resumed there): outside
	// a callback nothing else would release the ring or resume reading.
	if l.current == nil && c.state == stateOpen {
		l.keepLeftovers(c)
		l.updateReading(c)
	}
}

// callDialDone runs a dial's completion callback; a panic closes the
// connection if the dial made one.
func (l *eventLoop) callDialDone(c *Conn, done func(*Conn, error), arg *Conn, err error) {
	defer l.recovered(c, "dial callback")
	done(arg, err)
}

func (l *eventLoop) callClose(c *Conn, reason error) {
	l.current = c
	defer l.endCallback(c, "OnClose")
	c.handler.OnClose(c, reason)
}

// runFunc runs a Conn.Run function, then keeps what it left unconsumed and
// flushes what it wrote, as after OnData.
func (l *eventLoop) runFunc(c *Conn, f func(*Conn)) {
	func() {
		l.current = c
		defer l.endCallback(c, "Run")
		f(c)
	}()
	if c.state == stateOpen {
		l.keepLeftovers(c)
		l.flush(c)
		l.resumeData(c)
	}
}
