package loop

import (
	"errors"
	"io"
)

// The I/O path of a TLS connection (tls.go), on its loop goroutine: read
// hands the ciphertext of each read to the handshake or, established, to
// decrypt, whose plaintext takes the place of the read in callData; writes
// go through writeTLS; closeNotify ends the stream.

// readTLS is read for a TLS connection. Its ciphertext always comes into
// the window (the ring holds plaintext), no more of it than leaves room
// for the plaintext it may complete.
func (l *eventLoop) readTLS(c *Conn) {
	s := c.ext.tls
	room := c.in.Limit() - c.in.Len() - tlsSlack
	if c.in.Len() > 0 && room <= 0 {
		l.updateReading(c) // at its limit: wait for the handler to consume
		return
	}
	buf := l.readBuf
	if c.in.Len() > 0 && room < len(buf) {
		buf = buf[:room]
	}
	win, err := l.io.input(int(c.fd), buf)
	if len(win) > 0 {
		c.lastActivity = l.now
	}
	if s.handshaking {
		switch {
		case len(win) > 0 && !s.wire.feed(win):
			l.closeConn(c, errHandshakeTooLarge, true)
		case err == io.EOF:
			c.peerEOF = true
			s.wire.end(io.EOF, false) // the handshake fails with it, then the loop closes c
		case err != nil:
			l.closeConn(c, err, true)
		}
		return
	}
	if len(win) > 0 {
		s.wire.src = win
		l.decrypt(c)
	}
	switch {
	case c.state != stateOpen:
	case err == io.EOF: // without close_notify: crypto/tls's io.ErrUnexpectedEOF mid-record, else EOF
		c.peerEOF = true
		l.closeConn(c, io.EOF, false)
	case err != nil:
		l.closeConn(c, err, true)
	}
}

// errHandshakeTooLarge closes a peer that sent more than tlsHandshakeMax
// before its handshake read it.
var errHandshakeTooLarge = errors.New("loop: TLS handshake input over its bound")

// decrypt turns the wire's ciphertext into plaintext and hands it to
// OnData as read does: in the window while the ring is empty, else behind
// what the ring holds. A record the ciphertext ends inside waits in the
// tls.Conn for the next read. The peer's close_notify, or a TLS error
// (crypto/tls has queued its alert), closes c after OnData has seen what
// came before it.
func (l *eventLoop) decrypt(c *Conn) {
	s := c.ext.tls
	plain := l.tlsPlaintext()
	n := 0
	var end error
	for {
		if n == len(plain) { // more than one buffer: the rest goes behind, in the ring
			if _, err := c.in.Write(plain[:n]); err != nil {
				end = err
				break
			}
			n = 0
		}
		m, err := s.tc.Read(plain[n:])
		n += m
		if err != nil {
			if err != errDrained {
				end = err
			}
			break
		}
	}
	s.wire.src = nil
	if n > 0 {
		if c.in.Len() == 0 {
			l.win = plain
			c.winOff, c.winEnd = 0, int32(n)
		} else if _, err := c.in.Write(plain[:n]); err != nil {
			end = err
		}
		if c.ext.reserved > 0 {
			c.ext.heldSince += n
		}
		l.callData(c)
		l.keepLeftovers(c)
		l.flush(c)
	}
	if end != nil && c.state == stateOpen {
		if end == io.EOF {
			c.peerEOF = true
			l.closeConn(c, io.EOF, false)
			return
		}
		l.closeConn(c, end, false) // the alert crypto/tls queued goes out first
	}
}

// tlsPlaintext returns the loop's plaintext buffer, made when its first
// TLS connection needs it: one read's worth, and a record more.
func (l *eventLoop) tlsPlaintext() []byte {
	if l.plain == nil {
		l.plain = make([]byte, len(l.readBuf)+tlsSlack)
	}
	return l.plain
}

// writeTLS encrypts p into c's output; tls.Conn.Write cannot fail here
// (the wire takes everything), but for a connection that crypto/tls has
// already failed.
func (l *eventLoop) writeTLS(c *Conn, p []byte) (int, error) {
	s := c.ext.tls
	if s.handshaking {
		return 0, ErrHandshaking
	}
	return s.tc.Write(p)
}

// closeNotify queues close_notify for an established TLS connection that
// ends its writing (Close, CloseWrite), before the write side closes.
func (l *eventLoop) closeNotify(c *Conn) {
	if c.isTLS() && !c.ext.tls.handshaking && !c.writeClosed {
		c.ext.tls.tc.CloseWrite()
	}
}
