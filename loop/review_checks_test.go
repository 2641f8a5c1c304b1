package loop

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// The checks of review 15 that pass: kept as regression tests.

// countingHandler counts OnOpen and OnClose, and flags an OnClose without
// an OnOpen before it.
type countingHandler struct {
	opens, closes, orphans atomic.Int64
	mu                     sync.Mutex
	seen                   map[*Conn]bool
	data                   func(c *Conn)
}

func (h *countingHandler) OnOpen(c *Conn) {
	h.mu.Lock()
	if h.seen == nil {
		h.seen = map[*Conn]bool{}
	}
	h.seen[c] = true
	h.mu.Unlock()
	h.opens.Add(1)
}

func (h *countingHandler) OnData(c *Conn) {
	if h.data != nil {
		h.data(c)
		return
	}
	b, _ := c.Next(-1)
	c.Write(b)
}

func (h *countingHandler) OnClose(c *Conn, err error) {
	h.mu.Lock()
	if !h.seen[c] {
		h.orphans.Add(1)
	}
	h.mu.Unlock()
	h.closes.Add(1)
}

// invariant checks accepted + dialled - closed == open on the totals.
func invariant(t *testing.T, m LoopMetrics) {
	t.Helper()
	var closed uint64
	for _, n := range m.Closed {
		closed += n
	}
	if int64(m.Accepted+m.Dialled)-int64(closed) != m.Open {
		t.Errorf("accepted %d + dialled %d - closed %d (%v) != open %d", m.Accepted, m.Dialled, closed, m.Closed, m.Open)
	}
}

// TestReviewCheckProxyWaitEnds: connections ended during the header wait
// (client EOF, the idle timeout, the header timeout, Shutdown) never
// reach the handler, and the counters balance.
func TestReviewCheckProxyWaitEnds(t *testing.T) {
	e, err := New(Config{Loops: 2, IdleTimeout: 150 * time.Millisecond, Logger: quiet,
		ProxyProtocol: ProxyProtocol{Mode: ProxyRequired, Timeout: 400 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	shut := false
	t.Cleanup(func() {
		if !shut {
			e.Close()
		}
	})
	h := &countingHandler{}
	ln := listen(t, e, "tcp", "127.0.0.1:0", h)
	addr := ln.Addr().String()

	eof := dialClient(t, "tcp", addr)
	eof.Write([]byte("PROXY TCP4 "))
	eof.(*net.TCPConn).CloseWrite()
	refused(t, eof)
	idle := dialClient(t, "tcp", addr) // sends nothing: the idle timeout
	refused(t, idle)
	metricsWhen(t, e, "two ends", func(m LoopMetrics) bool { return m.Closed[ClosePeer] == 1 && m.Closed[CloseIdleTimeout] == 1 })

	var held []net.Conn
	for range 4 {
		nc := dialClient(t, "tcp", addr)
		nc.Write([]byte("PROXY TCP4 192.0.2.1")) // never finished
		held = append(held, nc)
	}
	metricsWhen(t, e, "four waiting", func(m LoopMetrics) bool { return m.Open == 4 && m.Accepted == 6 })
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	shut = true
	for _, nc := range held {
		refused(t, nc)
	}
	var m Metrics
	e.ReadMetrics(&m)
	tot := m.Total()
	invariant(t, tot)
	if tot.Closed[CloseShutdown] != 4 || h.opens.Load() != 0 || h.closes.Load() != 0 {
		t.Errorf("closed %v, OnOpen %d, OnClose %d", tot.Closed, h.opens.Load(), h.closes.Load())
	}
}

// TestReviewCheckProxyDataExactlyOnce: the header, then more data than one
// read takes, in one write or apart: the handler sees every byte once, in
// order (also with a small read buffer and inbound limit).
func TestReviewCheckProxyDataExactlyOnce(t *testing.T) {
	for _, cfg := range []Config{{Loops: 1}, {Loops: 1, ReadBufferSize: 4096, MaxInbound: 8192}} {
		cfg.Logger = quiet
		cfg.ProxyProtocol = ProxyProtocol{Mode: ProxyRequired}
		e := newEngine(t, cfg)
		opened := make(chan proxySeen, 4)
		ln := listen(t, e, "tcp", "127.0.0.1:0", proxyEcho(opened))
		for _, version := range []int{1, 2} {
			for _, apart := range []bool{false, true} {
				nc := dialClient(t, "tcp", ln.Addr().String())
				data := pattern(300<<10, uint64(version))
				h := header(t, version, "192.0.2.7:40001", "198.51.100.1:443")
				got := make(chan []byte, 1)
				go func() {
					b, _ := io.ReadAll(io.LimitReader(nc, int64(len(data))))
					got <- b
				}()
				if apart {
					nc.Write(h)
					testutil.Recv(t, opened, "OnOpen")
					nc.Write(data)
				} else {
					nc.Write(append(append([]byte(nil), h...), data...))
					testutil.Recv(t, opened, "OnOpen")
				}
				b := testutil.Recv(t, got, "the echo")
				if d := diff(b, data); d != "" {
					t.Fatalf("v%d apart %v (read buffer %d): %s", version, apart, cfg.ReadBufferSize, d)
				}
			}
		}
	}
}

// TestReviewCheckProxyTLSOneSegment: the header and the ClientHello in one
// segment.
func TestReviewCheckProxyTLSOneSegment(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	e := newEngine(t, Config{ProxyProtocol: ProxyProtocol{Mode: ProxyRequired}, Logger: quiet})
	opened := make(chan proxySeen, 1)
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), proxyEcho(opened))
	if err != nil {
		t.Fatal(err)
	}
	raw := dialClient(t, "tcp", ln.Addr().String())
	cfg := ca.ClientConfig()
	cfg.ServerName = "localhost"
	tc := tls.Client(&prefixConn{Conn: raw, prefix: header(t, 2, "192.0.2.44:4444", "192.0.2.2:443")}, cfg)
	echoed(t, tc, bytes.Repeat([]byte("over TLS "), 10000))
	if seen := testutil.Recv(t, opened, "OnOpen"); seen.remote != "192.0.2.44:4444" {
		t.Fatalf("OnOpen saw %+v", seen)
	}
}

// prefixConn writes prefix in front of its first write.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Write(b []byte) (int, error) {
	if p.prefix != nil {
		b2 := append(p.prefix, b...)
		p.prefix = nil
		n, err := p.Conn.Write(b2)
		return max(0, n-(len(b2)-len(b))), err
	}
	return p.Conn.Write(b)
}

