package serversocket

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/airsock/airsock/loop"
)

// ServerSocket is AIR's flash.net.ServerSocket: it binds a local address,
// listens, and dispatches a ServerSocketConnectEvent (type Connect) with a
// new, connected Socket for every accepted connection.
//
// Its methods are safe from any goroutine. Connect listeners run on the
// loop goroutine of the accepted connection; with more than one loop they
// may run concurrently for different connections, so shared state needs a
// lock (or use an engine with one loop for AIR's single-threaded model).
//
// A connection accepted while no Connect listener is registered is closed at
// once: nobody could ever read it. AIR warns that an unreferenced accepted
// Socket may be garbage-collected; here the loop keeps every open socket
// alive until it closes.
type ServerSocket struct {
	EventDispatcher
	engine *loop.Engine

	mu        sync.Mutex
	ln        *loop.Listener
	bound     bool
	listening bool
	closed    bool
	addr      netip.AddrPort

	// connects holds the Connect event each loop reuses, by loop index, so
	// an accept leaves no event behind for the collector; a loop only
	// touches its own.
	connects []ServerSocketConnectEvent
}

// IsSupported reports whether ServerSocket works on this platform: true
// wherever the package builds. Callable on any goroutine.
func IsSupported() bool { return true }

// New returns an unbound ServerSocket on the default engine (DefaultEngine).
// Callable on any goroutine.
func New() (*ServerSocket, error) {
	e, err := DefaultEngine()
	if err != nil {
		return nil, err
	}
	return NewOn(e), nil
}

// NewOn returns an unbound ServerSocket whose connections live on e.
// Callable on any goroutine.
func NewOn(e *loop.Engine) *ServerSocket {
	s := &ServerSocket{engine: e, connects: make([]ServerSocketConnectEvent, e.Loops())}
	s.EventDispatcher.target = s
	for i := range s.connects {
		s.connects[i].Init(Connect, false, false)
	}
	return s
}

// Bind binds the socket to port on the local IP address (AIR's defaults are
// port 0, any free port, and "0.0.0.0", every IPv4 interface; "" means
// "0.0.0.0" here too; "::" is every IPv6 interface). The address must be an
// IP literal: no name is looked up. Errors: RangeError if port is outside
// 0..65535, ArgumentError for a malformed address, IOError #2002 if the port
// is in use, privileged, already bound by this socket, not a local address,
// or the socket is closed.
func (s *ServerSocket) Bind(port int, address string) error {
	if port < 0 || port > 65535 {
		return errOutOfBounds()
	}
	if address == "" {
		address = "0.0.0.0"
	}
	ip, err := netip.ParseAddr(address)
	if err != nil {
		return errInvalidParameter(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.bound {
		return errInvalidSocket(errors.New("socket already bound or closed"))
	}
	network := "tcp4"
	if ip.Is6() && !ip.Is4In6() {
		network = "tcp6"
	}
	ln, err := s.engine.Bind(network, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
	if err != nil {
		return errInvalidSocket(err)
	}
	s.ln = ln
	s.bound = true
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		s.addr = a.AddrPort()
	}
	return nil
}

// Listen starts accepting connections; from then on a Connect event fires
// for each one. backlog is the kernel's queue of not-yet-accepted
// connections: 0 means the system maximum (somaxconn). Errors: RangeError if
// backlog is negative, IOError #2002 if the socket is not bound or is
// closed. Listening twice does nothing.
func (s *ServerSocket) Listen(backlog int) error { return s.listen(backlog, nil) }

// ListenTLS is Listen for TLS: each accepted connection is the server side
// of a crypto/tls session with cfg (certificates, GetCertificate for SNI,
// NextProtos, ClientAuth), handshaken on the loop before its Connect
// event; from then on its Socket reads and writes plaintext, as any. A
// client whose handshake fails, or does not finish within the engine's
// TLSHandshakeTimeout, is closed unseen. An airsock extension: AIR has no
// TLS server. cfg must not change after. Callable on any goroutine.
func (s *ServerSocket) ListenTLS(backlog int, cfg *tls.Config) error {
	if cfg == nil {
		return errInvalidParameter(errors.New("ListenTLS needs a tls.Config"))
	}
	return s.listen(backlog, cfg)
}

// listen is Listen, over TLS with cfg if set.
func (s *ServerSocket) listen(backlog int, cfg *tls.Config) error {
	if backlog < 0 {
		return errOutOfBounds()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.bound {
		return errInvalidSocket(errors.New("socket not bound"))
	}
	if s.listening {
		return nil
	}
	serve := s.ln.Serve
	if cfg != nil {
		serve = func(h loop.Handler, backlog int) error { return s.ln.ServeTLS(h, backlog, cfg) }
	}
	if err := serve((*acceptHandler)(s), backlog); err != nil {
		return errInvalidSocket(err)
	}
	s.listening = true
	return nil
}

// Close stops listening and frees the port; sockets already accepted live
// on. It dispatches no Close event. A closed ServerSocket cannot be bound or
// listen again. Closing a socket that was never bound, or twice, is an
// IOError #2002.
func (s *ServerSocket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.bound {
		return errInvalidSocket(errors.New("socket not open"))
	}
	s.closed = true
	s.bound = false
	s.listening = false
	if err := s.ln.Close(); err != nil && !errors.Is(err, loop.ErrClosed) {
		return errInvalidSocket(err)
	}
	return nil
}

// Bound reports whether the socket is bound. Callable on any goroutine.
func (s *ServerSocket) Bound() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound
}

// Listening reports whether the socket is accepting. Callable on any goroutine.
func (s *ServerSocket) Listening() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listening
}

// LocalAddress returns the bound IP address ("" before Bind). Callable on
// any goroutine.
func (s *ServerSocket) LocalAddress() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.addr.IsValid() {
		return ""
	}
	return s.addr.Addr().Unmap().String()
}

// LocalPort returns the bound port: after Bind(0, ...) the port the system
// chose (0 before Bind). Callable on any goroutine.
func (s *ServerSocket) LocalPort() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.addr.Port())
}

// acceptHandler is the ServerSocket seen by its listener: each accepted
// connection becomes a Socket and is announced with a Connect event.
type acceptHandler ServerSocket

func (h *acceptHandler) OnOpen(c *loop.Conn) {
	s := (*ServerSocket)(h)
	if !s.HasEventListener(Connect) {
		c.Close()
		return
	}
	sock := newSocket(s.engine)
	sock.attach(c)
	sock.inDispatch.Store(true)
	ev := &s.connects[c.Loop()]
	ev.Socket = sock
	s.DispatchEvent(ev)
	ev.Socket = nil // the event must not keep the socket alive
	sock.endTurn(c)
}

// OnData and OnClose never run: OnOpen hands the connection to its Socket.
func (h *acceptHandler) OnData(c *loop.Conn)             { c.Discard(-1) }
func (h *acceptHandler) OnClose(c *loop.Conn, err error) {}
