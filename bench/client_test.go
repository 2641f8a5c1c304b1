package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
)

// pipeClient is the benchmarks' load: every connection on one airsock event
// loop (no goroutine per connection), each keeping depth echo requests in
// flight, every reply byte checked by the echo codec. A batch (run) sends
// exactly n requests over all connections and returns when all n replies
// are in: that is one b.N.
//
// The counters are atomics only so that run, on the benchmark goroutine,
// can reset and wait on them; every other access is on the one loop, so
// they are never contended.
type pipeClient struct {
	engine *loop.Engine
	conns  []*loop.Conn
	depth  int

	remaining atomic.Int64 // requests still to send in this batch
	pending   atomic.Int64 // replies still to receive in this batch
	done      chan error   // the batch's outcome; buffered, one value
	closing   atomic.Bool  // closes from now on are our own
	kick      func(*loop.Conn)
}

// clientConn is one connection's state, its loop.Conn's Context.
type clientConn struct {
	codec proto.Client
	seq   uint64
	out   []byte // request bytes being built, reused
}

// dialClient opens conns connections to addr and returns once all are open.
// It runs on the benchmark goroutine.
func dialClient(addr string, conns, size, depth int) (*pipeClient, error) {
	e, err := loop.New(loop.Config{Loops: 1, MaxInbound: max(4<<20, 2*size*depth)})
	if err != nil {
		return nil, err
	}
	p := &pipeClient{engine: e, depth: depth, done: make(chan error, 1)}
	p.kick = func(*loop.Conn) { p.start() }
	type dialed struct {
		c   *loop.Conn
		err error
	}
	results := make(chan dialed, conns)
	for i := range conns {
		codec, err := proto.NewEchoClient(proto.ClientConfig{Conn: uint64(i), Size: size, Verify: true})
		if err != nil {
			p.close()
			return nil, err
		}
		cc := &clientConn{codec: codec}
		err = e.DialAsync("tcp", addr, p, loop.DialOptions{Timeout: 10 * time.Second, Context: cc},
			func(c *loop.Conn, err error) { results <- dialed{c, err} })
		if err != nil {
			p.close()
			return nil, err
		}
	}
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for range conns {
		select {
		case r := <-results:
			if r.err != nil {
				p.close()
				return nil, fmt.Errorf("dial %s: %w", addr, r.err)
			}
			p.conns = append(p.conns, r.c)
		case <-timeout.C:
			p.close()
			return nil, fmt.Errorf("dial %s: %d of %d connections open after 30 s", addr, len(p.conns), conns)
		}
	}
	return p, nil
}

// run sends n requests in total and waits for their replies, or for a
// connection to fail. It runs on the benchmark goroutine, one batch at a
// time.
func (p *pipeClient) run(n int) error {
	if n <= 0 {
		return nil
	}
	p.remaining.Store(int64(n))
	p.pending.Store(int64(n))
	// One task on the loop fills every pipeline: writes to other
	// connections are flushed at the end of the loop's cycle.
	if err := p.conns[0].Run(p.kick); err != nil {
		return err
	}
	timeout := time.NewTimer(5 * time.Minute)
	defer timeout.Stop()
	select {
	case err := <-p.done:
		return err
	case <-timeout.C:
		return fmt.Errorf("%d of %d replies missing after 5 minutes", p.pending.Load(), n)
	}
}

// start sends each connection its first requests. Loop goroutine.
func (p *pipeClient) start() {
	for _, c := range p.conns {
		if k := p.take(p.depth); k > 0 {
			p.send(c, k)
		} else {
			return
		}
	}
}

// take claims up to k of the batch's remaining requests. Loop goroutine.
func (p *pipeClient) take(k int) int {
	for {
		r := p.remaining.Load()
		if r <= 0 {
			return 0
		}
		n := min(r, int64(k))
		if p.remaining.CompareAndSwap(r, r-n) {
			return int(n)
		}
	}
}

// send writes k requests on c in one write. Loop goroutine.
func (p *pipeClient) send(c *loop.Conn, k int) {
	cc := c.Context().(*clientConn)
	out := cc.out[:0]
	for range k {
		out = cc.codec.AppendRequest(out, cc.seq)
		cc.seq++
	}
	cc.out = out
	c.Write(out)
}

// finish reports the batch's outcome once; later outcomes are dropped.
func (p *pipeClient) finish(err error) {
	select {
	case p.done <- err:
	default:
	}
}

// OnOpen does nothing: run starts the traffic. Loop goroutine.
func (p *pipeClient) OnOpen(*loop.Conn) {}

// OnData checks every complete reply, and sends as many new requests as
// the batch still has. Loop goroutine.
func (p *pipeClient) OnData(c *loop.Conn) {
	cc := c.Context().(*clientConn)
	buf, _ := c.Peek(0)
	off, n := 0, 0
	for off < len(buf) {
		size, ok, err := cc.codec.ParseReply(buf[off:])
		if err != nil {
			p.finish(err)
			c.Close()
			return
		}
		if !ok {
			break
		}
		off += size
		n++
	}
	c.Discard(off)
	if n == 0 {
		return
	}
	if p.pending.Add(-int64(n)) == 0 {
		p.finish(nil)
	}
	if k := p.take(n); k > 0 {
		p.send(c, k)
	}
}

// OnClose fails the batch if the server closed a connection. Loop goroutine.
func (p *pipeClient) OnClose(_ *loop.Conn, err error) {
	if p.closing.Load() {
		return
	}
	if err == nil {
		err = errors.New("closed")
	}
	p.finish(fmt.Errorf("client connection closed during the benchmark: %w", err))
}

// close shuts the client's connections and loop down. Benchmark goroutine.
func (p *pipeClient) close() {
	p.closing.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.engine.Shutdown(ctx)
}
