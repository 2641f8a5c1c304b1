package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
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

	idle     time.Duration // Limits.IdleTimeout
	slots    chan struct{} // one per connection allowed (Limits.MaxConns); nil: no cap
	shutting atomic.Bool   // Shutdown has begun: reads must not push their deadline on
}

func serveNet(_ context.Context, cfg Config) (Server, error) {
	if cfg.Limits.ProxyProtocol.Mode != loop.ProxyOff {
		return nil, errors.New("net: the PROXY protocol is not supported by this backend")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s := &netServer{ln: ln, proto: cfg.Proto, conns: make(map[net.Conn]struct{}), idle: cfg.Limits.IdleTimeout}
	if cfg.Limits.MaxConns > 0 {
		s.slots = make(chan struct{}, cfg.Limits.MaxConns)
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// accept runs on its own goroutine until the listener closes.
func (s *netServer) accept() {
	defer s.wg.Done()
	var shard int
	for {
		if s.slots != nil {
			s.slots <- struct{}{} // at the cap, newcomers wait in the backlog
		}
		c, err := s.ln.Accept()
		if err != nil {
			s.freeSlot()
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
			s.freeSlot()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		shard++
		go s.serve(&countingConn{Conn: c, count: &s.count, shard: shard, srv: s})
	}
}

// freeSlot gives back a MaxConns slot.
func (s *netServer) freeSlot() {
	if s.slots != nil {
		<-s.slots
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
	s.freeSlot()
	s.count.closed()
}

func (s *netServer) Addr() net.Addr { return s.ln.Addr() }

func (s *netServer) Stats() Stats { return s.count.stats() }

// Shutdown closes the listener, then ends every connection's read with a
// past deadline: a connection's replies are written before it reads again,
// so none is cut short. Connections still open when ctx ends are closed.
func (s *netServer) Shutdown(ctx context.Context) error {
	s.shutting.Store(true)
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

// countingConn counts the bytes a connection reads and writes, and applies
// the idle timeout as a read deadline.
type countingConn struct {
	net.Conn
	count *counters
	shard int
	srv   *netServer
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.srv.idle > 0 {
		c.SetReadDeadline(time.Now().Add(c.srv.idle))
		if c.srv.shutting.Load() { // Shutdown's past deadline must win
			c.SetReadDeadline(time.Unix(1, 0))
		}
	}
	n, err := c.Conn.Read(p)
	c.count.add(c.shard, n, 0)
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	if c.srv.idle > 0 { // a client that stopped reading is idle too
		c.SetWriteDeadline(time.Now().Add(c.srv.idle))
	}
	n, err := c.Conn.Write(p)
	c.count.add(c.shard, 0, n)
	return n, err
}
