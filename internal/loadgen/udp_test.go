package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/backend"
	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
)

// serveUDP starts the loop backend's UDP echo for the test.
func serveUDP(t *testing.T) string {
	t.Helper()
	s, err := backend.Start(context.Background(), "loop", backend.Config{Addr: "127.0.0.1:0", Loops: 1, Proto: proto.Echo{}, UDP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, s.Shutdown) })
	return s.Addr().String()
}

// udpTestServer serves datagrams with packet, on one loop, for the test.
func udpTestServer(t *testing.T, packet func(pc *loop.PacketConn, d *loop.Datagram)) string {
	t.Helper()
	e, err := loop.New(loop.Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, e.Shutdown) })
	pl, err := e.ListenPacket("udp", "127.0.0.1:0", loop.PacketFuncs{Packet: packet})
	if err != nil {
		t.Fatal(err)
	}
	return pl.Addr().String()
}

// seqOf reads a datagram's number from its header.
func seqOf(d *loop.Datagram) uint64 { return binary.LittleEndian.Uint64(d.Data[8:]) }

// checkUDP fails the test unless r is a clean UDP run: every datagram of
// the window back and right, each latency recorded.
func checkUDP(t *testing.T, r *Results, err error, flows int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if !r.UDP || r.Conns != flows || r.Errors != 0 || r.Failure != nil {
		t.Fatalf("udp %v flows %d errors %d failure %v", r.UDP, r.Conns, r.Errors, r.Failure)
	}
	if r.Sent == 0 || r.Received != r.Sent || r.Lost != 0 || r.Corrupt != 0 || r.Duplicated != 0 {
		t.Fatalf("sent %d received %d lost %d corrupt %d duplicated %d", r.Sent, r.Received, r.Lost, r.Corrupt, r.Duplicated)
	}
	if r.Latency.TotalCount() != r.Received || r.VerifiedBytes < r.BytesReceived {
		t.Fatalf("latencies %d of %d received; %d bytes verified of %d", r.Latency.TotalCount(), r.Received, r.VerifiedBytes, r.BytesReceived)
	}
}

func TestUDPClosedLoop(t *testing.T) {
	addr := serveUDP(t)
	r, err := run(t, Config{Addr: addr, UDP: true, Conns: 20, Depth: 4, Size: 100,
		Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond, Loops: 2})
	checkUDP(t, r, err, 20)
	if r.BytesReceived != 100*r.Received {
		t.Fatalf("%d bytes for %d datagrams of 100", r.BytesReceived, r.Received)
	}
}

// TestUDPOpenLoop: 5,000 datagrams/s for 1 s is 5,000 datagrams, within
// 2%, paced by the tick goroutines.
func TestUDPOpenLoop(t *testing.T) {
	addr := serveUDP(t)
	r, err := run(t, Config{Addr: addr, UDP: true, Conns: 10, Rate: 5000, Size: 1200,
		Duration: time.Second, Warmup: 100 * time.Millisecond, Loops: 1})
	checkUDP(t, r, err, 10)
	if r.Sent < 4900 || r.Sent > 5000 {
		t.Fatalf("sent %d datagrams, want 5000 within 2%%", r.Sent)
	}
}

// TestUDPCorrupt: a server that flips one byte of every tenth datagram is
// caught: those are corrupt, not received, and the run fails naming one.
func TestUDPCorrupt(t *testing.T) {
	addr := udpTestServer(t, func(pc *loop.PacketConn, d *loop.Datagram) {
		if seqOf(d)%10 == 3 {
			d.Data[len(d.Data)-5] ^= 0x01
		}
		pc.WriteTo(d.Data, d.From)
	})
	r, err := run(t, Config{Addr: addr, UDP: true, Conns: 4, Depth: 2, Size: 64,
		Duration: 300 * time.Millisecond, Loops: 1})
	var ve *VerifyError
	if !errors.As(err, &ve) || !ve.Datagram || ve.Seq%10 != 3 || ve.Offset != 59 {
		t.Fatalf("err %v, want a VerifyError for a datagram numbered 3 mod 10 at byte 59", err)
	}
	if r.Corrupt == 0 || r.Lost != 0 || r.Received+r.Corrupt != r.Sent {
		t.Fatalf("sent %d received %d corrupt %d lost %d", r.Sent, r.Received, r.Corrupt, r.Lost)
	}
}

// TestUDPLossAndOddities: a server that drops every fifth datagram,
// answers every seventh twice and holds every eleventh back until the
// next: the drops are lost (after the timeout, and the closed loop goes
// on), the others counted as duplicated and reordered.
func TestUDPLossAndOddities(t *testing.T) {
	var held []byte
	var heldTo loop.PacketAddr
	addr := udpTestServer(t, func(pc *loop.PacketConn, d *loop.Datagram) {
		seq := seqOf(d)
		switch {
		case seq%5 == 4:
			return
		case seq%11 == 6 && held == nil:
			held, heldTo = append([]byte(nil), d.Data...), d.From
			return
		}
		pc.WriteTo(d.Data, d.From)
		if seq%7 == 2 {
			pc.WriteTo(d.Data, d.From)
		}
		if held != nil {
			pc.WriteTo(held, heldTo)
			held = nil
		}
	})
	r, err := run(t, Config{Addr: addr, UDP: true, Conns: 1, Depth: 4, Size: 32,
		Duration: 600 * time.Millisecond, LossTimeout: 50 * time.Millisecond, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Lost == 0 || r.Duplicated == 0 || r.Reordered == 0 || r.Corrupt != 0 || r.Received+r.Lost != r.Sent {
		t.Fatalf("sent %d received %d lost %d duplicated %d reordered %d corrupt %d",
			r.Sent, r.Received, r.Lost, r.Duplicated, r.Reordered, r.Corrupt)
	}
	// A fifth are dropped; the held ones may be lost too (their flow's next
	// datagram may be a dropped one).
	if lost := float64(r.Lost) / float64(r.Sent); lost < 0.15 || lost > 0.35 {
		t.Fatalf("lost %d of %d", r.Lost, r.Sent)
	}
	if s := r.Summary("udp"); s.DatagramCounts == nil || s.Lost != r.Lost || s.LossPercent <= 0 {
		t.Fatalf("summary %+v", s)
	}
}

// TestUDPConfig: the bounds of a UDP run.
func TestUDPConfig(t *testing.T) {
	for _, c := range []Config{
		{Addr: "127.0.0.1:1", UDP: true, Proto: "resp"},
		{Addr: "127.0.0.1:1", UDP: true, Size: 8},
		{Addr: "127.0.0.1:1", UDP: true, Size: 70000},
		{Addr: "127.0.0.1:1", UDP: true, Sources: []string{"127.0.0.1"}},
	} {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
