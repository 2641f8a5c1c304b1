package loop

import (
	"net/netip"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/proxyproto"
)

// bigV2Header is a valid v2 PROXY header of about size bytes (NOOP padding).
func bigV2Header(t *testing.T, size int) []byte {
	t.Helper()
	h := proxyproto.Header{Command: proxyproto.Proxy, Transport: proxyproto.TCP4,
		Source: netip.MustParseAddrPort("192.0.2.7:40001"), Destination: netip.MustParseAddrPort("198.51.100.1:443")}
	h.TLVs = proxyproto.AppendTLV(nil, proxyproto.TypeNoop, make([]byte, size-16-12-3))
	b, err := proxyproto.AppendV2(nil, h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReviewProxyHeaderLongerThanInboundLimit: readProxy reads the header
// into c.in with Free(-1), which offers nothing once the ring holds its
// limit, max(MaxInbound, ReadBufferSize). A valid header longer than that
// (within MaxV2Length, 4 KiB by default) never completes: each readiness
// makes an empty read (sysReadv returns 0, nil for an empty buffer; the
// io_uring backend lists the descriptor again), so the loop spins on the
// still-readable socket until ProxyProtocol.Timeout closes a connection
// whose header was valid. Nothing pauses the interest (updateReading is
// not called in the header wait).
func TestReviewProxyHeaderLongerThanInboundLimit(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, ReadBufferSize: 1024, MaxInbound: 1024, Logger: quiet,
		ProxyProtocol: ProxyProtocol{Mode: ProxyRequired, Timeout: time.Second}})
	opened := make(chan proxySeen, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", proxyEcho(opened))
	nc := dialClient(t, "tcp", ln.Addr().String())

	var before Metrics
	e.ReadMetrics(&before)
	hdr := bigV2Header(t, 2048) // within the default MaxV2Length of 4 KiB
	if _, err := nc.Write(append(hdr, "hello"...)); err != nil {
		t.Fatal(err)
	}
	var failed bool
	select {
	case seen := <-opened:
		if seen.remote != "192.0.2.7:40001" {
			t.Errorf("OnOpen saw %+v", seen)
		}
	case <-time.After(500 * time.Millisecond): // well before the 1 s header timeout
		failed = true
	}
	var after Metrics
	e.ReadMetrics(&after)
	waits := after.Loops[0].Waits - before.Loops[0].Waits
	if failed {
		t.Errorf("a valid %d-byte header (MaxInbound 1024) did not open the connection in 500 ms; the loop waited %d times meanwhile (a spin), busy %v of %v",
			len(hdr), waits, after.Loops[0].Busy-before.Loops[0].Busy, after.Loops[0].Up-before.Loops[0].Up)
	}
	m := metricsWhen(t, e, "the connection's end", func(m LoopMetrics) bool { return m.Open == 1 || m.Closed[CloseLimit] == 1 })
	if m.Closed[CloseLimit] == 1 {
		t.Errorf("the valid header's connection was closed as a timeout: %v", m.Closed)
	}
}

// TestReviewProxyUnixListenerRemoteAddr: unix-socket peers are always
// trusted (a balancer on this host), the header is taken, but RemoteAddr
// and LocalAddr return the unix addresses: the client the header names is
// lost, against the package doc ("RemoteAddr and LocalAddr then give the
// client and the address it reached") and ProxyHeader's ("Its Source and
// Destination are what RemoteAddr and LocalAddr give (for a PROXY command
// over TCP"). HAProxy's send-proxy to a unix socket server is a common
// set-up.
func TestReviewProxyUnixListenerRemoteAddr(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, Logger: quiet, ProxyProtocol: ProxyProtocol{Mode: ProxyRequired}})
	opened := make(chan proxySeen, 1)
	path := t.TempDir() + "/s.sock"
	listen(t, e, "unix", path, proxyEcho(opened))
	nc := dialClient(t, "unix", path)
	nc.Write(append(header(t, 1, "192.0.2.7:40001", "198.51.100.1:443"), "x"...))
	seen := testutil.Recv(t, opened, "OnOpen")
	if seen.header == nil {
		t.Fatal("no header taken")
	}
	if seen.remote != "192.0.2.7:40001" || seen.local != "198.51.100.1:443" {
		t.Errorf("behind a unix listener, OnOpen saw remote %q local %q; the header named 192.0.2.7:40001 -> 198.51.100.1:443", seen.remote, seen.local)
	}
}

// TestReviewProxyOptionalShortPrefix: with ProxyOptional, a client whose
// first bytes are a strict prefix of "PROXY " or of v2's signature, and
// that then waits for the server (a "P" typed into telnet, an empty line
// "\r\n" sent first), is never served: the wait ends only by the header
// timeout, which closes it as a limit. The doc says optional mode serves
// "the connection as it is when they are not" a header; a prefix that the
// timeout cuts short is not a header either.
func TestReviewProxyOptionalShortPrefix(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, Logger: quiet, ProxyProtocol: ProxyProtocol{Mode: ProxyOptional, Timeout: 200 * time.Millisecond}})
	opened := make(chan proxySeen, 2)
	ln := listen(t, e, "tcp", "127.0.0.1:0", proxyEcho(opened))
	for _, first := range []string{"PR", "\r\n"} {
		nc := dialClient(t, "tcp", ln.Addr().String())
		nc.Write([]byte(first))
		nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		got := make([]byte, len(first))
		n, err := nc.Read(got)
		if err != nil || string(got[:n]) != first {
			t.Errorf("first bytes %q then a wait: read %q, %v (want the echo: the client is not a balancer)", first, got[:n], err)
		}
	}
	m := metricsWhen(t, e, "both ended or open", func(m LoopMetrics) bool { return m.Open+int64(m.Closed[CloseLimit]) == 2 })
	if m.Closed[CloseLimit] > 0 {
		t.Errorf("%d optional-mode clients closed by the PROXY timeout", m.Closed[CloseLimit])
	}
}
