package serversocket_test

// Review tests of DatagramSocket: AIR's "after connect only that peer's
// datagrams are received", the order of one goroutine's Sends, a Send
// followed by Connect in a listener, and an ioError listener that Sends
// while the dispatch that raised it is still handing its datagrams over.

import (
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// await receives from ch within waitLimit; false if it did not come.
func await(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(waitLimit):
		return false
	}
}

// TestReviewDatagramConnectAfterBindFiltersEarlier: a bound socket that has
// not called Receive keeps what arrives in the kernel's buffer; it then
// connects to a peer. AIR: "afterwards only that peer's datagrams are
// received". The stranger's datagram, queued before connect(2), is still
// dispatched: the kernel does not purge its queue on connect, and OnPacket
// no longer checks the source.
func TestReviewDatagramConnectAfterBindFiltersEarlier(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1})
	served := newBarrier(t, e)
	s := newDatagram(t, e)
	if err := s.Bind(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	got := collect(s)
	peer := listenUDP(t, "udp4", "127.0.0.1:0")
	stranger := listenUDP(t, "udp4", "127.0.0.1:0")
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.LocalPort()}
	if _, err := stranger.WriteTo([]byte("from a stranger"), to); err != nil {
		t.Fatal(err)
	}
	served() // the stranger's datagram is in s's buffer
	if err := s.Connect("127.0.0.1", portOf(peer.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	if err := s.Receive(); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.WriteTo([]byte("from the peer"), to); err != nil {
		t.Fatal(err)
	}
	d := got.waitFor(t, "the peer's datagram", func(items []received) bool {
		for _, it := range items {
			if string(it.data) == "from the peer" {
				return true
			}
		}
		return false
	})
	for _, it := range d {
		if string(it.data) != "from the peer" {
			t.Errorf("after Connect, a %q datagram from port %d was dispatched; only the peer's (port %d) may be",
				it.data, it.srcPort, portOf(peer.LocalAddr()))
		}
	}
}

// TestReviewDatagramSendOrderOneGoroutine: "Datagrams keep the order of
// the Sends of one goroutine." A goroutine Sends A while the socket is not
// dispatching (AsyncWriteTo: a task, run after the turn's events), then B
// while a dispatch of the socket runs in the same turn (buffered, staged
// when the dispatch ends, before the turn's tasks): B leaves first.
func TestReviewDatagramSendOrderOneGoroutine(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1})
	recv := listenUDP(t, "udp4", "127.0.0.1:0")
	rport := portOf(recv.LocalAddr())
	socks := []*serversocket.DatagramSocket{newDatagram(t, e), newDatagram(t, e)}
	var step atomic.Int32
	first := make(chan int, 1) // which socket's dispatch came first
	second, go1, go2 := make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	for i, s := range socks {
		if err := s.Bind(0, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		s.AddEventListener(serversocket.Data, func(serversocket.Eventer) {
			switch step.Add(1) {
			case 1:
				first <- i
				await(go1)
			case 2:
				second <- struct{}{}
				await(go2)
			}
		}, 0)
	}
	// Hold the loop while both sockets get a datagram and start receiving,
	// so that both are ready in the same turn.
	hold, err := e.ListenPacket("udp4", "127.0.0.1:0", loop.PacketFuncs{})
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	held, release := make(chan struct{}), make(chan struct{})
	hold.Conns()[0].Run(func(*loop.PacketConn) { close(held); await(release) })
	if !await(held) {
		t.Fatal("the loop did not run the holding function")
	}
	for _, s := range socks {
		dialUDP(t, "udp4", addrOf(s)).Write([]byte("go"))
		if err := s.Receive(); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	var x int
	select {
	case x = <-first:
	case <-time.After(waitLimit):
		t.Fatal("no data event")
	}
	target := socks[1-x] // dispatched next, in the same turn
	if err := target.Send([]byte("A"), 0, 0, "127.0.0.1", rport); err != nil {
		t.Fatal(err)
	}
	close(go1)
	if !await(second) {
		t.Fatal("no second data event")
	}
	if err := target.Send([]byte("B"), 0, 0, "127.0.0.1", rport); err != nil {
		t.Fatal(err)
	}
	close(go2)
	if got := testutil.ReadDatagrams(recv, 2, waitLimit); len(got) != 2 || got[0] != "A" || got[1] != "B" {
		t.Fatalf("one goroutine Sent A then B; the receiver got %q", got)
	}
}

// TestReviewDatagramSendThenConnectInListener: a listener Sends a
// datagram to one address, then connects the socket to another peer. The
// datagram was Sent before Connect, to its own address, but endDispatch
// looks at pc.Connected() when it hands the datagram over, and writes it
// to the new peer.
func TestReviewDatagramSendThenConnectInListener(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1})
	s := boundDatagram(t, e, "127.0.0.1")
	x := listenUDP(t, "udp4", "127.0.0.1:0")
	peer := listenUDP(t, "udp4", "127.0.0.1:0")
	errs := make(chan error, 2)
	s.AddEventListener(serversocket.Data, func(serversocket.Eventer) {
		errs <- s.Send([]byte("for x"), 0, 0, "127.0.0.1", portOf(x.LocalAddr()))
		errs <- s.Connect("127.0.0.1", portOf(peer.LocalAddr()))
	}, 0)
	dialUDP(t, "udp4", addrOf(s)).Write([]byte("go"))
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(waitLimit):
			t.Fatal("no data event")
		}
	}
	if err := s.Send([]byte("for the peer"), 0, 0, "", 0); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ReadDatagrams(peer, 1, waitLimit); len(got) != 1 || got[0] != "for the peer" {
		t.Errorf("the peer's first datagram: %q, want \"for the peer\" (\"for x\" was Sent to x before Connect)", got)
	}
	if got := testutil.ReadDatagrams(x, 1, time.Second); len(got) != 1 || got[0] != "for x" {
		t.Errorf("x received %q, want \"for x\"", got)
	}
}

