package serversocket

import (
	"crypto/tls"
	"errors"
	"net"
	"strconv"

	"github.com/airsock/airsock/loop"
)

// Connect connects the socket to host (an IP address or a name) and port.
// It returns at once and never dispatches before returning: the outcome
// arrives as a Connect event, or as an IOErrorType event (#2031) when the
// connection is refused, the name does not resolve, or Timeout passes. A
// connected socket closes its old connection first (sending what was
// written to it), without a Close event. A port outside 1..65535 is a
// SecurityError #2003. Callable on any goroutine.
//
// The Connect and IOErrorType events run on the new connection's loop
// goroutine, except an error found before a loop was involved (a name that
// does not resolve), which is dispatched from a goroutine of its own.
func (s *Socket) Connect(host string, port int) error { return s.connect(host, port, nil) }

// connect is Connect, over TLS for a SecureSocket (secure set).
func (s *Socket) connect(host string, port int, secure *SecureSocket) error {
	if port <= 0 || port > 65535 {
		return &SecurityError{ErrorID: IDInvalidPort, Message: "Invalid socket port number specified."}
	}
	x := s.x()
	s.mu.Lock()
	x.dialing++
	gen := x.dialing
	old := s.conn.Swap(nil)
	out := x.out
	x.out = nil
	x.flushScheduled = false
	s.mu.Unlock()
	if old != nil {
		closeAfter(old, out)
	}
	address := net.JoinHostPort(host, strconv.Itoa(port))
	h := &dialHandler{s: s, gen: gen, secure: secure}
	go func() {
		opts := loop.DialOptions{Timeout: s.timeout()}
		if secure != nil {
			opts.TLS = secure.clientConfig(host)
		}
		err := s.engine.DialAsync("tcp", address, h, opts, func(c *loop.Conn, err error) {
			if err != nil {
				s.connectFailed(gen, address, err)
			}
		})
		if err != nil {
			s.connectFailed(gen, address, err)
		}
	}()
	return nil
}

// connectFailed dispatches the IOErrorType event of a failed Connect, unless
// a later Connect or Close superseded it.
func (s *Socket) connectFailed(gen uint64, address string, err error) {
	s.mu.Lock()
	current := s.x().dialing == gen
	s.mu.Unlock()
	if !current {
		return
	}
	text := "Error #2031: Socket Error. URL: " + address
	var refused *certificateRefused
	switch {
	case errors.As(err, &refused):
		text += " (certificate: " + refused.status + ")"
	case loop.IsTimeout(err):
		text += " (connect timeout)"
	}
	s.DispatchEvent(NewIOErrorEvent(IOErrorType, false, false, text, IDSocketError))
}

// dialHandler receives an outbound connection as it opens and hands it to
// its Socket, or closes it if the Socket has moved on.
type dialHandler struct {
	s      *Socket
	gen    uint64
	secure *SecureSocket // a SecureSocket's: its certificate policy decides the handshake
}

// VerifyHandshake applies a SecureSocket's certificate policy once the
// TLS handshake is done (loop.HandshakeVerifier); a plain dial never
// calls it.
func (h *dialHandler) VerifyHandshake(c *loop.Conn, state tls.ConnectionState) error {
	if h.secure == nil {
		return nil
	}
	return h.secure.verify(state)
}

func (h *dialHandler) OnOpen(c *loop.Conn) {
	s := h.s
	s.mu.Lock()
	current := s.x().dialing == h.gen
	if current {
		s.attach(c)
	}
	s.mu.Unlock()
	if !current {
		c.Close()
		return
	}
	s.inDispatch.Store(true)
	s.DispatchEvent(NewEvent(Connect, false, false))
	s.endTurn(c)
}

// OnData and OnClose run only for a connection the Socket did not take.
func (h *dialHandler) OnData(c *loop.Conn)             { c.Discard(-1) }
func (h *dialHandler) OnClose(c *loop.Conn, err error) {}
