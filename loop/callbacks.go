package loop

import (
	"fmt"
	"runtime/debug"
)

// PanicError is the close reason of a connection whose handler panicked.
type PanicError struct {
	Callback string // "OnOpen", "OnData", "OnClose" or "Run"
	Value    any    // what was passed to panic
	Stack    []byte // the panicking goroutine's stack
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("loop: panic in %s: %v", e.Callback, e.Value)
}

// Each callback runs behind a recover: a panic is logged with its stack and
// closes only the connection whose handler panicked; the loop goes on.

func (l *eventLoop) recovered(c *Conn, callback string) {
	r := recover()
	if r == nil {
		return
	}
	err := &PanicError{Callback: callback, Value: r, Stack: debug.Stack()}
	l.cfg.Logger.Error("loop: handler panic; closing its connection",
		"callback", callback, "panic", fmt.Sprint(r), "remote", fmt.Sprint(c.remote), "stack", string(err.Stack))
	l.closeConn(c, err, true)
}

func (l *eventLoop) callOpen(c *Conn) {
	defer l.recovered(c, "OnOpen")
	c.handler.OnOpen(c)
}

func (l *eventLoop) callData(c *Conn) {
	defer l.recovered(c, "OnData")
	c.handler.OnData(c)
}

func (l *eventLoop) callOutput(c *Conn) {
	defer l.recovered(c, "OnOutput")
	c.watcher.OnOutput(c, c.OutboundBuffered())
}

// callDialDone runs a dial's completion callback; a panic closes the
// connection if the dial made one.
func (l *eventLoop) callDialDone(c *Conn, done func(*Conn, error), arg *Conn, err error) {
	defer l.recovered(c, "dial callback")
	done(arg, err)
}

func (l *eventLoop) callClose(c *Conn, reason error) {
	defer l.recovered(c, "OnClose")
	c.handler.OnClose(c, reason)
}

// runFunc runs a Conn.Run function, then keeps what it left unconsumed and
// flushes what it wrote, as after OnData.
func (l *eventLoop) runFunc(c *Conn, f func(*Conn)) {
	func() {
		defer l.recovered(c, "Run")
		f(c)
	}()
	if c.state == stateOpen {
		l.keepLeftovers(c)
		l.flush(c)
	}
}
