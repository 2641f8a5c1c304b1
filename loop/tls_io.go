package loop

import (
	"io"

	"github.com/airsock/airsock/poller"
)

// The I/O path of a TLS connection (tls.go), on its loop goroutine: read
// hands the ciphertext of each read to the handshake or, established, to
// decrypt, whose plaintext takes the place of the read in callData; writes
// go through writeTLS; closeNotify ends the stream.

// readTLS is read for a TLS connection. Its ciphertext always comes into
// the window (the ring holds plaintext), no more of it than the ring has
// room for in plaintext; what an earlier read left held is decrypted
// first.
func (l *eventLoop) readTLS(c *Conn) {
	s := c.ext.tls
	if !s.handshaking && s.held {
		l.decrypt(c)
		if s.held || c.state != stateOpen {
			l.updateReading(c)
			return
		}
	}
	buf := l.readBuf
	if s.handshaking {
		// What the handshake has not read waits in the wire, up to its
		// bound; then reading pauses (an honest client's first data may
		// come right behind its last flight) until the handshake ends.
		room := tlsHandshakeMax - s.wire.pendingLen()
		if room <= 0 {
			l.setInterest(c, c.interest&^poller.Readable)
			return
		}
		buf = buf[:min(len(buf), room)]
	} else if c.in.Len() > 0 {
		room := c.in.Limit() - c.in.Len()
		if room <= 0 {
			l.updateReading(c) // at its limit: wait for the handler to consume
			return
		}
		buf = buf[:min(len(buf), room)]
	}
	win, err := l.io.input(int(c.fd), buf)
	l.countRead(len(win), err)
	if len(win) > 0 {
		c.lastActivity = l.now
	}
	if s.handshaking {
		if len(win) > 0 {
			s.wire.feed(win)
		}
		switch {
		case err == io.EOF:
			// The handshake reads up to it and then ends, or fails; either
			// way nothing more comes (and epoll would report it at every
			// wait meanwhile).
			c.peerEOF = true
			s.wire.end(io.EOF, false)
			l.setInterest(c, c.interest&^poller.Readable)
		case err != nil:
			l.closeConn(c, err, true)
		}
		return
	}
	if err == io.EOF {
		c.peerEOF = true
		s.wire.eof = true
	}
	if len(win) > 0 || err == io.EOF {
		s.wire.src = win
		l.decrypt(c) // with the EOF, crypto/tls ends the session: io.EOF, or io.ErrUnexpectedEOF mid-record
	}
	if err != nil && err != io.EOF && c.state == stateOpen {
		l.closeConn(c, err, true)
	}
}

// decrypt turns the wire's ciphertext into plaintext and hands it to
// OnData as read does: in the window while the ring is empty, else behind
// what the ring holds, never more than the ring has room for. What does
// not fit waits, decrypted or not, in the tls.Conn and the wire (held),
// for resumeTLS once the handler has consumed; a record the ciphertext
// ends inside waits in the tls.Conn for the next read. The peer's
// close_notify, or a TLS error (crypto/tls has queued its alert), closes
// c after OnData has seen what came before it.
func (l *eventLoop) decrypt(c *Conn) {
	s := c.ext.tls
	for c.state == stateOpen {
		n, end, full := l.decryptSome(c)
		s.held = full
		if n > 0 {
			if c.in.Len() == 0 {
				l.win = l.plain
				c.winOff, c.winEnd = 0, int32(n)
			} else {
				c.in.Write(l.plain[:n]) // cannot fail: n is within the ring's room
			}
			if c.ext.reserved > 0 {
				c.ext.heldSince += n
			}
			l.callData(c)
			l.keepLeftovers(c)
			l.flush(c)
		}
		if end != nil {
			l.endTLS(c, end)
			return
		}
		if !full || c.in.Len() >= c.in.Limit() {
			break // drained, or the handler took nothing and the ring is full
		}
	}
	if s.held && len(s.wire.src) > 0 {
		s.wire.src = append([]byte(nil), s.wire.src...) // out of the backend's memory, lent for this read only
	} else if !s.held {
		s.wire.src = nil
	}
}

// decryptSome decrypts into the loop's plaintext buffer as much as the
// ring has room for (all of the buffer while the ring is empty: it is one
// read's size, which keepLeftovers can always keep). full reports that it
// stopped at the room, with more perhaps held; end is the session's end.
func (l *eventLoop) decryptSome(c *Conn) (n int, end error, full bool) {
	s := c.ext.tls
	plain := l.tlsPlaintext()
	room := len(plain)
	if c.in.Len() > 0 {
		room = min(room, c.in.Limit()-c.in.Len())
	}
	for n < room {
		m, err := s.tc.Read(plain[n:room])
		n += m
		if err == errDrained {
			return n, nil, false
		}
		if err != nil {
			return n, err, false
		}
	}
	return n, nil, room > 0
}

// endTLS closes c at the end of its session: the peer's close_notify
// (io.EOF) like a TCP EOF, a TLS error after the alert crypto/tls queued.
func (l *eventLoop) endTLS(c *Conn, end error) {
	if c.state != stateOpen {
		return
	}
	c.peerEOF = c.peerEOF || end == io.EOF
	l.closeConn(c, end, false)
}

// resumeTLS decrypts what a TLS connection holds once its handler has
// made room (resumeData); a peer's EOF that waited behind it ends the
// session there (the wire reports it to crypto/tls once src is read).
func (l *eventLoop) resumeTLS(c *Conn) {
	s := c.ext.tls
	if !s.handshaking && s.held && c.state == stateOpen && c.in.Len() < c.in.Limit() {
		l.decrypt(c)
	}
}

// tlsPlaintext returns the loop's plaintext buffer, made when its first
// TLS connection needs it: one read's size.
func (l *eventLoop) tlsPlaintext() []byte {
	if l.plain == nil {
		l.plain = make([]byte, len(l.readBuf))
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
