package loop

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
)

// TLS on the loop, with the standard crypto/tls and no goroutine per
// established connection. A tls.Conn runs over a tlsWire (tls_wire.go), a
// net.Conn whose bytes the loop moves, in two modes:
//
//   - Handshake: crypto/tls cannot resume a handshake after a read that
//     would block, so each handshake runs on a goroutine of its own
//     (startHandshake), which reads the ciphertext the loop appends to
//     the wire and writes its flights through the loop's task queue.
//     Config.TLSHandshakeTimeout bounds it; its input is bounded too
//     (tlsHandshakeMax: reading pauses there). It exits when the handshake ends, and the loop
//     then calls OnOpen (and, for a dial, its done callback).
//   - Established: the loop decrypts inline. After the handshake,
//     tls.Conn.Read keeps a partial record and leaves no error behind
//     when its net.Conn reports a net.Error whose Temporary() is true, so
//     the wire hands each read's ciphertext to Read and says "would
//     block" when it is used up (tls_io.go: readTLS). The plaintext is
//     what OnData sees through Peek, Next, Discard and Read, in the loop's
//     window or the connection's ring as for plain TCP. Write encrypts with
//     tls.Conn.Write, whose Write errors are sticky, so the wire's Write
//     appends the records to the connection's output and never fails.
//
// An idle established connection holds its tls.Conn (its cipher state and
// the buffers crypto/tls keeps) and no goroutine; the loop's plaintext
// buffer is shared by its connections. Close sends close_notify first.

// tlsHandshakeMax bounds the ciphertext a handshake may have waiting for
// its goroutine: a flight with a certificate chain is a few KiB, crypto/tls
// takes handshake messages of up to 64 KiB, and past the bound the loop
// stops reading the peer until the handshake ends (the data an honest
// client sends right behind its last flight waits in its socket).
const tlsHandshakeMax = 64 << 10

// tlsHandshakeGarbage is what a handshake leaves for the collector,
// counted for the scavenger (scavenge.go), so that the RSS a burst of
// handshakes takes comes back once the loops go quiet: measured, a TLS 1.3
// handshake with an ECDSA P-256 certificate allocates about 60 KB on each
// side; a conservative 48 KiB is counted.
const tlsHandshakeGarbage = 48 << 10

// ErrHandshaking is returned by a write to a TLS connection whose
// handshake has not finished (there is no such connection before OnOpen).
var ErrHandshaking = errors.New("loop: the TLS handshake has not finished")

// tlsSession is a connection's TLS state: the tls.Conn over its wire.
type tlsSession struct {
	tc          *tls.Conn
	wire        *tlsWire
	handshaking bool // the handshake goroutine runs; OnOpen has not
	held        bool // decrypt stopped at the ring's room: plaintext may wait in the tls.Conn or the wire
}

// isTLS reports whether c speaks TLS.
func (c *Conn) isTLS() bool { return c.ext != nil && c.ext.tls != nil }

// TLSState returns the connection's TLS state and true once its handshake
// is done (from OnOpen on), or false for a plain connection. Loop
// goroutine.
func (c *Conn) TLSState() (tls.ConnectionState, bool) {
	if !c.isTLS() || c.ext.tls.handshaking {
		return tls.ConnectionState{}, false
	}
	return c.ext.tls.tc.ConnectionState(), true
}

// ListenTLS is Listen for TLS connections: each is a server side of
// crypto/tls with cfg (certificates, GetCertificate for SNI, NextProtos
// for ALPN, ClientAuth, session tickets: crypto/tls's behaviour), and its
// handler hears of it once the handshake is done: OnOpen, then OnData
// with plaintext. A failed handshake closes the connection without a
// callback (the Logger hears of it at debug level). cfg must not be
// changed after. Safe from any goroutine.
func (e *Engine) ListenTLS(network, address string, cfg *tls.Config, h Handler) (*Listener, error) {
	ln, err := e.Bind(network, address)
	if err != nil {
		return nil, err
	}
	if err := ln.ServeTLS(h, 0, cfg); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// ServeTLS is Serve for TLS connections with cfg, as ListenTLS describes.
func (ln *Listener) ServeTLS(h Handler, backlog int, cfg *tls.Config) error {
	if cfg == nil {
		return errors.New("loop: ServeTLS needs a tls.Config")
	}
	ln.mu.Lock()
	ln.tls = cfg
	ln.mu.Unlock()
	return ln.Serve(h, backlog)
}

// makeTLS makes c, new, the side of a TLS session that cfg says (server:
// accepted; else a client of DialOptions.TLS).
func (c *Conn) makeTLS(cfg *tls.Config, server bool) {
	w := &tlsWire{c: c}
	w.cond.L = &w.mu
	s := &tlsSession{wire: w, handshaking: true}
	if server {
		s.tc = tls.Server(w, cfg)
	} else {
		s.tc = tls.Client(w, cfg)
	}
	c.extended().tls = s
}

// startHandshake starts c's handshake goroutine, from open: the loop
// reads the peer's flights into the wire from here on.
func (l *eventLoop) startHandshake(c *Conn) {
	s := c.ext.tls
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.TLSHandshakeTimeout)
	go func() {
		defer cancel()
		err := s.tc.HandshakeContext(ctx)
		if err != nil && errors.Is(err, context.DeadlineExceeded) {
			err = ErrHandshakeTimeout
		}
		l.submit(task{kind: taskFunc, fn: func() { l.handshakeDone(c, err) }})
	}()
}

