package serversocket_test

// DatagramSocket against the AS3 reference of flash.net.DatagramSocket:
// the errors of Bind, Connect, Send and Receive by class and AIR error ID,
// on bad input and in the wrong state; implicit binds; a closed socket's
// reuse; Close with datagrams in flight; the close event; listener panics.

import (
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/airsock/airsock/internal/testutil"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// errClass extends errKind with IllegalOperationError.
func errClass(err error) string {
	if e, ok := errors.AsType[*serversocket.IllegalOperationError](err); ok {
		return "IllegalOperationError " + strconv.Itoa(e.ErrorID)
	}
	return errKind(err)
}

func TestDatagramBindErrors(t *testing.T) {
	e := newEngine(t, loop.Config{})
	held := listenUDP(t, "udp4", "127.0.0.1:0")
	for _, c := range []struct {
		name    string
		port    int
		address string
		want    string
	}{
		{"port -1", -1, "127.0.0.1", "RangeError 2006"},
		{"port 65536", 65536, "127.0.0.1", "RangeError 2006"},
		{"malformed address", 0, "127.0.0.256", "ArgumentError 2004"},
		{"a name, not an IP literal", 0, "localhost", "ArgumentError 2004"},
		{"port in use", portOf(held.LocalAddr()), "127.0.0.1", "IOError 2002"},
		{"not a local address", 0, "192.0.2.1", "IOError 2002"},
	} {
		s := newDatagram(t, e)
		if err := s.Bind(c.port, c.address); errClass(err) != c.want {
			t.Errorf("%s: Bind(%d, %q) = %v, want %s", c.name, c.port, c.address, err, c.want)
		}
		if s.Bound() {
			t.Errorf("%s: bound after a failed Bind", c.name)
		}
	}
	s := newDatagram(t, e)
	if err := s.Bind(portOf(held.LocalAddr()), "127.0.0.1"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Bind to a held port: %v, want it to wrap EADDRINUSE", err)
	}
	if err := s.Bind(0, ""); err != nil || s.LocalAddress() != "0.0.0.0" || s.LocalPort() == 0 {
		t.Fatalf(`Bind(0, "") = %v, bound to %s:%d, want 0.0.0.0 and a port`, err, s.LocalAddress(), s.LocalPort())
	}
	if err := s.Bind(0, "127.0.0.1"); errClass(err) != "IOError 2002" {
		t.Errorf("second Bind: %v, want IOError 2002", err)
	}
	// The port is this socket's alone: neither a DatagramSocket nor Go binds it.
	if err := newDatagram(t, e).Bind(s.LocalPort(), "0.0.0.0"); errClass(err) != "IOError 2002" {
		t.Errorf("Bind to another DatagramSocket's port: %v, want IOError 2002", err)
	}
	if c, err := net.ListenPacket("udp4", "0.0.0.0:"+strconv.Itoa(s.LocalPort())); err == nil {
		c.Close()
		t.Errorf("Go bound the DatagramSocket's port %d", s.LocalPort())
	}
}

func TestDatagramConnectErrors(t *testing.T) {
	e := newEngine(t, loop.Config{})
	for _, c := range []struct {
		name    string
		address string
		port    int
		want    string
	}{
		{"port 0", "127.0.0.1", 0, "RangeError 2006"},
		{"port 65536", "127.0.0.1", 65536, "RangeError 2006"},
		{"malformed address", "127.0.0.1.1", 9, "ArgumentError 2004"},
		{"a name", "localhost", 9, "ArgumentError 2004"},
		{"0.0.0.0", "0.0.0.0", 9, "ArgumentError 2004"},
		{"::", "::", 9, "ArgumentError 2004"},
	} {
		s := newDatagram(t, e)
		if err := s.Connect(c.address, c.port); errClass(err) != c.want {
			t.Errorf("%s: Connect(%q, %d) = %v, want %s", c.name, c.address, c.port, err, c.want)
		}
		if s.Connected() || s.Bound() {
			t.Errorf("%s: connected %v, bound %v after a failed Connect", c.name, s.Connected(), s.Bound())
		}
	}
	s := newDatagram(t, e)
	if err := s.Connect("127.0.0.1", 9); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect("127.0.0.1", 10); errClass(err) != "IOError 2002" {
		t.Errorf("Connect on a connected socket: %v, want IOError 2002", err)
	}
	v4 := newDatagram(t, e)
	v4.Bind(0, "127.0.0.1")
	if err := v4.Connect("::1", 9); errClass(err) != "IOError 2002" || v4.Connected() {
		t.Errorf("Connect of an IPv4 socket to ::1: %v (connected %v), want IOError 2002", err, v4.Connected())
	}
}

func TestDatagramSendErrors(t *testing.T) {
	e := newEngine(t, loop.Config{})
	buf := []byte("0123456789")
	unconnected := newDatagram(t, e)
	connected := newDatagram(t, e)
	if err := connected.Connect("127.0.0.1", 9); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name            string
		s               *serversocket.DatagramSocket
		offset, length  int
		address         string
		port            int
		want            string
		boundAfterwards bool
	}{
		{"negative offset", unconnected, -1, 0, "127.0.0.1", 9, "RangeError 2006", false},
		{"negative length", unconnected, 0, -1, "127.0.0.1", 9, "RangeError 2006", false},
		{"offset past the end", unconnected, 11, 0, "127.0.0.1", 9, "RangeError 2006", false},
		{"length past the end", unconnected, 4, 7, "127.0.0.1", 9, "RangeError 2006", false},
		{"no address, not connected", unconnected, 0, 0, "", 9, "ArgumentError 2004", false},
		{"malformed address", unconnected, 0, 0, "127.0.0.999", 9, "ArgumentError 2004", false},
		{"port 0, not connected", unconnected, 0, 0, "127.0.0.1", 0, "RangeError 2006", false},
		{"port 65536", unconnected, 0, 0, "127.0.0.1", 65536, "RangeError 2006", false},
		{"address on a connected socket", connected, 0, 0, "127.0.0.1", 9, "IllegalOperationError 2037", true},
		{"port alone on a connected socket", connected, 0, 0, "", 9, "IllegalOperationError 2037", true},
		{"address alone on a connected socket", connected, 0, 0, "127.0.0.1", 0, "IllegalOperationError 2037", true},
		{"offset past the end, connected", connected, 11, 0, "", 0, "RangeError 2006", true},
	} {
		if err := c.s.Send(buf, c.offset, c.length, c.address, c.port); errClass(err) != c.want {
			t.Errorf("%s: Send(buf, %d, %d, %q, %d) = %v, want %s", c.name, c.offset, c.length, c.address, c.port, err, c.want)
		}
		if c.s.Bound() != c.boundAfterwards {
			t.Errorf("%s: bound %v after the failed Send", c.name, c.s.Bound())
		}
	}
	if err := connected.Send(buf, 10, 0, "", 0); err != nil { // the rest from the end: an empty datagram
		t.Errorf("Send(buf, len(buf), 0) on a connected socket: %v", err)
	}
	v4 := newDatagram(t, e)
	v4.Bind(0, "127.0.0.1")
	if err := v4.Send(buf, 0, 0, "::1", 9); errClass(err) != "IOError 2002" {
		t.Errorf("Send from an IPv4 socket to ::1: %v, want IOError 2002", err)
	}
}

