package serversocket_test

// Conformance of Socket.Connect with AIR's socket.connect(): the outcome
// arrives as an event after Connect returns (connect, ioError #2031 on
// refusal or timeout), a bad port is a SecurityError at once, and
// connecting again replaces the old connection.

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// connectInfo is what a Connect listener sees of its socket.
type connectInfo struct {
	connected              bool
	targetOK               bool
	localAddr, remoteAddr  string
	localPort, remotePort  int
	writeErr               string
	eventType, eventString string
}

func TestSocketConnectOutbound(t *testing.T) {
	e := newEngine(t, loop.Config{})
	ln, port := peerListener(t)
	s := serversocket.NewSocketOn(e)
	infos := make(chan connectInfo, 1)
	replies := make(chan string, 1)
	s.AddEventListener(serversocket.Connect, func(ev serversocket.Eventer) {
		infos <- connectInfo{
			connected: s.Connected(), targetOK: ev.Target() == s,
			localAddr: s.LocalAddress(), remoteAddr: s.RemoteAddress(),
			localPort: s.LocalPort(), remotePort: s.RemotePort(),
			writeErr:  errKind(s.WriteUTF("ping")), // sent when the listener returns
			eventType: ev.Type(), eventString: ev.String(),
		}
	}, 0)
	s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
		if s.BytesAvailable() < 6 {
			return
		}
		str, err := s.ReadUTF()
		if err != nil {
			str = err.Error()
		}
		replies <- str
	}, 0)
	if err := s.Connect("127.0.0.1", port); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	peer := acceptPeer(t, ln)
	info := testutil.Recv(t, infos, "the Connect event")
	want := connectInfo{
		connected: true, targetOK: true,
		localAddr: "127.0.0.1", remoteAddr: "127.0.0.1",
		localPort: peer.RemoteAddr().(*net.TCPAddr).Port, remotePort: port,
		writeErr:  "nil",
		eventType: "connect", eventString: `[Event type="connect" bubbles=false cancelable=false]`,
	}
	if info != want {
		t.Errorf("in the Connect listener:\n got %+v\nwant %+v", info, want)
	}
	if got := readN(t, peer, 6); string(got) != "\x00\x04ping" {
		t.Errorf("peer received % x, want WriteUTF(\"ping\")", got)
	}
	if _, err := peer.Write([]byte("\x00\x04pong")); err != nil {
		t.Fatal(err)
	}
	if got := testutil.Recv(t, replies, "the reply"); got != "pong" {
		t.Errorf("ReadUTF = %q, want pong", got)
	}
}

// ioErrorInfo is what an IOErrorType listener sees.
type ioErrorInfo struct {
	errorID   int
	text      string
	targetOK  bool
	connected bool
}

// watchIOError records the IOErrorType events of s and fails t on any
// Connect event.
func watchIOError(t *testing.T, s *serversocket.Socket) <-chan ioErrorInfo {
	ch := make(chan ioErrorInfo, 1)
	s.AddEventListener(serversocket.IOErrorType, func(ev serversocket.Eventer) {
		ie := ev.(*serversocket.IOErrorEvent)
		ch <- ioErrorInfo{ie.ErrorID, ie.Text, ie.Target() == s, s.Connected()}
	}, 0)
	s.AddEventListener(serversocket.Connect, func(serversocket.Eventer) {
		t.Error("Connect event for a connection that cannot succeed")
	}, 0)
	return ch
}

func TestSocketConnectRefused(t *testing.T) {
	e := newEngine(t, loop.Config{})
	s := serversocket.NewSocketOn(e)
	errs := watchIOError(t, s)
	if err := s.Connect("127.0.0.1", testutil.FreePort(t)); err != nil {
		t.Fatalf("Connect returned %v; the failure must arrive as an event", err)
	}
	got := testutil.Recv(t, errs, "the ioError event")
	if got.errorID != serversocket.IDSocketError || !strings.HasPrefix(got.text, "Error #2031: Socket Error.") || !got.targetOK || got.connected {
		t.Errorf("ioError event %+v: want errorID 2031, AIR's text, the socket as target, not connected", got)
	}
}

// fullListener returns the address of a loopback listener whose accept
// queue is full, so that a further connect hangs in SYN_SENT: the backlog
// is 0 (Linux queues one connection, then drops SYNs) and nobody accepts.
// It returns port 0 if the queue does not fill within a few connections.
func fullListener(t *testing.T) int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	// Shrink the backlog of the listening socket: listen(2) again changes it.
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var lerr error
	raw.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), 0) })
	if lerr != nil {
		t.Fatalf("listen(backlog 0): %v", lerr)
	}
	addr := ln.Addr().String()
	for range 8 {
		c, err := net.DialTimeout("tcp4", addr, 250*time.Millisecond)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return ln.Addr().(*net.TCPAddr).Port // the SYN went unanswered: the queue is full
			}
			t.Fatalf("filling the accept queue: %v", err)
		}
		t.Cleanup(func() { c.Close() })
	}
	return 0
}

func TestSocketConnectTimeout(t *testing.T) {
	port := fullListener(t)
	if port == 0 {
		t.Skip("could not fill a loopback accept queue; no deterministic connect timeout")
	}
	e := newEngine(t, loop.Config{})
	s := serversocket.NewSocketOn(e)
	if s.Timeout() != serversocket.DefaultTimeout {
		t.Errorf("Timeout() = %d, want the default %d", s.Timeout(), serversocket.DefaultTimeout)
	}
	s.SetTimeout(100)
	errs := watchIOError(t, s)
	if err := s.Connect("127.0.0.1", port); err != nil {
		t.Fatal(err)
	}
	got := testutil.Recv(t, errs, "the timeout's ioError event")
	if got.errorID != serversocket.IDSocketError || !strings.Contains(got.text, "timeout") || got.connected {
		t.Errorf("ioError event %+v: want errorID 2031 naming the timeout, not connected", got)
	}
}

