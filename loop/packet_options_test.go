package loop

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// ListenPacketWith's options and the calls a one-socket API needs:
// Single, Paused with SetReading, Connect on a bound socket, Done.

func TestPacketSingle(t *testing.T) {
	e := newEngine(t, Config{Loops: 2, JoinReusePort: true})
	pl, err := e.ListenPacketWith("udp4", "127.0.0.1:0", packetEcho(), PacketOptions{Single: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	if len(pl.Conns()) != 1 {
		t.Fatalf("Single: %d sockets, want 1", len(pl.Conns()))
	}
	// Nobody joins it, not even an engine that asks to.
	if other, err := e.ListenPacket("udp4", pl.Addr().String(), packetEcho()); err == nil {
		other.Close()
		t.Fatal("a JoinReusePort listener joined a Single socket's port")
	} else if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("joining a Single socket's port: %v, want EADDRINUSE", err)
	}
	c, err := net.Dial("udp4", pl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := echoFlow(c, 1, 10, []int{12, 1200}); err != nil {
		t.Fatal(err)
	}
}

// TestPacketPaused: datagrams sent to a paused socket wait in the kernel
// and are read, in order, once reading resumes.
func TestPacketPaused(t *testing.T) {
	got := make(chan int, 16)
	e := newEngine(t, Config{Loops: 1})
	pl, err := e.ListenPacketWith("udp4", "127.0.0.1:0", PacketFuncs{Packet: func(_ *PacketConn, d *Datagram) {
		got <- int(d.Data[0])
	}}, PacketOptions{Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	c, err := net.Dial("udp4", pl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 5 {
		c.Write([]byte{byte(i)})
	}
	pc := pl.Conns()[0]
	onLoopPacket(t, pc, func(*PacketConn) {}) // the socket is adopted, still paused
	select {
	case n := <-got:
		t.Fatalf("datagram %d read while paused", n)
	default:
	}
	onLoopPacket(t, pc, func(pc *PacketConn) { pc.SetReading(true) })
	for i := range 5 {
		select {
		case n := <-got:
			if n != i {
				t.Fatalf("datagram %d arrived as number %d", n, i)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("datagram %d never read after SetReading(true)", i)
		}
	}
}

// TestPacketConnectBound: a listener's socket connected to one peer hears
// only that peer, answers it with Write, and hears its ICMP errors.
func TestPacketConnectBound(t *testing.T) {
	got := make(chan string, 16)
	errs := make(chan error, 16)
	e := newEngine(t, Config{Loops: 1})
	pl, err := e.ListenPacketWith("udp4", "127.0.0.1:0", PacketFuncs{
		Packet: func(pc *PacketConn, d *Datagram) { got <- string(d.Data); pc.Write(d.Data) },
		Error:  func(_ *PacketConn, err error) { errs <- err },
	}, PacketOptions{Single: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := net.Dial("udp4", pl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	pc := pl.Conns()[0]
	var cerr error
	onLoopPacket(t, pc, func(pc *PacketConn) { cerr = pc.Connect(UDPAddr(peer.LocalAddr().(*net.UDPAddr).AddrPort())) })
	if cerr != nil {
		t.Fatal(cerr)
	}
	other.Write([]byte("stranger")) // filtered by the kernel now
	peer.WriteTo([]byte("friend"), pl.Addr())
	select {
	case s := <-got:
		if s != "friend" {
			t.Fatalf("connected socket received %q, want only the peer's", s)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the peer's datagram never arrived")
	}
	buf := make([]byte, 64)
	peer.SetReadDeadline(time.Now().Add(waitTimeout))
	if n, _, err := peer.ReadFrom(buf); err != nil || string(buf[:n]) != "friend" {
		t.Fatalf("reply to the peer: %q, %v", buf[:n], err)
	}
	peer.Close() // now its port refuses: the next reply brings back ECONNREFUSED
	for i := 0; ; i++ {
		onLoopPacket(t, pc, func(pc *PacketConn) { pc.Write([]byte("anyone?")) })
		select {
		case err := <-errs:
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("OnError: %v, want ECONNREFUSED", err)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if i == 100 {
			t.Fatal("no ECONNREFUSED after 100 sends to a closed port")
		}
	}
}

// TestPacketDone: Done closes once the socket is closed, and the port is
// free then.
func TestPacketDone(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	pl, err := e.ListenPacketWith("udp4", "127.0.0.1:0", packetEcho(), PacketOptions{Single: true})
	if err != nil {
		t.Fatal(err)
	}
	pc := pl.Conns()[0]
	select {
	case <-pc.Done():
		t.Fatal("Done closed before Close")
	default:
	}
	pl.Close()
	select {
	case <-pc.Done():
	case <-time.After(waitTimeout):
		t.Fatal("Done not closed after Close")
	}
	p, err := net.ListenPacket("udp4", pl.Addr().String())
	if err != nil {
		t.Fatalf("port held once Done: %v", err)
	}
	p.Close()
}

// TestPacketAfterFunc: a timer on the socket's loop sends a datagram from
// the LocalAddr and sees the Context DialPacketWith set; a stopped one
// does not run (it was due first, so it would have come first); the close
// stops the rest, leaving the loop's timer heap empty.
func TestPacketAfterFunc(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	pc, err := e.DialPacketWith("udp4", peer.LocalAddr().String(), PacketFuncs{}, DialOptions{LocalAddr: "127.0.0.2:0", Context: "ctx"})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan string, 4)
	onLoopPacket(t, pc, func(pc *PacketConn) {
		stop := pc.AfterFunc(time.Millisecond, func(pc *PacketConn) { ran <- "stopped one ran" })
		stop()
		pc.AfterFunc(20*time.Millisecond, func(pc *PacketConn) {
			pc.Write([]byte("tick"))
			ran <- pc.Context().(string)
		})
		pc.AfterFunc(time.Hour, func(*PacketConn) { ran <- "hour" }) // stopped by the close
	})
	select {
	case s := <-ran:
		if s != "ctx" {
			t.Fatalf("timer ran %q", s)
		}
	case <-time.After(waitTimeout):
		t.Fatal("AfterFunc never ran")
	}
	buf := make([]byte, 16)
	peer.SetReadDeadline(time.Now().Add(waitTimeout))
	n, from, err := peer.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "tick" {
		t.Fatalf("peer got %q, %v", buf[:n], err)
	}
	if ip := from.(*net.UDPAddr).IP.String(); ip != "127.0.0.2" {
		t.Fatalf("datagram from %s, want the LocalAddr 127.0.0.2", ip)
	}
	l := pc.loop
	pc.Close()
	<-pc.Done()
	left := make(chan int, 1)
	l.submit(task{kind: taskFunc, fn: func() { left <- len(l.timers) }})
	select {
	case n := <-left:
		if n != 0 {
			t.Fatalf("%d timers left on the loop after the close, want 0 (the hour's stopped)", n)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the loop did not run the check")
	}
}