// Send binds an unbound socket to the wildcard of the destination's
// family; Connect to the address the route picks. Either can then Receive.
func TestDatagramImplicitBind(t *testing.T) {
	e := newEngine(t, loop.Config{})
	p := listenUDP(t, "udp4", "127.0.0.1:0")
	s := newDatagram(t, e)
	if err := s.Receive(); errClass(err) != "IOError 2002" {
		t.Errorf("Receive before any bind: %v, want IOError 2002", err)
	}
	if err := s.Send([]byte("hi"), 0, 0, "127.0.0.1", portOf(p.LocalAddr())); err != nil {
		t.Fatalf("Send on an unbound socket: %v", err)
	}
	if !s.Bound() || s.LocalAddress() != "0.0.0.0" || s.LocalPort() == 0 || s.Connected() {
		t.Fatalf("after Send: bound %v to %s:%d, connected %v; want bound to 0.0.0.0 and a port", s.Bound(), s.LocalAddress(), s.LocalPort(), s.Connected())
	}
	buf := make([]byte, 8)
	n, from, err := p.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "hi" || portOf(from) != s.LocalPort() {
		t.Fatalf("peer read %q from %v (%v), want \"hi\" from port %d", buf[:n], from, err, s.LocalPort())
	}
	if err := s.Bind(0, "127.0.0.1"); errClass(err) != "IOError 2002" {
		t.Errorf("Bind after Send bound the socket: %v, want IOError 2002", err)
	}
	if err := s.Receive(); err != nil {
		t.Fatal(err)
	}
	if err := s.Receive(); err != nil {
		t.Errorf("second Receive: %v", err)
	}
	got := collect(s)
	p.WriteTo([]byte("back"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.LocalPort()})
	wantDst := "0.0.0.0" // the wildcard bound, where the kernel does not say the destination
	if runtime.GOOS == "linux" {
		wantDst = "127.0.0.1" // IP_PKTINFO: the address the reply was sent to
	}
	if d := got.waitLen(t, 1, "the reply")[0]; string(d.data) != "back" || d.dst != wantDst {
		t.Errorf("reply %q to %s, want \"back\" to %s", d.data, d.dst, wantDst)
	}
}

