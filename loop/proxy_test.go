package loop

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/proxyproto"
)

// proxySeen is what a PROXY test's handler saw of one connection.
type proxySeen struct {
	remote, local string
	header        *proxyproto.Header
}

// proxyEcho is an echo handler that reports each connection's addresses
// and header at OnOpen.
func proxyEcho(opened chan<- proxySeen) Funcs {
	return Funcs{
		Open: func(c *Conn) {
			opened <- proxySeen{c.RemoteAddr().String(), c.LocalAddr().String(), c.ProxyHeader()}
		},
		Data: func(c *Conn) {
			b, _ := c.Next(-1)
			c.Write(b)
		},
	}
}

func proxyEngine(t *testing.T, p ProxyProtocol) (*Engine, string, chan proxySeen) {
	t.Helper()
	e := newEngine(t, Config{Loops: 2, ProxyProtocol: p, Logger: quiet})
	opened := make(chan proxySeen, 16)
	ln := listen(t, e, "tcp", "127.0.0.1:0", proxyEcho(opened))
	return e, ln.Addr().String(), opened
}

func header(t *testing.T, version int, src, dst string) []byte {
	t.Helper()
	h := proxyproto.Header{Command: proxyproto.Proxy, Transport: proxyproto.TCP4,
		Source: netip.MustParseAddrPort(src), Destination: netip.MustParseAddrPort(dst)}
	if h.Source.Addr().Is6() {
		h.Transport = proxyproto.TCP6
	}
	if version == 1 {
		return proxyproto.AppendV1(nil, h)
	}
	h.TLVs = proxyproto.AppendTLV(nil, proxyproto.TypeAuthority, []byte("example.com"))
	b, err := proxyproto.AppendV2(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// echoed sends msg and reads it back on nc.
func echoed(t *testing.T, nc net.Conn, msg []byte) {
	t.Helper()
	if _, err := nc.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

// refused reads from nc until the server closes it, failing if anything
// but the end comes.
func refused(t *testing.T, nc net.Conn) {
	t.Helper()
	n, err := nc.Read(make([]byte, 64))
	if n > 0 || err == nil {
		t.Fatalf("the server answered (%d bytes, %v) where it should close", n, err)
	}
}

// TestProxyHeaderGivesTheClient: v1 and v2 headers, sent with the first
// data, apart from it, or a byte at a time, make RemoteAddr and LocalAddr
// the client's and the balancer's front; the handler's first bytes are the
// client's data; the TLVs are kept.
func TestProxyHeaderGivesTheClient(t *testing.T) {
	e, addr, opened := proxyEngine(t, ProxyProtocol{Mode: ProxyRequired})
	for _, c := range []struct {
		name       string
		version    int
		src, dst   string
		trickle    bool
		withData   bool
		wantRemote string
	}{
		{"v1", 1, "192.0.2.7:40001", "198.51.100.1:443", false, true, "192.0.2.7:40001"},
		{"v2", 2, "192.0.2.8:40002", "198.51.100.1:443", false, true, "192.0.2.8:40002"},
		{"v2-apart", 2, "192.0.2.9:40003", "198.51.100.1:443", false, false, "192.0.2.9:40003"},
		{"v1-trickled", 1, "[2001:db8::5]:40004", "[2001:db8::1]:443", true, false, "[2001:db8::5]:40004"},
		{"v2-trickled", 2, "[2001:db8::6]:40005", "[2001:db8::1]:443", true, false, "[2001:db8::6]:40005"},
	} {
		t.Run(c.name, func(t *testing.T) {
			nc := dialClient(t, "tcp", addr)
			h := header(t, c.version, c.src, c.dst)
			msg := []byte("hello " + c.name)
			switch {
			case c.trickle:
				for i := range h {
					nc.Write(h[i : i+1])
				}
			case c.withData:
				nc.Write(append(h, msg...))
				msg = nil
			default:
				nc.Write(h)
			}
			seen := testutil.Recv(t, opened, "OnOpen")
			if seen.remote != c.wantRemote || seen.header == nil || seen.header.Version != c.version {
				t.Fatalf("OnOpen saw %+v, want remote %s", seen, c.wantRemote)
			}
			if want := netip.MustParseAddrPort(c.dst).String(); seen.local != want {
				t.Errorf("local %s, want %s", seen.local, want)
			}
			if c.version == 2 {
				if a, ok := seen.header.TLVs.Authority(); !ok || a != "example.com" {
					t.Errorf("authority TLV %q %v", a, ok)
				}
			}
			if msg == nil {
				got := make([]byte, len("hello "+c.name))
				if _, err := io.ReadFull(nc, got); err != nil || string(got) != "hello "+c.name {
					t.Fatalf("the data sent with the header: %q, %v", got, err)
				}
				msg = []byte("more")
			}
			echoed(t, nc, msg)
		})
	}
	m := metricsWhen(t, e, "five headers", func(m LoopMetrics) bool { return m.ProxyHeaders == 5 })
	if m.ProxyRejected != 0 || m.ProxyMalformed != 0 {
		t.Errorf("%+v", m)
	}
}

// TestProxyLocalKeepsTheConnection: a LOCAL header (a balancer's health
// check) leaves the connection's own addresses.
func TestProxyLocalKeepsTheConnection(t *testing.T) {
	_, addr, opened := proxyEngine(t, ProxyProtocol{Mode: ProxyRequired})
	nc := dialClient(t, "tcp", addr)
	h, err := proxyproto.AppendV2(nil, proxyproto.Header{Command: proxyproto.Local, Transport: proxyproto.Unspec})
	if err != nil {
		t.Fatal(err)
	}
	nc.Write(h)
	seen := testutil.Recv(t, opened, "OnOpen")
	if seen.remote != nc.LocalAddr().String() || seen.header == nil || seen.header.Command != proxyproto.Local {
		t.Fatalf("OnOpen saw %+v, want the real peer %s", seen, nc.LocalAddr())
	}
	echoed(t, nc, []byte("health"))
}

// TestProxyOptional: with ProxyOptional a trusted client may send a header
// or not; its first bytes, when they are not a header, are its data.
func TestProxyOptional(t *testing.T) {
	_, addr, opened := proxyEngine(t, ProxyProtocol{Mode: ProxyOptional})
	nc := dialClient(t, "tcp", addr)
	echoed(t, nc, []byte("GET / HTTP/1.0\r\n\r\n"))
	if seen := testutil.Recv(t, opened, "OnOpen"); seen.remote != nc.LocalAddr().String() || seen.header != nil {
		t.Fatalf("without a header: %+v", seen)
	}
	nc = dialClient(t, "tcp", addr)
	nc.Write(header(t, 1, "192.0.2.1:1000", "192.0.2.2:80"))
	echoed(t, nc, []byte("x"))
	if seen := testutil.Recv(t, opened, "OnOpen"); seen.remote != "192.0.2.1:1000" {
		t.Fatalf("with a header: %+v", seen)
	}
}

// TestProxyRefusals: each refusal closes only its connection, is counted,
// and its handler never hears of it, while a good client beside it is
// served: a required header missing, a malformed one, one that never
// completes (the timeout), and, from a source outside Trusted, a header
// (a direct client cannot spoof its address) or, under ProxyRequired,
// any connection.
func TestProxyRefusals(t *testing.T) {
	e, addr, opened := proxyEngine(t, ProxyProtocol{Mode: ProxyRequired, Timeout: 200 * time.Millisecond})
	good := dialClient(t, "tcp", addr)
	good.Write(header(t, 2, "192.0.2.1:1", "192.0.2.2:2"))
	testutil.Recv(t, opened, "the good client's OnOpen")

	nc := dialClient(t, "tcp", addr)
	nc.Write([]byte("GET / HTTP/1.1\r\n"))
	refused(t, nc)
	nc = dialClient(t, "tcp", addr)
	nc.Write([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n")) // no destination port
	refused(t, nc)
	nc = dialClient(t, "tcp", addr)
	nc.Write([]byte("PROXY TCP4 192.0.2.1"))
	refused(t, nc) // the timeout
	echoed(t, good, []byte("still served"))
	m := metricsWhen(t, e, "the refusals", func(m LoopMetrics) bool {
		return m.ProxyRejected == 1 && m.ProxyMalformed == 1 && m.Closed[CloseLimit] == 2 && m.Closed[CloseError] == 1
	})
	if m.ProxyHeaders != 1 {
		t.Errorf("%d headers taken, want the good client's", m.ProxyHeaders)
	}

	// Loopback outside Trusted: an optional header is refused, no header
	// is served; under ProxyRequired the connection is refused at once.
	only := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	e, addr, opened = proxyEngine(t, ProxyProtocol{Mode: ProxyOptional, Trusted: only})
	nc = dialClient(t, "tcp", addr)
	nc.Write(header(t, 1, "203.0.113.9:5555", "192.0.2.2:80"))
	refused(t, nc)
	nc = dialClient(t, "tcp", addr)
	echoed(t, nc, []byte("plain"))
	if seen := testutil.Recv(t, opened, "OnOpen"); seen.header != nil || seen.remote != nc.LocalAddr().String() {
		t.Fatalf("an untrusted client without a header: %+v", seen)
	}
	metricsWhen(t, e, "the spoof refused", func(m LoopMetrics) bool { return m.ProxyRejected == 1 })
	e, addr, _ = proxyEngine(t, ProxyProtocol{Mode: ProxyRequired, Trusted: only})
	refused(t, dialClient(t, "tcp", addr))
	metricsWhen(t, e, "the untrusted refused", func(m LoopMetrics) bool { return m.ProxyRejected == 1 })
	select {
	case s := <-opened:
		t.Fatalf("a refused connection was opened: %+v", s)
	default:
	}
}

// TestProxyBeforeTLS: the header comes before the ClientHello, and the
// handshake then goes on from the bytes after it.
func TestProxyBeforeTLS(t *testing.T) {
	ca := testutil.NewTLSAuthority(t)
	e := newEngine(t, Config{ProxyProtocol: ProxyProtocol{Mode: ProxyRequired}, Logger: quiet})
	opened := make(chan proxySeen, 1)
	ln, err := e.ListenTLS("tcp", "127.0.0.1:0", ca.ServerConfig(), proxyEcho(opened))
	if err != nil {
		t.Fatal(err)
	}
	raw := dialClient(t, "tcp", ln.Addr().String())
	raw.Write(header(t, 2, "192.0.2.44:4444", "192.0.2.2:443"))
	cfg := ca.ClientConfig()
	cfg.ServerName = "localhost"
	tc := tls.Client(raw, cfg)
	echoed(t, tc, []byte("over TLS"))
	if seen := testutil.Recv(t, opened, "OnOpen"); seen.remote != "192.0.2.44:4444" {
		t.Fatalf("OnOpen saw %+v", seen)
	}
}

// TestProxyPerListener: SetProxyProtocol gives one listener of an engine
// the PROXY protocol; another, on the engine's default (off), takes a
// header's bytes as data. After Serve it is refused.
func TestProxyPerListener(t *testing.T) {
	e := newEngine(t, Config{Logger: quiet})
	opened := make(chan proxySeen, 4)
	behind, err := e.Bind("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := behind.SetProxyProtocol(ProxyProtocol{Mode: ProxyRequired}); err != nil {
		t.Fatal(err)
	}
	if err := behind.Serve(proxyEcho(opened), 0); err != nil {
		t.Fatal(err)
	}
	if err := behind.SetProxyProtocol(ProxyProtocol{}); err != ErrClosed {
		t.Errorf("SetProxyProtocol after Serve: %v, want ErrClosed", err)
	}
	direct := listen(t, e, "tcp", "127.0.0.1:0", proxyEcho(opened))

	nc := dialClient(t, "tcp", behind.Addr().String())
	nc.Write(header(t, 1, "192.0.2.3:3333", "192.0.2.2:80"))
	echoed(t, nc, []byte("behind"))
	if seen := testutil.Recv(t, opened, "OnOpen"); seen.remote != "192.0.2.3:3333" {
		t.Fatalf("behind the balancer: %+v", seen)
	}
	nc = dialClient(t, "tcp", direct.Addr().String())
	echoed(t, nc, header(t, 1, "192.0.2.3:3333", "192.0.2.2:80"))
	if seen := testutil.Recv(t, opened, "OnOpen"); seen.header != nil || seen.remote != nc.LocalAddr().String() {
		t.Fatalf("direct: %+v", seen)
	}
}
