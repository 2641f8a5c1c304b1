package serversocket_test

// Conformance of ServerSocket with AIR's flash.net.ServerSocket, over real
// loopback connections.

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/airsock/airsock/internal/testutil"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

func TestServerSocketDefaults(t *testing.T) {
	s := serversocket.NewOn(newEngine(t, loop.Config{}))
	if s.Bound() || s.Listening() {
		t.Errorf("new socket: Bound=%v Listening=%v, want false false", s.Bound(), s.Listening())
	}
	if s.LocalAddress() != "" || s.LocalPort() != 0 {
		t.Errorf("new socket: LocalAddress=%q LocalPort=%d, want \"\" 0", s.LocalAddress(), s.LocalPort())
	}
	if !serversocket.IsSupported() {
		t.Error("IsSupported() = false on a platform the package builds for")
	}
}

func TestServerSocketBindErrors(t *testing.T) {
	e := newEngine(t, loop.Config{})
	held, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port

	cases := []struct {
		name string
		port int
		addr string
		want string
	}{
		{"port -1", -1, "127.0.0.1", "RangeError 2006"},
		{"port 65536", 65536, "127.0.0.1", "RangeError 2006"},
		{"not an IP", 0, "not-an-ip", "ArgumentError 2004"},
		{"host name", 0, "localhost", "ArgumentError 2004"},
		{"port in use", heldPort, "127.0.0.1", "IOError 2002"},
		{"not a local address", 0, "192.0.2.1", "IOError 2002"}, // TEST-NET-1: bind only, no packet sent
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := serversocket.NewOn(e)
			if got := errKind(s.Bind(c.port, c.addr)); got != c.want {
				t.Errorf("Bind(%d, %q) = %s, want %s", c.port, c.addr, got, c.want)
			}
			if s.Bound() || s.LocalPort() != 0 {
				t.Errorf("after a failed Bind: Bound=%v LocalPort=%d", s.Bound(), s.LocalPort())
			}
		})
	}

	t.Run("already bound", func(t *testing.T) {
		s := serversocket.NewOn(e)
		if err := s.Bind(0, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		port := s.LocalPort()
		if got := errKind(s.Bind(0, "127.0.0.1")); got != "IOError 2002" {
			t.Errorf("second Bind = %s, want IOError 2002", got)
		}
		if !s.Bound() || s.LocalPort() != port {
			t.Errorf("after the second Bind: Bound=%v LocalPort=%d, want true %d", s.Bound(), s.LocalPort(), port)
		}
	})
	t.Run("after Close", func(t *testing.T) {
		s := serversocket.NewOn(e)
		if err := s.Bind(0, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := errKind(s.Bind(0, "127.0.0.1")); got != "IOError 2002" {
			t.Errorf("Bind after Close = %s, want IOError 2002", got)
		}
	})
}

func TestServerSocketListenErrors(t *testing.T) {
	e := newEngine(t, loop.Config{})
	s := serversocket.NewOn(e)
	if got := errKind(s.Listen(0)); got != "IOError 2002" {
		t.Errorf("Listen before Bind = %s, want IOError 2002", got)
	}
	if err := s.Bind(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if got := errKind(s.Listen(-1)); got != "RangeError 2006" {
		t.Errorf("Listen(-1) = %s, want RangeError 2006", got)
	}
	if s.Listening() {
		t.Error("Listening after Listen(-1) failed")
	}
	if err := s.Listen(0); err != nil {
		t.Fatalf("Listen(0): %v", err)
	}
	if err := s.Listen(0); err != nil || !s.Listening() {
		t.Errorf("second Listen = %v, Listening=%v; want nil, true", err, s.Listening())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := errKind(s.Listen(0)); got != "IOError 2002" {
		t.Errorf("Listen after Close = %s, want IOError 2002", got)
	}
}

func TestServerSocketCloseErrors(t *testing.T) {
	s := serversocket.NewOn(newEngine(t, loop.Config{}))
	if got := errKind(s.Close()); got != "IOError 2002" {
		t.Errorf("Close of a never-bound socket = %s, want IOError 2002", got)
	}
	if err := s.Bind(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close of a bound socket: %v", err)
	}
	if got := errKind(s.Close()); got != "IOError 2002" {
		t.Errorf("second Close = %s, want IOError 2002", got)
	}
}

// Close stops the server only: accepted sockets go on, the port is free at
// once, and no Close event is dispatched.
func TestServerSocketCloseKeepsAcceptedSockets(t *testing.T) {
	e := newEngine(t, loop.Config{})
	srv := startServer(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			b, _ := s.ReadBytes(nil, 0, 0)
			s.WriteBytes(b, 0, 0)
		}, 0)
	})
	var closeEvents atomic.Int32
	srv.AddEventListener(serversocket.Close, func(serversocket.Eventer) { closeEvents.Add(1) }, 0)
	addr, port := hostPort(srv), srv.LocalPort()
	c := dial(t, addr)
	echo(t, c, "before close")

	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if srv.Bound() || srv.Listening() {
		t.Errorf("after Close: Bound=%v Listening=%v", srv.Bound(), srv.Listening())
	}
	echo(t, c, "after close")

	if d, err := net.Dial("tcp4", addr); err == nil {
		d.Close()
		t.Error("a new client connected to the closed server")
	} else if !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("dial after Close: %v, want ECONNREFUSED", err)
	}
	again := serversocket.NewOn(e)
	if err := again.Bind(port, "127.0.0.1"); err != nil {
		t.Errorf("rebinding port %d on the same engine right after Close: %v", port, err)
	} else {
		again.Close()
	}
	if ln, err := net.Listen("tcp4", addr); err != nil {
		t.Errorf("net.Listen on the freed port: %v", err)
	} else {
		ln.Close()
	}

	e.Close() // no event can fire after this
	if n := closeEvents.Load(); n != 0 {
		t.Errorf("ServerSocket.Close dispatched %d Close events, want 0", n)
	}
}