// A bad port is refused on the spot with SecurityError #2003 and no event.
func TestSocketConnectBadPort(t *testing.T) {
	e := newEngine(t, loop.Config{})
	s := serversocket.NewSocketOn(e)
	var connects, ioErrors, secErrors atomic.Int32
	s.AddEventListener(serversocket.Connect, func(serversocket.Eventer) { connects.Add(1) }, 0)
	s.AddEventListener(serversocket.IOErrorType, func(serversocket.Eventer) { ioErrors.Add(1) }, 0)
	s.AddEventListener(serversocket.SecurityErrorType, func(serversocket.Eventer) { secErrors.Add(1) }, 0)
	for _, port := range []int{0, -1, 65536} {
		if got := errKind(s.Connect("127.0.0.1", port)); got != "SecurityError 2003" {
			t.Errorf("Connect(port %d) = %s, want SecurityError 2003", port, got)
		}
		if s.Connected() {
			t.Errorf("Connected after Connect(port %d)", port)
		}
	}
	// A good Connect afterwards: its event comes, and only it.
	ln, port := peerListener(t)
	connected := make(chan struct{}, 1)
	s.AddEventListener(serversocket.Connect, func(serversocket.Eventer) { connected <- struct{}{} }, 0)
	if err := s.Connect("127.0.0.1", port); err != nil {
		t.Fatal(err)
	}
	acceptPeer(t, ln)
	testutil.Recv(t, connected, "the Connect event")
	e.Close()
	if connects.Load() != 1 || ioErrors.Load() != 0 || secErrors.Load() != 0 {
		t.Errorf("events: %d connect, %d ioError, %d securityError; want 1 0 0", connects.Load(), ioErrors.Load(), secErrors.Load())
	}
}

// Connect never dispatches before it returns: a listener that waits for
// Connect to return would wait forever (here: until the limit) if Connect
// dispatched on the caller's goroutine.
func TestSocketConnectDispatchesAfterReturning(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refused bool
	}{{"success", false}, {"refused", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, loop.Config{})
			s := serversocket.NewSocketOn(e)
			returned := make(chan struct{})
			early := make(chan bool, 1)
			check := func(serversocket.Eventer) {
				select {
				case <-returned:
					early <- false
				case <-time.After(testutil.WaitLimit): // never, unless dispatched inside Connect
					early <- true
				}
			}
			s.AddEventListener(serversocket.Connect, check, 0)
			s.AddEventListener(serversocket.IOErrorType, check, 0)
			port := testutil.FreePort(t)
			if !tc.refused {
				var ln *net.TCPListener
				ln, port = peerListener(t)
				defer acceptPeer(t, ln)
			}
			if err := s.Connect("127.0.0.1", port); err != nil {
				t.Fatal(err)
			}
			close(returned)
			if testutil.Recv(t, early, "the outcome event") {
				t.Error("the outcome was dispatched before Connect returned")
			}
		})
	}
}

// Connecting a connected socket closes the old connection (sending what was
// written to it, without a Close event) and connects anew.
func TestSocketReconnect(t *testing.T) {
	e := newEngine(t, loop.Config{})
	lnA, portA := peerListener(t)
	lnB, portB := peerListener(t)
	s := serversocket.NewSocketOn(e)
	connects := make(chan int, 2)
	var closeEvents atomic.Int32
	s.AddEventListener(serversocket.Connect, func(serversocket.Eventer) { connects <- s.RemotePort() }, 0)
	s.AddEventListener(serversocket.Close, func(serversocket.Eventer) { closeEvents.Add(1) }, 0)

	if err := s.Connect("127.0.0.1", portA); err != nil {
		t.Fatal(err)
	}
	a := acceptPeer(t, lnA)
	if got := testutil.Recv(t, connects, "the first Connect event"); got != portA {
		t.Fatalf("first connection's RemotePort = %d, want %d", got, portA)
	}
	if err := s.WriteUTFBytes("last words to A"); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect("127.0.0.1", portB); err != nil {
		t.Fatal(err)
	}
	if got := readToEOF(t, a); string(got) != "last words to A" {
		t.Errorf("old peer received %q then EOF, want \"last words to A\"", got)
	}
	b := acceptPeer(t, lnB)
	if got := testutil.Recv(t, connects, "the second Connect event"); got != portB {
		t.Errorf("second connection's RemotePort = %d, want %d", got, portB)
	}
	if s.LocalPort() != b.RemoteAddr().(*net.TCPAddr).Port {
		t.Errorf("LocalPort = %d, want the new connection's %d", s.LocalPort(), b.RemoteAddr().(*net.TCPAddr).Port)
	}
	if err := s.WriteUTFBytes("hello B"); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, b, 7); string(got) != "hello B" {
		t.Errorf("new peer received %q", got)
	}
	// A local Close dispatches nothing, and once the engine stops no event
	// can come: what the counter holds now is final.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if n := closeEvents.Load(); n != 0 {
		t.Errorf("re-Connect dispatched %d Close events, want 0", n)
	}
}