// A closed socket cannot be reused: every method is an IOError #2002 and
// the getters read as unbound.
func TestDatagramClosedSocketReuse(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1})
	served := newBarrier(t, e)
	never := serversocket.NewDatagramSocketOn(e)
	if err := never.Close(); err != nil {
		t.Errorf("Close of a never-bound socket: %v", err)
	}
	s := serversocket.NewDatagramSocketOn(e)
	if err := s.Bind(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect("127.0.0.1", 9); err != nil {
		t.Fatal(err)
	}
	port := s.LocalPort()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, sock := range []*serversocket.DatagramSocket{never, s} {
		for name, err := range map[string]error{
			"Bind":    sock.Bind(0, "127.0.0.1"),
			"Connect": sock.Connect("127.0.0.1", 9),
			"Send":    sock.Send([]byte("x"), 0, 0, "127.0.0.1", 9),
			"Receive": sock.Receive(),
			"Close":   sock.Close(),
		} {
			if errClass(err) != "IOError 2002" {
				t.Errorf("%s after Close: %v, want IOError 2002", name, err)
			}
		}
		if sock.Bound() || sock.Connected() || sock.LocalAddress() != "" || sock.LocalPort() != 0 || sock.RemoteAddress() != "" || sock.RemotePort() != 0 {
			t.Errorf("after Close: bound %v connected %v local %q:%d remote %q:%d", sock.Bound(), sock.Connected(),
				sock.LocalAddress(), sock.LocalPort(), sock.RemoteAddress(), sock.RemotePort())
		}
	}
	if !s.IsSupported() || !(*serversocket.DatagramSocket)(nil).IsSupported() {
		t.Error("IsSupported = false")
	}
	// The port is free again once the loop has run the close.
	served()
	if c, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(port)); err != nil {
		t.Errorf("the closed socket's port is still taken: %v", err)
	} else {
		c.Close()
	}
}

