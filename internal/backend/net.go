package backend

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/airsock/airsock/internal/proto"
)

// netServer is the "net" backend: Go's net package, one goroutine per
// connection, each running proto.ServeConn (read into a 64 KiB buffer,
// Serve, one write of the replies).
type netServer struct {
	ln    net.Listener
	proto proto.Server
	count counters

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
	wg      sync.WaitGroup // the accept goroutine and every connection's
}

func serveNet(_ context.Context, cfg Config) (Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &netServer{ln: ln, proto: cfg.Proto, conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// accept runs on its own goroutine until the listener closes.
func (s *netServer) accept() {
	defer s.wg.Done()
	var shard int
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: wait rather than spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true) // Go's default, stated for fairness
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		shard++
		go s.serve(&countingConn{Conn: c, count: &s.count, shard: shard})
	}
}

// serve runs one connection on its own goroutine.
func (s *netServer) serve(c *countingConn) {
	defer s.wg.Done()
	s.count.opened()
	proto.ServeConn(c, s.proto, ReadBufferSize)
	c.Close()
	s.mu.Lock()
	delete(s.conns, c.Conn)
	s.mu.Unlock()
	s.count.closed()
}

func (s *netServer) Addr() net.Addr { return s.ln.Addr() }

func (s *netServer) Stats() Stats { return s.count.stats() }

// Shutdown closes the listener, then ends every connection's read with a
// past deadline: a connection's replies are written before it reads again,
// so none is cut short. Connections still open when ctx ends are closed.
func (s *netServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.closing
	s.closing = true
	for c := range s.conns {
		c.SetReadDeadline(time.Unix(1, 0))
	}
	s.mu.Unlock()
	if first {
		s.ln.Close()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// countingConn counts the bytes a connection reads and writes.
type countingConn struct {
	net.Conn
	count *counters
	shard int
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.count.add(c.shard, n, 0)
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.count.add(c.shard, 0, n)
	return n, err
}
