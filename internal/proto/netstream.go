package proto

import (
	"errors"
	"io"
	"net"
)

// netStream is a Stream over a net.Conn: received bytes are gathered in in
// (in[r:w] is buffered), replies in out until the handler returns.
type netStream struct {
	in   []byte
	r, w int
	out  []byte
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

// ServeConn runs srv on c, the Go net backend: it reads into a buffer of
// readSize bytes (it grows only for a request that does not fit), calls
// srv.Serve after each read and writes the replies out. It returns nil when
// the peer closes, otherwise the first error of c or of Serve (ErrQuit
// after a QUIT). It does not close c. It runs on the calling goroutine,
// one per connection.
func ServeConn(c net.Conn, srv Server, readSize int) error {
	if readSize <= 0 {
		readSize = 64 << 10
	}
	s := &netStream{in: make([]byte, readSize)}
	for {
		s.room()
		n, rerr := c.Read(s.in[s.w:])
		s.w += n
		if n > 0 {
			serr := srv.Serve(s)
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
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
	}
}