// handshakeDone ends c's handshake on its loop: the connection opens, or
// is closed with err.
func (l *eventLoop) handshakeDone(c *Conn, err error) {
	l.engine.freed.Add(tlsHandshakeGarbage)
	if c.state != stateOpen || !c.ext.tls.handshaking {
		return // closed meanwhile (closeConn told a dial's callback)
	}
	if err != nil {
		l.cfg.Logger.Debug("loop: TLS handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		l.closeConn(c, err, true)
		return
	}
	s := c.ext.tls
	if v, ok := c.handler.(HandshakeVerifier); ok {
		if err := l.callVerify(c, v); err != nil {
			l.cfg.Logger.Debug("loop: TLS handshake refused by the handler", "remote", c.RemoteAddr().String(), "err", err)
			l.closeConn(c, err, true)
			return
		}
	}
	s.handshaking = false
	s.wire.establish()
	l.callOpen(c)
	l.flush(c)
	l.dialDone(c) // before any OnData, as for a plain dial
	if c.state == stateOpen {
		l.decrypt(c) // what came behind the handshake, and its EOF
	}
	l.flush(c)
	l.resumeData(c)
}

// abortHandshake ends c's handshake goroutine, if it runs, as c closes:
// its next read of the wire fails.
func (c *Conn) abortHandshake() {
	if c.isTLS() && c.ext.tls.handshaking {
		c.ext.tls.wire.abort()
	}
}

var _ net.Conn = (*tlsWire)(nil)

// closeHandshaking closes c, whose handshake has not finished: no
// callback (the handler has not heard of it) but a dial's, with reason.
func (l *eventLoop) closeHandshaking(c *Conn, reason error) {
	if reason == nil {
		reason = ErrClosed
	}
	d := c.ext.dial
	c.ext.dial = nil
	c.closeWhy = ReasonOf(reason)
	l.flush(c) // a failed handshake's alert, which its goroutine queued
	l.closeFd(c)
	if d != nil && d.done != nil {
		l.callDialDone(c, d.done, nil, reason)
	}
}

// clientConfig is cfg with ServerName set from the address dialled when
// it has none (crypto/tls verifies the certificate against it), and
// without renegotiation: a TLS 1.2 server's renegotiation would run a
// handshake inside a read on the loop, which cannot wait for its flights.
func clientConfig(cfg *tls.Config, address string) *tls.Config {
	host, _, err := net.SplitHostPort(address)
	name := cfg.ServerName == "" && !cfg.InsecureSkipVerify && err == nil
	if !name && cfg.Renegotiation == tls.RenegotiateNever {
		return cfg
	}
	c := cfg.Clone()
	if name {
		c.ServerName = host
	}
	c.Renegotiation = tls.RenegotiateNever
	return c
}

// HandshakeVerifier is a Handler that has the last word on a TLS
// connection once its handshake is done, before OnOpen: VerifyHandshake
// sees the session's state (the peer's certificates, the name asked for,
// the protocol chosen) and may refuse it with an error, which closes the
// connection (without OnOpen or OnClose; a dial fails with that error).
// A client can so apply its own certificate policy: configure crypto/tls
// with InsecureSkipVerify and verify here, before any of its data is
// sent. It runs on the connection's loop goroutine; a panic refuses.
type HandshakeVerifier interface {
	VerifyHandshake(c *Conn, state tls.ConnectionState) error
}

// callVerify runs a HandshakeVerifier; a panic is logged and refuses.
func (l *eventLoop) callVerify(c *Conn, v HandshakeVerifier) (err error) {
	defer func() {
		if r := recover(); r != nil {
			pe := &PanicError{Callback: "VerifyHandshake", Value: r, Stack: debug.Stack()}
			l.counters.panic.inc()
			l.cfg.Logger.Error("loop: handler panic; closing its connection",
				"callback", pe.Callback, "panic", fmt.Sprint(r), "remote", c.RemoteAddr().String(), "stack", string(pe.Stack))
			err = pe
		}
	}()
	return v.VerifyHandshake(c, c.ext.tls.tc.ConnectionState())
}
