package serversocket_test

import (
	"net/netip"
	"testing"

	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/proxyproto"
	"github.com/airsock/airsock/serversocket"
)

// TestReviewCheckProxyRemoteAddress (a check of review 15 that passes):
// behind a PROXY header, a Socket's addresses are the client's and the
// address it reached, from the Connect listener on and from any goroutine.
func TestReviewCheckProxyRemoteAddress(t *testing.T) {
	e := newEngine(t, loop.Config{ProxyProtocol: loop.ProxyProtocol{Mode: loop.ProxyRequired}})
	got := make(chan [4]any, 1)
	sockets := make(chan *serversocket.Socket, 1)
	srv := startServer(t, e, func(s *serversocket.Socket) {
		got <- [4]any{s.RemoteAddress(), s.RemotePort(), s.LocalAddress(), s.LocalPort()}
		sockets <- s
	})
	c := dial(t, hostPort(srv))
	h, err := proxyproto.AppendV2(nil, proxyproto.Header{Command: proxyproto.Proxy, Transport: proxyproto.TCP6,
		Source: netip.MustParseAddrPort("[2001:db8::7]:40001"), Destination: netip.MustParseAddrPort("[2001:db8::1]:443")})
	if err != nil {
		t.Fatal(err)
	}
	c.Write(h)
	want := [4]any{"2001:db8::7", 40001, "2001:db8::1", 443}
	if g := testutil.Recv(t, got, "connect"); g != want {
		t.Errorf("in the Connect listener: %v, want %v", g, want)
	}
	s := testutil.Recv(t, sockets, "the socket")
	if g := [4]any{s.RemoteAddress(), s.RemotePort(), s.LocalAddress(), s.LocalPort()}; g != want {
		t.Errorf("from the test goroutine: %v, want %v", g, want)
	}
}