// TestReviewCheckProxyDualStack: on "[::]:port", an IPv4 client arrives
// as ::ffff:127.0.0.1 and is classified by its IPv4 address.
func TestReviewCheckProxyDualStack(t *testing.T) {
	for _, c := range []struct {
		trusted string
		ok      bool
	}{{"127.0.0.0/8", true}, {"::1/128", false}} {
		e := newEngine(t, Config{Loops: 1, Logger: quiet, ProxyProtocol: ProxyProtocol{Mode: ProxyRequired,
			Trusted: []netip.Prefix{netip.MustParsePrefix(c.trusted)}}})
		opened := make(chan proxySeen, 1)
		ln, err := e.Listen("tcp", ":0", proxyEcho(opened)) // dual-stack, as "[::]:0" is
		if err != nil {
			t.Skipf("no dual-stack listener: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		nc := dialClient(t, "tcp4", net.JoinHostPort("127.0.0.1", itoa(port)))
		nc.Write(header(t, 1, "192.0.2.7:40001", "198.51.100.1:443"))
		if c.ok {
			if seen := testutil.Recv(t, opened, "OnOpen"); seen.remote != "192.0.2.7:40001" {
				t.Errorf("trusted %s: %+v", c.trusted, seen)
			}
		} else {
			refused(t, nc)
		}
	}
}

func itoa(n int) string {
	return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(n)).String()[len("0.0.0.0:"):]
}

// TestReviewCheckInvariantEnds: accepted + dialled - closed == open after
// a TLS handshake failure, a refused dial, a dial timeout, panics in
// OnOpen and OnClose, and Shutdown; no OnClose without OnOpen.
func TestReviewCheckInvariantEnds(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	e, err := New(Config{Loops: 2, Logger: quiet, TLSHandshakeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var panicky atomic.Int32
	h := &countingHandler{}
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) {
			if panicky.Load() == 1 {
				panic("open")
			}
		},
		Close: func(c *Conn, err error) {
			if panicky.Load() == 2 {
				panic("close")
			}
		},
		Data: echo().Data,
	})
	tln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), h)
	if err != nil {
		t.Fatal(err)
	}
	bad := dialClient(t, "tcp", tln.Addr().String())
	bad.Write([]byte("not a client hello at all\r\n\r\n"))
	refused(t, bad)
	stall := dialClient(t, "tcp", tln.Addr().String()) // the handshake timeout
	refused(t, stall)

	dead := testutil.FreePort(t)
	if _, err := e.Dial(context.Background(), "tcp", net.JoinHostPort("127.0.0.1", itoa(dead)), Funcs{}, DialOptions{}); err == nil {
		t.Fatal("dial of a free port succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	if _, err := e.Dial(ctx, "tcp", "192.0.2.1:9", Funcs{}, DialOptions{}); err == nil {
		t.Fatal("dial of TEST-NET succeeded")
	}
	cancel()
	panicky.Store(1)
	nc := dialClient(t, "tcp", ln.Addr().String())
	refused(t, nc)
	panicky.Store(2)
	nc = dialClient(t, "tcp", ln.Addr().String())
	nc.Close()
	metricsWhen(t, e, "the panics", func(m LoopMetrics) bool { return m.Panics == 2 && m.Open == 0 && m.Dialled == 2 })
	panicky.Store(0)
	for range 3 {
		dialClient(t, "tcp", ln.Addr().String())
	}
	if _, err := e.Dial(context.Background(), "tcp", ln.Addr().String(), Funcs{}, DialOptions{}); err != nil {
		t.Fatal(err)
	}
	metricsWhen(t, e, "five open", func(m LoopMetrics) bool { return m.Open == 5 })
	ctx, cancel = context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	var m Metrics
	e.ReadMetrics(&m)
	tot := m.Total()
	invariant(t, tot)
	if tot.Open != 0 || tot.Paused != 0 || h.orphans.Load() != 0 || h.opens.Load() != 0 {
		t.Errorf("after shutdown: %+v; TLS opens %d, orphan closes %d", tot, h.opens.Load(), h.orphans.Load())
	}
}

