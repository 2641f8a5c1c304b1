package backend

import (
	"context"

	"github.com/panjf2000/gnet/v2"
)

// gnetUDPServer is the "gnet" backend over UDP: gnet v2 on udp://, one
// SO_REUSEPORT socket per loop on Linux. gnet reads one datagram per
// readiness event (recvfrom) and OnTraffic's Write sends the reply at
// once (sendto).
type gnetUDPServer struct {
	gnetEngine
	count counters
}

func serveGnetUDP(ctx context.Context, cfg Config) (Server, error) {
	s := &gnetUDPServer{}
	err := s.run(ctx, s, "udp", cfg,
		gnet.WithSocketRecvBuffer(UDPSocketBuffer),
		gnet.WithSocketSendBuffer(UDPSocketBuffer))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// OnTraffic echoes one datagram to its sender; it runs on the socket's
// loop.
func (s *gnetUDPServer) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	n := len(buf)
	if _, err := c.Write(buf); err != nil {
		s.count.datagrams(c.Fd(), 1, 0, n, 0)
		s.count.dropped.Add(1)
		return gnet.None
	}
	s.count.datagrams(c.Fd(), 1, 1, n, n)
	return gnet.None
}

func (s *gnetUDPServer) Stats() Stats { return s.count.stats() }
