//go:build linux || darwin || freebsd

package backend

import (
	"crypto/tls"
	"io"
	"net"
	"sync"

	ltls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/mempool"

	"github.com/airsock/airsock/internal/proto"
)

// nbio over TLS: its TLS extension's way (lesismal/llib's fork of
// crypto/tls, fed each read with Append) (an event-loop peer's TLS, for the matrix's tls scenario).
// The handshake and the records run on nbio's pollers; each connection's
// plaintext goes through the protocol as it arrives. This path keeps no
// output marks (Writable is always true: the extension writes at once and
// nbio keeps what the kernel does not take), which matters only to a
// client that does not read, never to the matrix.

// serveNbioTLS sets the engine's handlers for TLS with cfg's certificates
// and protocols.
func (s *nbioServer) serveNbioTLS(cfg *tls.Config) {
	lc := &ltls.Config{NextProtos: cfg.NextProtos, MinVersion: cfg.MinVersion}
	for _, c := range cfg.Certificates {
		lc.Certificates = append(lc.Certificates, ltls.Certificate{Certificate: c.Certificate, PrivateKey: c.PrivateKey, Leaf: c.Leaf})
	}
	// The extension's WrapOpen and WrapData, with the stream's lock around
	// the tls.Conn: nbio hands a connection from its opening goroutine to
	// its poller by epoll_ctl, which the race detector does not see (as
	// for the plain stream), and reads into pooled buffers.
	s.engine.OnOpen(func(c *nbio.Conn) {
		c.SetNoDelay(true)
		st := new(nbioTLSStream) // zeroed by the allocator, so only the locked writes below are the stream's first
		st.mu.Lock()
		st.session = s.proto.NewSession()
		st.tc = ltls.NewConn(c, lc, false, true, mempool.DefaultMemPool)
		c.SetSession(st)
		st.mu.Unlock()
		s.count.opened()
	})
	s.engine.OnData(func(c *nbio.Conn, data []byte) {
		st := c.Session().(*nbioTLSStream)
		st.mu.Lock()
		defer st.mu.Unlock()
		st.tc.Append(data)
		bp := nbioPlain.Get().(*[]byte)
		defer nbioPlain.Put(bp)
		plain := *bp
		for {
			n, err := st.tc.Read(plain)
			if err != nil {
				c.Close()
				return
			}
			if n == 0 {
				return
			}
			in := len(st.in) - st.r + n
			err = st.serve(plain[:n])
			s.count.add(0, in-(len(st.in)-st.r), st.wrote)
			if err != nil {
				c.Close()
				return
			}
		}
	})
	s.engine.OnClose(func(*nbio.Conn, error) { s.count.closed() })
}

// nbioPlain holds the buffers each read's plaintext goes to, shared by
// the connections (an idle one holds none).
var nbioPlain = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// nbioTLSStream is one TLS connection as a proto.Stream, on its poller.
type nbioTLSStream struct {
	mu      sync.Mutex // held by whoever uses tc: the opening goroutine, then the poller
	tc      *ltls.Conn
	session proto.Session
	in      []byte // plaintext kept between arrivals: in[r:]
	r       int
	out     []byte // the replies of one Serve, written at its end
	wrote   int
}

// serve runs the protocol over data and what was kept, then writes the
// replies through the TLS connection.
func (st *nbioTLSStream) serve(data []byte) error {
	if st.r > 0 && st.r >= len(st.in)/2 {
		st.in, st.r = st.in[:copy(st.in, st.in[st.r:])], 0
	}
	st.in = append(st.in, data...) // the extension reuses data's buffer
	st.out = st.out[:0]
	err := st.session.Serve(st)
	st.wrote = len(st.out)
	if len(st.out) > 0 {
		if _, werr := st.tc.Write(st.out); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

func (st *nbioTLSStream) InboundBuffered() int { return len(st.in) - st.r }

func (st *nbioTLSStream) RemoteAddr() net.Addr { return st.tc.RemoteAddr() }
func (st *nbioTLSStream) LocalAddr() net.Addr  { return st.tc.LocalAddr() }

func (st *nbioTLSStream) Peek(n int) ([]byte, error) {
	b := st.in[st.r:]
	if n > len(b) {
		return nil, io.ErrShortBuffer
	}
	if n <= 0 {
		return b, nil
	}
	return b[:n], nil
}

func (st *nbioTLSStream) Discard(n int) (int, error) {
	if rest := len(st.in) - st.r; n <= 0 || n > rest {
		n = rest
	}
	st.r += n
	return n, nil
}

func (st *nbioTLSStream) Write(p []byte) (int, error) {
	st.out = append(st.out, p...)
	return len(p), nil
}

func (st *nbioTLSStream) Writable() bool { return true }
