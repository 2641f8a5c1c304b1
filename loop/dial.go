package loop

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// DialOptions tune one outbound connection.
type DialOptions struct {
	// Timeout bounds the connect; 0 means no timeout beyond the kernel's.
	Timeout time.Duration
	// LocalAddr, if set, is bound before connecting (an IP literal with an
	// optional port, e.g. "127.0.0.2:0"): a load generator uses it to go
	// past one source address's ephemeral ports.
	LocalAddr string
	// Context is the connection's initial Context() value, visible in OnOpen.
	Context any
	// TLS, if set, makes the connection the client side of a TLS session
	// with this configuration (its ServerName defaults to the host of the
	// address dialled): OnOpen, and the dial's outcome, come once the
	// handshake is done, within Config.TLSHandshakeTimeout; a failed
	// handshake is the dial's error. OnData sees plaintext (tls.go).
	// Renegotiation is refused whatever the configuration says.
	TLS *tls.Config
}

// dialState follows one connect(2) in progress.
type dialState struct {
	timer *timer
	done  func(*Conn, error)
}

// DialAsync starts connecting to address and returns at once. The
// connection joins a loop with h as its handler. On success OnOpen runs,
// then done(c, nil); on failure (refusal, timeout, ErrShutdown) only
// done(nil, err). done runs on the loop goroutine, may be nil, and must
// not block. Host names are resolved on the calling goroutine. Safe from
// any goroutine.
func (e *Engine) DialAsync(network, address string, h Handler, opts DialOptions, done func(*Conn, error)) error {
	_, err := e.dialAsync(network, address, h, opts, done)
	return err
}

func (e *Engine) dialAsync(network, address string, h Handler, opts DialOptions, done func(*Conn, error)) (*Conn, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	ep, err := resolve(network, address)
	if err != nil {
		return nil, err
	}
	fd, err := sysSocket(ep.family, unix.SOCK_STREAM)
	if err != nil {
		return nil, err
	}
	fail := func(err error) error {
		unix.Close(fd)
		return err
	}
	if opts.LocalAddr != "" {
		local, err := resolve(network, opts.LocalAddr)
		if err != nil {
			return nil, fail(err)
		}
		if err := bindTo(fd, local.sa); err != nil {
			return nil, fail(err)
		}
	}
	if err := setNoDelay(fd, ep.family, !e.cfg.Nagle); err != nil {
		return nil, fail(err)
	}
	connected, err := connectTo(fd, ep.sa)
	if err != nil {
		return nil, fail(err)
	}
	e.lifeMu.RLock()
	defer e.lifeMu.RUnlock()
	if e.closed.Load() {
		return nil, fail(ErrClosed)
	}
	l := e.pickLoop()
	c := l.newConn(fd, ep.family, h)
	c.ctx = opts.Context
	c.extended().dial = &dialState{done: done}
	c.raddr = sockAddrOf(ep.sa)
	if ep.family == unix.AF_UNIX {
		c.extended().unixPath = &ep.path
	}
	if opts.TLS != nil {
		c.makeTLS(clientConfig(opts.TLS, address), false)
	}
	c.state = stateConnecting
	if connected {
		c.state = stateNew
	}
	l.submit(task{kind: taskFunc, fn: func() { l.startDial(c, opts.Timeout) }})
	return c, nil
}

// Dial connects to address and waits for the outcome, or for ctx. It is
// DialAsync for goroutines that can block; never call it on a loop
// goroutine (from a handler), where the wait would stall the loop.
func (e *Engine) Dial(ctx context.Context, network, address string, h Handler, opts DialOptions) (*Conn, error) {
	type result struct {
		c   *Conn
		err error
	}
	ch := make(chan result, 1)
	if dl, ok := ctx.Deadline(); ok && (opts.Timeout <= 0 || time.Until(dl) < opts.Timeout) {
		opts.Timeout = max(time.Until(dl), time.Nanosecond)
	}
	c, err := e.dialAsync(network, address, h, opts, func(c *Conn, err error) { ch <- result{c, err} })
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		// The timer, set from the deadline, ends the dial; a cancel without
		// one leaves a connection that may still open: close it if it does.
		l := c.loop
		l.submit(task{kind: taskFunc, fn: func() { l.failDial(c, ctx.Err()) }})
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// startDial registers a dialled connection on its loop and arms its timeout.
func (l *eventLoop) startDial(c *Conn, timeout time.Duration) {
	l.counters.dialled.inc()
	if l.stopping {
		l.failDial(c, ErrShutdown)
		return
	}
	if timeout > 0 && c.state == stateConnecting {
		d := c.ext.dial
		d.timer = newTimer(func() { l.failDial(c, ErrDialTimeout) })
		l.timers.schedule(d.timer, now()+int64(timeout))
	}
	l.register(c)
	if c.state != stateConnecting {
		l.dialDone(c)
	}
}

// finishDial runs when a connecting socket turns writable: connect(2) has
// finished, and SO_ERROR tells how.
func (l *eventLoop) finishDial(c *Conn) {
	if err := connectResult(int(c.fd)); err != nil {
		l.failDial(c, err)
		return
	}
	l.timers.stop(c.ext.dial.timer)
	if l.io.pollApart() {
		l.setInterest(c, 0) // polled while connecting; watched as a stream from here
	}
	l.open(c)
	l.dialDone(c)
}

// dialDone reports the outcome of a dial whose connect succeeded, after
// OnOpen: the connection, or ErrClosed if OnOpen closed it (or panicked).
func (l *eventLoop) dialDone(c *Conn) {
	if c.ext == nil || c.isTLS() && c.ext.tls.handshaking { // then after the handshake (handshakeDone)
		return
	}
	d := c.ext.dial
	c.ext.dial = nil
	if d == nil || d.done == nil {
		return
	}
	if c.state == stateOpen {
		l.callDialDone(c, d.done, c, nil)
	} else {
		l.callDialDone(c, d.done, nil, ErrClosed)
	}
}

// failDial ends a dial that did not connect.
func (l *eventLoop) failDial(c *Conn, err error) {
	if c.state == stateOpen && c.isTLS() && c.ext.tls.handshaking {
		l.closeHandshaking(c, err)
		return
	}
	if c.state != stateConnecting && (c.state != stateNew || c.ext == nil || c.ext.dial == nil) {
		return
	}
	d := c.ext.dial
	c.closeWhy = ReasonOf(err)
	l.closeFd(c)
	if d.done != nil {
		l.callDialDone(c, d.done, nil, err)
	}
}

// IsTimeout reports whether err is a timeout of this package (dial, idle or
// write), as net.Error's Timeout does.
func IsTimeout(err error) bool {
	var t *timeoutError
	return errors.As(err, &t)
}
