package backend

import (
	"context"
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
	e, err := loop.New(loop.Config{Loops: cfg.Loops, ReadBufferSize: ReadBufferSize})
	if err != nil {
		return nil, err
	}
	s := &loopServer{engine: e, proto: cfg.Proto}
	s.ln, err = e.Listen("tcp", cfg.Addr, s)
	if err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}

// OnOpen counts the connection; it runs on the connection's loop.
func (s *loopServer) OnOpen(*loop.Conn) { s.count.opened() }

// OnData serves what arrived. Replies are only queued while Serve runs and
// the loop sends them when OnData returns, so the growth of
// OutboundBuffered is what Serve wrote. An error closes the connection after
// those replies. It runs on the connection's loop.
func (s *loopServer) OnData(c *loop.Conn) {
	in, out := c.InboundBuffered(), c.OutboundBuffered()
	err := s.proto.Serve(c)
	s.count.add(c.Loop(), in-c.InboundBuffered(), c.OutboundBuffered()-out)
	if err != nil {
		c.Close()
	}
}

// OnClose counts the connection gone; it runs on the connection's loop.
func (s *loopServer) OnClose(*loop.Conn, error) { s.count.closed() }

func (s *loopServer) Addr() net.Addr { return s.ln.Addr() }

func (s *loopServer) Stats() Stats { return s.count.stats() }

func (s *loopServer) Shutdown(ctx context.Context) error { return s.engine.Shutdown(ctx) }