// Close while datagrams pour in: from a listener, no data event runs after
// it; from another goroutine, the socket stops dispatching, sends fail, and
// nothing leaks (the package's TestMain checks goroutines).
func TestDatagramCloseWithDatagramsInFlight(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1})
	served := newBarrier(t, e)
	fds := testutil.OpenFDs(t)

	inListener := boundDatagram(t, e, "127.0.0.1")
	var seen atomic.Int32
	inListener.AddEventListener(serversocket.Data, func(serversocket.Eventer) {
		if seen.Add(1) == 5 {
			if err := inListener.Close(); err != nil {
				t.Errorf("Close in a listener: %v", err)
			}
		}
	}, 0)
	fromOutside := boundDatagram(t, e, "127.0.0.1")
	outside := collect(fromOutside)

	a := dialUDP(t, "udp4", addrOf(inListener))
	b := dialUDP(t, "udp4", addrOf(fromOutside))
	for i := range 200 {
		a.Write(payload(i, 100))
		b.Write(payload(i, 100))
		if i == 50 {
			fromOutside.Close()
		}
	}
	served()
	if n := seen.Load(); n != 5 {
		t.Errorf("%d data events, want 5: none after the listener's Close", n)
	}
	before := len(outside.snapshot())
	if err := fromOutside.Send([]byte("x"), 0, 0, "127.0.0.1", 9); errClass(err) != "IOError 2002" {
		t.Errorf("Send after Close: %v, want IOError 2002", err)
	}
	b.Write([]byte("after"))
	served()
	if after := len(outside.snapshot()); after != before || before > 51 {
		t.Errorf("data events after Close: %d then %d; want no more than the 51 sent before Close, and no new ones", before, after)
	}
	if now := testutil.OpenFDs(t); now > fds+2 { // +2: the clients a and b
		t.Errorf("%d descriptors open, %d before the two sockets and their clients: a closed socket's leaked", now, fds)
	}
}

// close fires when the system closes the socket (the engine stops), never
// after a local Close; the socket is then closed for good.
func TestDatagramCloseEvent(t *testing.T) {
	e, err := loop.New(loop.Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	open := serversocket.NewDatagramSocketOn(e)
	closed := serversocket.NewDatagramSocketOn(e)
	events := newRecorder[string]()
	for name, s := range map[string]*serversocket.DatagramSocket{"open": open, "closed": closed} {
		if err := s.Bind(0, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		s.AddEventListener(serversocket.Close, func(ev serversocket.Eventer) {
			events.add(name + " " + ev.String())
		}, 0)
	}
	closed.Close()
	e.Close()
	got := events.waitLen(t, 1, "the close event")
	if want := `open [Event type="close" bubbles=false cancelable=false]`; len(got) != 1 || got[0] != want {
		t.Errorf("close events %q, want only %q", got, want)
	}
	if open.Bound() {
		t.Error("bound after the system closed it")
	}
	if err := open.Send([]byte("x"), 0, 0, "127.0.0.1", 9); errClass(err) != "IOError 2002" {
		t.Errorf("Send after the close event: %v, want IOError 2002", err)
	}
}

// A panicking data listener is recovered and logged by the loop; the
// socket keeps receiving and sending.
func TestDatagramListenerPanicKeepsTheSocket(t *testing.T) {
	var logs testutil.SyncBuffer
	e := newEngine(t, loop.Config{Loops: 2, Logger: bufferLogger(&logs)})
	srv := boundDatagram(t, e, "127.0.0.1")
	srv.AddEventListener(serversocket.Data, func(ev serversocket.Eventer) {
		d := ev.(*serversocket.DatagramSocketDataEvent)
		srv.Send([]byte("reply to "), 0, 0, d.SrcAddress, d.SrcPort) // Sent before the panic: still sent
		if strings.HasPrefix(string(d.Data.Bytes()), "panic") {
			panic("datagram listener boom")
		}
		srv.Send(d.Data.Bytes(), 0, 0, d.SrcAddress, d.SrcPort)
	}, 0)
	c := dialUDP(t, "udp4", addrOf(srv))
	buf := make([]byte, 64)
	read := func() string {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("client read: %v", err)
		}
		return string(buf[:n])
	}
	for _, msg := range []string{"before", "panic now", "after"} {
		c.Write([]byte(msg))
		if got := read(); got != "reply to " {
			t.Fatalf("%q: first reply %q", msg, got)
		}
		if msg == "panic now" {
			continue
		}
		if got := read(); got != msg {
			t.Fatalf("echo of %q: %q", msg, got)
		}
	}
	if l := logs.String(); !strings.Contains(l, "datagram listener boom") || !strings.Contains(l, "panic") {
		t.Errorf("the panic was not logged; log:\n%s", l)
	}
}
