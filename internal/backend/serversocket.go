package backend

import (
	"context"
	"io"
	"math"
	"net"
	"net/netip"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// The "serversocket" backend: the AIR API over airsock's loop. Each accepted
// Socket gets a SocketData listener that runs the protocol over the socket's
// zero-copy Peek/Discard and its buffered writes, as an AIR application
// written for speed would.

type serverSocketServer struct {
	engine    *loop.Engine
	ss        *serversocket.ServerSocket
	count     counters
	high, low int // BytesPending at which Writable turns false; at which a stopped session resumes
}

func serveServerSocket(_ context.Context, cfg Config) (Server, error) {
	host, port, e, err := serverSocketEngine(cfg)
	if err != nil {
		return nil, err
	}
	s := &serverSocketServer{engine: e, ss: serversocket.NewOn(e)}
	s.high, s.low = cfg.Limits.marks()
	s.ss.AddEventListener(serversocket.Connect, func(ev serversocket.Eventer) {
		s.accept(ev.(*serversocket.ServerSocketConnectEvent).Socket, cfg.Proto)
	}, 0)
	bind := func() error { return s.ss.Bind(port, host) }
	if len(cfg.Inherit) > 0 {
		bind = func() error {
			ln, err := e.FileListener(cfg.Inherit...)
			if err == nil {
				err = s.ss.BindListener(ln)
			}
			return err
		}
	}
	if err := bind(); err != nil {
		e.Close()
		return nil, err
	}
	listen := s.ss.Listen
	if cfg.TLS != nil {
		listen = func(backlog int) error { return s.ss.ListenTLS(backlog, cfg.TLS) }
	}
	if err := listen(0); err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}

// accept wires one connection: runs on its loop goroutine. The protocol
// runs on SocketData; once it stopped at the high mark (BytesPending), new
// data waits and outputProgress resumes it when the output has drained to
// the low mark, as an AIR application pacing its writes would. One object
// per connection handles all its events, and it listens for outputProgress
// only while stopped: an idle connection costs one socketStream and two
// registrations.
func (s *serverSocketServer) accept(sock *serversocket.Socket, srv proto.Server) {
	s.count.opened()
	// The protocol paces itself by the marks, so MaxBytesPending, the
	// safety net for AIR code that does not, would only refuse the few
	// bytes after a reply larger than it (a GET of a 100 MiB value).
	sock.SetMaxBytesPending(math.MaxInt64)
	st := &socketStream{srv: s, s: sock, session: srv.NewSession(), shard: int32(sock.RemotePort())}
	sock.AddEventHandler(serversocket.SocketData, st, 0)
	sock.AddEventHandler(serversocket.Close, st, 0)
}

// HandleEvent runs the connection's events, on its loop goroutine.
func (st *socketStream) HandleEvent(e serversocket.Eventer) {
	switch e := e.(type) {
	case *serversocket.ProgressEvent: // SocketData
		if !st.stopped {
			st.serve()
		}
	case *serversocket.OutputProgressEvent:
		if st.stopped && e.BytesPending <= st.srv.low {
			// Drained: go on, with the input in hand if there is some, and
			// otherwise with the next SocketData (a session that stopped
			// right after its last request has nothing left to run now).
			st.stopped = false
			st.s.RemoveEventHandler(serversocket.OutputProgress, st)
			if st.s.BytesAvailable() > 0 {
				st.serve()
			}
		}
	default: // Close
		st.srv.count.closed()
	}
}

// serve runs the session over the input in hand; stopped at the high mark,
// it listens for outputProgress to resume.
func (st *socketStream) serve() {
	in := st.s.BytesAvailable()
	st.out, st.stopped = 0, false
	err := st.session.Serve(st)
	st.srv.count.add(int(st.shard), in-st.s.BytesAvailable(), st.out)
	if err != nil {
		st.s.Flush()
		st.s.Close()
		st.srv.count.closed()
		return
	}
	if st.stopped {
		st.s.AddEventHandler(serversocket.OutputProgress, st, 0)
	}
}

func (s *serverSocketServer) Addr() net.Addr {
	return &net.TCPAddr{IP: net.ParseIP(s.ss.LocalAddress()), Port: s.ss.LocalPort()}
}

func (s *serverSocketServer) Stats() Stats { return s.count.stats() }

// Engine returns the server's engine (for IOBackend); any goroutine.
func (s *serverSocketServer) Engine() *loop.Engine { return s.engine }

func (s *serverSocketServer) Shutdown(ctx context.Context) error { return s.engine.Shutdown(ctx) }

func (s *serverSocketServer) listener() *loop.Listener { return s.ss.Listener() }

func (s *serverSocketServer) stopAccepting() error {
	if s.ss.Bound() {
		return s.ss.Close()
	}
	return nil
}

// socketStream is one connection of the backend: a Socket as a
// proto.Stream, and the handler of its events. It counts the bytes Serve
// writes, for Stats.
type socketStream struct {
	srv     *serverSocketServer
	s       *serversocket.Socket
	session proto.Session
	out     int
	shard   int32 // the counters' shard: the peer's port
	stopped bool  // Writable said false: outputProgress resumes the session
}

func (st *socketStream) Writable() bool {
	if st.s.BytesPending() < st.srv.high {
		return true
	}
	st.stopped = true
	return false
}

func (st *socketStream) ReserveInbound(n int) error { return st.s.ReserveInbound(n) }

func (st *socketStream) InboundLimit() int { return st.s.InboundLimit() }

// RemoteAddr and LocalAddr are the Socket's (proto.Addressed).
func (st *socketStream) RemoteAddr() net.Addr {
	return tcpAddrOf(st.s.RemoteAddress(), st.s.RemotePort())
}

func (st *socketStream) LocalAddr() net.Addr { return tcpAddrOf(st.s.LocalAddress(), st.s.LocalPort()) }

func tcpAddrOf(ip string, port int) net.Addr {
	a, _ := netip.ParseAddr(ip)
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(port)))
}

func (st *socketStream) InboundBuffered() int { return st.s.BytesAvailable() }

func (st *socketStream) Peek(n int) ([]byte, error) {
	if n > st.s.BytesAvailable() {
		return nil, io.ErrShortBuffer
	}
	return st.s.Peek(n)
}

func (st *socketStream) Discard(n int) (int, error) { return st.s.Discard(n) }

func (st *socketStream) Write(p []byte) (int, error) {
	n, err := st.s.Write(p)
	st.out += n
	return n, err
}

// splitHostPort parses host:port for ServerSocket.Bind, which takes an IP
// literal ("" = every IPv4 interface) and a number.
// serverSocketEngine starts the engine of a serversocket server and splits
// the address it binds into AIR's host and port.
func serverSocketEngine(cfg Config) (host string, port int, e *loop.Engine, err error) {
	if len(cfg.Inherit) == 0 { // inherited sockets have their address
		if host, port, err = splitHostPort(cfg.Addr); err != nil {
			return "", 0, nil, err
		}
	}
	e, err = loop.New(cfg.loopConfig())
	return host, port, e, err
}

func splitHostPort(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := net.LookupPort("tcp", portStr)
	if err != nil {
		return "", 0, err
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	return host, port, nil
}
