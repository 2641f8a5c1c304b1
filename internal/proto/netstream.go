package proto

import (
	"errors"
	"io"
	"net"
)

// netStream is a Stream over a net.Conn: received bytes are gathered in in
// (in[r:w] is buffered), replies in out until the handler returns.
type netStream struct {
	in      []byte
	r, w    int
	out     []byte
	high    int  // out's high mark: Writable turns false there
	stopped bool // Writable said false since the replies were last written
	conn    net.Conn
}

func (s *netStream) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }
func (s *netStream) LocalAddr() net.Addr  { return s.conn.LocalAddr() }

// Writable reports whether the replies gathered are below the high mark;
// when not, ServeConn writes them out (blocking) and serves the rest.
func (s *netStream) Writable() bool {
	if len(s.out) < s.high {
		return true
	}
	s.stopped = true
	return false
}

func (s *netStream) InboundBuffered() int { return s.w - s.r }

func (s *netStream) Peek(n int) ([]byte, error) {
	if n <= 0 {
		n = s.w - s.r
	}
	if n > s.w-s.r {
		return nil, io.ErrShortBuffer
	}
	return s.in[s.r : s.r+n], nil
}

func (s *netStream) Discard(n int) (int, error) {
	if n <= 0 || n > s.w-s.r {
		n = s.w - s.r
	}
	s.r += n
	if s.r == s.w {
		s.r, s.w = 0, 0
	}
	return n, nil
}

func (s *netStream) Write(p []byte) (int, error) {
	s.out = append(s.out, p...)
	return len(p), nil
}

// room makes space to read at least one byte after in[w]: compacting when
// the buffered bytes do not start at 0, else doubling (a request larger
// than the buffer is bounded by the protocol's limits, not here).
func (s *netStream) room() {
	if s.w < len(s.in) {
		return
	}
	if s.r > 0 {
		s.w = copy(s.in, s.in[s.r:s.w])
		s.r = 0
		return
	}
	s.in = append(s.in, make([]byte, len(s.in))...)
}

// ServeConn runs a session of srv on c, the Go net backend: it reads into
// a buffer of readSize bytes (it grows only for a request that does not
// fit), calls Serve after each read and writes the replies out. Replies are
// gathered up to readSize (the stream's high mark) before being written, so
// a read of pipelined requests never holds more than that plus one reply.
// It returns nil when the peer closes, otherwise the first error of c or of
// Serve (ErrQuit after a QUIT). It does not close c. It runs on the calling
// goroutine, one per connection.
func ServeConn(c net.Conn, srv Server, readSize int) error {
	if readSize <= 0 {
		readSize = 64 << 10
	}
	session := srv.NewSession()
	s := &netStream{in: make([]byte, readSize), high: readSize, conn: c}
	for {
		s.room()
		n, rerr := c.Read(s.in[s.w:])
		s.w += n
		for more := n > 0; more; {
			s.stopped = false
			serr := session.Serve(s)
			if len(s.out) > 0 {
				if _, err := c.Write(s.out); err != nil {
					return err
				}
				// Keep the buffer for the next replies unless one huge reply
				// grew it.
				if cap(s.out) > 4*readSize {
					s.out = nil
				} else {
					s.out = s.out[:0]
				}
			}
			if serr != nil {
				return serr
			}
			// Serve stopped at the high mark: the replies are out now, so
			// go on with the requests left before reading more.
			more = s.stopped && s.w > s.r
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
	}
}
