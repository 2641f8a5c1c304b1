package backend

import (
	"context"
	"errors"
	"net"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
)

// loopServer is the "loop" backend: airsock's engine with one SO_REUSEPORT
// listener per loop. *loop.Conn is a proto.Stream as it is.
type loopServer struct {
	engine *loop.Engine
	ln     *loop.Listener
	proto  proto.Server
	count  counters
}

func serveLoop(_ context.Context, cfg Config) (Server, error) {
	e, err := loop.New(cfg.loopConfig())
	if err != nil {
		return nil, err
	}
	s := &loopServer{engine: e, proto: cfg.Proto}
	if len(cfg.Inherit) > 0 {
		s.ln, err = listenInherited(e, cfg.Inherit, cfg.TLS, s)
	} else if cfg.TLS != nil {
		s.ln, err = e.ListenTLS("tcp", cfg.Addr, cfg.TLS, s)
	} else {
		s.ln, err = e.Listen("tcp", cfg.Addr, s)
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}

// OnOpen counts the connection and gives it the stream that counts its
// replies; it runs on the connection's loop.
func (s *loopServer) OnOpen(c *loop.Conn) {
	s.count.opened()
	c.SetContext(&countingStream{Conn: c, session: s.proto.NewSession()})
}

// OnData serves what arrived, or, with nothing new, goes on with the
// requests left when the output reached the high mark and has drained.
// An error closes the connection after the replies already written. It
// runs on the connection's loop.
func (s *loopServer) OnData(c *loop.Conn) {
	st := c.Context().(*countingStream)
	in := c.InboundBuffered()
	st.written = 0
	err := st.session.Serve(st)
	s.count.add(c.Loop(), in-c.InboundBuffered(), st.written)
	if err != nil {
		c.Close()
	}
}

// countingStream is a connection as the protocol's stream (Writable and
// ReserveInbound are the Conn's own), counting what the protocol writes (a
// large reply goes to the kernel at once, so the growth of
// OutboundBuffered would miss it).
type countingStream struct {
	*loop.Conn
	session proto.Session
	written int
}

func (s *countingStream) Write(p []byte) (int, error) {
	s.written += len(p)
	return s.Conn.Write(p)
}

// OnClose counts the connection gone; it runs on the connection's loop.
func (s *loopServer) OnClose(*loop.Conn, error) { s.count.closed() }

func (s *loopServer) Addr() net.Addr { return s.ln.Addr() }

func (s *loopServer) Stats() Stats { return s.count.stats() }

// Engine returns the server's engine (for IOBackend); any goroutine.
func (s *loopServer) Engine() *loop.Engine { return s.engine }

func (s *loopServer) Shutdown(ctx context.Context) error { return s.engine.Shutdown(ctx) }

func (s *loopServer) listener() *loop.Listener { return s.ln }

func (s *loopServer) stopAccepting() error {
	if err := s.ln.Close(); err != nil && !errors.Is(err, loop.ErrClosed) {
		return err
	}
	return nil
}