func TestServerSocketBindReportsRealPort(t *testing.T) {
	e := newEngine(t, loop.Config{})
	t.Run("127.0.0.1", func(t *testing.T) {
		accepted := make(chan [2]any, 1)
		s := serversocket.NewOn(e)
		defer func() {
			if s.Bound() {
				s.Close()
			}
		}()
		s.AddEventListener(serversocket.Connect, func(ev serversocket.Eventer) {
			sock := ev.(*serversocket.ServerSocketConnectEvent).Socket
			accepted <- [2]any{sock.LocalAddress(), sock.LocalPort()}
		}, 0)
		if err := s.Bind(0, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if !s.Bound() || s.Listening() {
			t.Errorf("after Bind: Bound=%v Listening=%v, want true false", s.Bound(), s.Listening())
		}
		if s.LocalAddress() != "127.0.0.1" || s.LocalPort() <= 0 || s.LocalPort() > 65535 {
			t.Fatalf("after Bind(0): LocalAddress=%q LocalPort=%d", s.LocalAddress(), s.LocalPort())
		}
		if d, err := net.Dial("tcp4", hostPort(s)); err == nil {
			d.Close()
			t.Error("connected to a bound socket that is not listening")
		}
		if err := s.Listen(0); err != nil {
			t.Fatal(err)
		}
		if !s.Listening() {
			t.Error("Listening() = false after Listen")
		}
		dial(t, hostPort(s))
		got := testutil.Recv(t, accepted, "the Connect event")
		if got != [2]any{"127.0.0.1", s.LocalPort()} {
			t.Errorf("accepted socket's local end = %v, want 127.0.0.1 %d", got, s.LocalPort())
		}
	})
	t.Run("default address", func(t *testing.T) {
		s := serversocket.NewOn(e)
		if err := s.Bind(0, ""); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.LocalAddress() != "0.0.0.0" || s.LocalPort() == 0 {
			t.Errorf("Bind(0, \"\"): LocalAddress=%q LocalPort=%d, want 0.0.0.0 and a port", s.LocalAddress(), s.LocalPort())
		}
	})
}

func TestServerSocketIPv6Loopback(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	probe.Close()
	e := newEngine(t, loop.Config{})
	remote := make(chan string, 1)
	srv := serversocket.NewOn(e)
	srv.AddEventListener(serversocket.Connect, func(ev serversocket.Eventer) {
		s := ev.(*serversocket.ServerSocketConnectEvent).Socket
		remote <- s.RemoteAddress()
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			b, _ := s.ReadBytes(nil, 0, 0)
			s.WriteBytes(b, 0, 0)
		}, 0)
	}, 0)
	if err := srv.Bind(0, "::1"); err != nil {
		t.Fatalf("Bind(0, \"::1\"): %v", err)
	}
	defer srv.Close()
	if err := srv.Listen(0); err != nil {
		t.Fatal(err)
	}
	if srv.LocalAddress() != "::1" || srv.LocalPort() == 0 {
		t.Errorf("LocalAddress=%q LocalPort=%d, want ::1 and a port", srv.LocalAddress(), srv.LocalPort())
	}
	c := dial(t, net.JoinHostPort("::1", strconv.Itoa(srv.LocalPort())))
	if got := testutil.Recv(t, remote, "the Connect event"); got != "::1" {
		t.Errorf("RemoteAddress = %q, want ::1", got)
	}
	echo(t, c, "over IPv6")
}

// A burst of clients gets one Connect event each, each with its own
// connected Socket whose RemotePort is that client's port.
func TestServerSocketConnectBurst(t *testing.T) {
	const clients = 500
	e := newEngine(t, loop.Config{})
	var mu sync.Mutex
	seen := make(map[int]int) // RemotePort -> Connect events
	var bad []string
	events := newRecorder[int]()
	srv := serversocket.NewOn(e)
	srv.AddEventListener(serversocket.Connect, func(ev serversocket.Eventer) {
		ce := ev.(*serversocket.ServerSocketConnectEvent)
		mu.Lock()
		if ce.Type() != serversocket.Connect || ce.Target() != srv || ce.Socket == nil || !ce.Socket.Connected() {
			bad = append(bad, ce.String())
		} else {
			seen[ce.Socket.RemotePort()]++
		}
		mu.Unlock()
		events.add(1)
	}, 0)
	if err := srv.Bind(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Listen(0); err != nil {
		t.Fatal(err)
	}
	want := make(map[int]int, clients)
	for range clients {
		c := dial(t, hostPort(srv))
		want[c.LocalAddr().(*net.TCPAddr).Port] = 1
	}
	events.waitLen(t, clients, "500 Connect events")
	e.Close() // barrier: no event after this
	if n := len(events.snapshot()); n != clients {
		t.Errorf("%d Connect events, want exactly %d", n, clients)
	}
	if len(bad) > 0 {
		t.Errorf("%d malformed Connect events, first: %s", len(bad), bad[0])
	}
	for port, n := range seen {
		if want[port] != n {
			t.Errorf("remote port %d: %d events, want %d", port, n, want[port])
		}
	}
	for port := range want {
		if seen[port] == 0 {
			t.Errorf("client port %d got no Connect event", port)
		}
	}
}

// With nobody to hand it to, an accepted connection is closed at once.
func TestServerSocketWithoutConnectListenerClosesConnections(t *testing.T) {
	e := newEngine(t, loop.Config{})
	srv := startServer(t, e, nil)
	c := dial(t, hostPort(srv))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err != io.EOF {
		t.Errorf("client read = %d, %v; want 0, EOF", n, err)
	}
}
