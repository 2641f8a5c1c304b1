package backend

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// netUDPServer is the "net" backend over UDP: Go's net package as a good
// UDP server on it is written, one SO_REUSEPORT socket per GOMAXPROCS
// (the kernel spreads the flows over them, as it does over the loop's
// sockets), each read by one goroutine with ReadFromUDPAddrPort into a
// 64 KiB buffer and answered with WriteToUDPAddrPort, which allocate
// nothing. One goroutine per socket rather than several goroutines on one
// shared socket: they would contend for its receive queue and wake each
// other for nothing. Where SO_REUSEPORT is not there, one socket.
type netUDPServer struct {
	conns []*net.UDPConn
	count counters
	wg    sync.WaitGroup
}

func serveNetUDP(_ context.Context, cfg Config) (Server, error) {
	n := runtime.GOMAXPROCS(0)
	if runtime.GOOS != "linux" {
		n = 1
	}
	addr, err := fixedPort("udp", cfg.Addr, cfg.Limits.JoinReusePort)
	if err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			setUDPBuffers(int(fd))
			if n > 1 || cfg.Limits.JoinReusePort {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	s := &netUDPServer{}
	for range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr.String())
		if err != nil {
			s.Shutdown(context.Background())
			return nil, err
		}
		s.conns = append(s.conns, pc.(*net.UDPConn))
	}
	for i, c := range s.conns {
		s.wg.Add(1)
		go s.serve(c, i)
	}
	return s, nil
}

// serve echoes c's datagrams, on its own goroutine, until c is closed.
func (s *netUDPServer) serve(c *net.UDPConn, shard int) {
	defer s.wg.Done()
	buf := make([]byte, ReadBufferSize)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an ICMP error reported on the socket, say: it stays usable
		}
		if _, err := c.WriteToUDPAddrPort(buf[:n], from); err != nil {
			s.count.datagrams(shard, 1, 0, n, 0)
			s.count.dropped.Add(1)
			continue
		}
		s.count.datagrams(shard, 1, 1, n, n)
	}
}

func (s *netUDPServer) Addr() net.Addr { return s.conns[0].LocalAddr() }

func (s *netUDPServer) Stats() Stats { return s.count.stats() }

// Shutdown closes the sockets and waits for their goroutines, which end
// at once: a datagram server has nothing to drain.
func (s *netUDPServer) Shutdown(context.Context) error {
	for _, c := range s.conns {
		c.Close()
	}
	s.wg.Wait()
	return nil
}