// TestReviewDatagramErrorListenerSendsDuringDispatchEnd: a Data listener
// Sends four datagrams; the first is too long for UDP. When the dispatch
// ends, handing the second over fills the loop's stage, whose flush hears
// EMSGSIZE: an ioError dispatch runs inside the first dispatch's
// endDispatch, and its listener's Sends reuse s.out and s.outMsgs, which
// the outer endDispatch is still reading. The outer one then slices
// out[135000:6] and panics (recovered by the loop): A and B are lost.
func TestReviewDatagramErrorListenerSendsDuringDispatchEnd(t *testing.T) {
	var logs testutil.SyncBuffer
	e := newEngine(t, loop.Config{Loops: 1, Logger: bufferLogger(&logs)})
	s := boundDatagram(t, e, "127.0.0.1")
	recv := listenUDP(t, "udp4", "127.0.0.1:0")
	rport := portOf(recv.LocalAddr())
	var ioErrors atomic.Int32
	s.AddEventListener(serversocket.IOErrorType, func(serversocket.Eventer) {
		if ioErrors.Add(1) == 1 {
			for i := range 3 {
				s.Send([]byte("E"+strconv.Itoa(i)), 0, 0, "127.0.0.1", rport)
			}
		}
	}, 0)
	s.AddEventListener(serversocket.Data, func(serversocket.Eventer) {
		s.Send(make([]byte, 70000), 0, 0, "127.0.0.1", rport) // EMSGSIZE
		s.Send(make([]byte, 65000), 0, 0, "127.0.0.1", rport) // with the first, over the 128 KiB stage
		s.Send([]byte("A"), 0, 0, "127.0.0.1", rport)
		s.Send([]byte("B"), 0, 0, "127.0.0.1", rport)
	}, 0)
	dialUDP(t, "udp4", addrOf(s)).Write([]byte("go"))
	got := testutil.ReadDatagrams(recv, 7, 2*time.Second) // one more than due: a duplicate shows
	if testutil.CountOf(got, "A") != 1 || testutil.CountOf(got, "B") != 1 || testutil.CountOf(got, "E0") != 1 || testutil.CountOf(got, "E2") != 1 || len(got) != 6 {
		short := make([]string, len(got))
		for i, g := range got {
			if len(g) > 8 {
				g = strconv.Itoa(len(g)) + " bytes"
			}
			short[i] = g
		}
		panicked := ""
		if l := logs.String(); strings.Contains(l, "panic=") {
			panicked = l[strings.Index(l, "panic="):]
			panicked = panicked[:min(len(panicked), 90)]
		}
		t.Fatalf("received %q (%d ioError events); want the 65000 bytes, A, B, E0, E1, E2 once each; logged: %s",
			short, ioErrors.Load(), panicked)
	}
}
