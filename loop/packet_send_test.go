package loop

import (
	"errors"
	"net"
	"testing"
	"time"
)

// TestPacketReportsBounded: more drops than one report may tell are told
// on the next, each socket's once, in order. With maxReports at 2 and
// three sockets with drops, the first report tells two and the turn's
// end the third (a bug once left told entries behind as nil and the next
// report dereferenced them).
func TestPacketReportsBounded(t *testing.T) {
	saved := maxReports
	maxReports = 2
	t.Cleanup(func() { maxReports = saved })
	e := newEngine(t, Config{Loops: 1})
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	told := make(chan int, 8)
	var pcs []*PacketConn
	for i := range 3 {
		pc, err := e.DialPacket("udp4", peer.LocalAddr().String(), PacketFuncs{Error: func(_ *PacketConn, err error) {
			var d *DroppedError
			if errors.As(err, &d) {
				told <- i*100 + d.Datagrams
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		pcs = append(pcs, pc)
	}
	var first int
	onLoopPacket(t, pcs[0], func(*PacketConn) {
		l := pcs[0].loop
		for i, pc := range pcs {
			l.drop(pc, 10)
			l.drop(pc, 10*(i+1))
		}
		l.reportPacketErrors()
		first = len(told)
		l.reportPacketErrors()
	})
	if first != 2 {
		t.Fatalf("the first report told %d sockets, want maxReports (2)", first)
	}
	want := []int{2, 102, 202} // each socket's two drops, in the order noted
	for i, w := range want {
		select {
		case got := <-told:
			if got != w {
				t.Fatalf("report %d: socket %d told %d drops, want socket %d with 2", i, got/100, got%100, w/100)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("report %d (socket %d) never came", i, w/100)
		}
	}
	if len(told) != 0 {
		t.Fatalf("%d reports more than the three sockets' drops", len(told))
	}
}