// TestReviewCheckPausedGauge: clients that send and never read pause their
// connections (output at the high mark, input at its limit); whether they
// then reset, close or stay until Shutdown, Paused returns to 0.
func TestReviewCheckPausedGauge(t *testing.T) {
	e, err := New(Config{Loops: 2, Logger: quiet, MaxInbound: 16 << 10, ReadBufferSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	slow := Funcs{Data: func(c *Conn) { // consumes nothing past the first 100 bytes of each read: input fills
		if c.InboundBuffered() >= 16<<10 {
			return
		}
		b, _ := c.Next(-1)
		c.Write(b)
	}}
	ln := listen(t, e, "tcp", "127.0.0.1:0", echo())
	ln2 := listen(t, e, "tcp", "127.0.0.1:0", slow)
	var conns []net.Conn
	for i := range 12 {
		addr := ln.Addr().String()
		if i%2 == 1 {
			addr = ln2.Addr().String()
		}
		nc := testutil.DialRcvbuf(t, addr, 4096)
		conns = append(conns, nc)
		go func() {
			big := make([]byte, 256<<10)
			for {
				if _, err := nc.Write(big); err != nil {
					return
				}
			}
		}()
	}
	metricsWhen(t, e, "twelve paused", func(m LoopMetrics) bool { return m.Paused == 12 })
	// The echo ones (even) wait for room to send and hear of the end; a
	// connection paused on input alone is watched for nothing and hears
	// of it only at InboundTimeout (by design: close.go, setInterest).
	for i := 0; i < 8; i += 2 {
		if i%4 == 0 {
			conns[i].(*net.TCPConn).SetLinger(0)
		}
		conns[i].Close()
	}
	metricsWhen(t, e, "eight paused", func(m LoopMetrics) bool { return m.Paused == 8 && m.Open == 8 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	e.Shutdown(ctx)
	for _, nc := range conns {
		nc.Close()
	}
	var m Metrics
	e.ReadMetrics(&m)
	tot := m.Total()
	invariant(t, tot)
	if tot.Paused != 0 || tot.Open != 0 {
		t.Errorf("after shutdown: paused %d open %d", tot.Paused, tot.Open)
	}
}
