package backend

import (
	"context"
	"net"
	"net/netip"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// The "serversocket" backend over UDP: one AIR DatagramSocket, bound and
// receiving, whose data listener Sends each datagram back to its source,
// as an AIR application would. A DatagramSocket is one socket on one loop
// (AIR's model: one object, its events in order), so it uses one loop
// whatever --loops says.

func init() {
	udpBackends["serversocket"] = serveServerSocketUDP
	udpBackends["serversocket-uring"] = onIOUring(serveServerSocketUDP)
}

type serverSocketUDPServer struct {
	engine *loop.Engine
	ds     *serversocket.DatagramSocket
	count  counters
}

func serveServerSocketUDP(_ context.Context, cfg Config) (Server, error) {
	host, port, e, err := serverSocketEngine(cfg)
	if err != nil {
		return nil, err
	}
	s := &serverSocketUDPServer{engine: e, ds: serversocket.NewDatagramSocketOn(e)}
	s.ds.AddEventListener(serversocket.Data, s.echo, 0)
	s.ds.AddEventListener(serversocket.IOErrorType, func(serversocket.Eventer) { s.count.dropped.Add(1) }, 0)
	if err := s.ds.Bind(port, host); err != nil {
		e.Close()
		return nil, err
	}
	if err := s.ds.Receive(); err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}

// echo Sends a datagram back to its source; it runs on the socket's loop.
func (s *serverSocketUDPServer) echo(ev serversocket.Eventer) {
	d := ev.(*serversocket.DatagramSocketDataEvent)
	b := d.Data.Bytes()
	if err := s.ds.Send(b, 0, 0, d.SrcAddress, d.SrcPort); err != nil {
		s.count.datagrams(0, 1, 0, len(b), 0)
		s.count.dropped.Add(1)
		return
	}
	s.count.datagrams(0, 1, 1, len(b), len(b))
}

func (s *serverSocketUDPServer) Addr() net.Addr {
	ip, _ := netip.ParseAddr(s.ds.LocalAddress())
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(s.ds.LocalPort())))
}

func (s *serverSocketUDPServer) Stats() Stats { return s.count.stats() }

// Engine returns the server's engine (for IOBackend); any goroutine.
func (s *serverSocketUDPServer) Engine() *loop.Engine { return s.engine }

func (s *serverSocketUDPServer) Shutdown(ctx context.Context) error { return s.engine.Shutdown(ctx) }
