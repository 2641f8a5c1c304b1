package backend

import (
	"context"
	"errors"
	"net"

	"github.com/airsock/airsock/loop"
)

// loopUDPServer is the "loop" backend over UDP: airsock's engine with one
// SO_REUSEPORT datagram socket per loop (loop.Engine.ListenPacket). Each
// batch of datagrams is read with one recvmmsg and its replies leave with
// one sendmmsg.
type loopUDPServer struct {
	engine *loop.Engine
	pl     *loop.PacketListener
	count  counters
}

func serveLoopUDP(_ context.Context, cfg Config) (Server, error) {
	e, err := loop.New(cfg.loopConfig())
	if err != nil {
		return nil, err
	}
	s := &loopUDPServer{engine: e}
	s.pl, err = e.ListenPacket("udp", cfg.Addr, s)
	if err != nil {
		e.Close()
		return nil, err
	}
	for _, pc := range s.pl.Conns() {
		setUDPBuffers(pc.Fd())
	}
	return s, nil
}

// OnPacket echoes a datagram to its sender; it runs on the socket's loop.
// A truncated datagram (longer than the loop reads) is echoed as read,
// and the client sees it short.
func (s *loopUDPServer) OnPacket(pc *loop.PacketConn, d *loop.Datagram) {
	n := len(d.Data)
	if _, err := pc.WriteTo(d.Data, d.From); err != nil {
		s.count.datagrams(pc.Loop(), 1, 0, n, 0)
		s.count.dropped.Add(1)
		return
	}
	s.count.datagrams(pc.Loop(), 1, 1, n, n)
}

// OnError counts the replies the loop dropped (a full socket queue) or
// the kernel refused; the socket stays open. Loop goroutine.
func (s *loopUDPServer) OnError(_ *loop.PacketConn, err error) {
	var de *loop.DroppedError
	if errors.As(err, &de) {
		s.count.dropped.Add(int64(de.Datagrams))
		return
	}
	s.count.dropped.Add(1)
}

func (s *loopUDPServer) OnClose(*loop.PacketConn, error) {}

func (s *loopUDPServer) Addr() net.Addr { return s.pl.Addr() }

func (s *loopUDPServer) Stats() Stats { return s.count.stats() }

// Engine returns the server's engine (for IOBackend); any goroutine.
func (s *loopUDPServer) Engine() *loop.Engine { return s.engine }

func (s *loopUDPServer) Shutdown(ctx context.Context) error { return s.engine.Shutdown(ctx) }
