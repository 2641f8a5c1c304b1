package loop

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// TestReviewMetricsBusyMonotonic: Busy is exported as a Prometheus counter
// (airsock_loop_busy_seconds_total), so successive snapshots must never
// show it smaller. ReadMetrics takes its time stamp before it loads the
// loop's words, and loadCounters.read adds "at - turnStart" for a loop it
// sees serving; when the loop's beginWait (busy += its own now() - turnStart)
// lands between the reader's now() and its loads, or a whole wait falls
// between the reader's loads of busy and of waiting/turnStart, the next
// snapshot is smaller than this one. A ping-pong client keeps one loop
// switching between serving and waiting while a reader scrapes.
func TestReviewMetricsBusyMonotonic(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, Logger: quiet})
	ln := listen(t, e, "tcp", "127.0.0.1:0", echo())
	nc := dialClient(t, "tcp", ln.Addr().String())

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // ping-pong: the loop waits, serves, waits...
		defer wg.Done()
		b := []byte("x")
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := nc.Write(b); err != nil {
				return
			}
			if _, err := io.ReadFull(nc, b); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	var m Metrics
	var prev time.Duration
	var prevUp time.Duration
	reads, decreases := 0, 0
	var first string
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		e.ReadMetrics(&m)
		l := m.Loops[0]
		reads++
		if l.Busy < prev {
			decreases++
			if first == "" {
				first = "busy " + prev.String() + " (up " + prevUp.String() + ") then " + l.Busy.String() + " (up " + l.Up.String() + ")"
			}
		}
		if l.Busy > l.Up {
			t.Fatalf("busy %v above up %v", l.Busy, l.Up)
		}
		prev, prevUp = l.Busy, l.Up
	}
	if decreases > 0 {
		t.Errorf("Busy went down %d times in %d snapshots; first: %s", decreases, reads, first)
	}
}

// TestReviewMetricsDialledCountsFailures: LoopMetrics.Dialled was
// documented as "dialled connections that connected", but startDial
// (dial.go) counts every attempt as it is registered, before the connect's
// outcome. The doc now says so (that keeps accepted + dialled - closed =
// open); a refused dial is one dialled and one closed for an error.
func TestReviewMetricsDialledCountsFailures(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, Logger: quiet})
	dead := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t)))
	if _, err := e.Dial(context.Background(), "tcp", dead, Funcs{}, DialOptions{}); err == nil {
		t.Fatal("a dial of a free port connected")
	}
	m := metricsWhen(t, e, "the refused dial closed", func(m LoopMetrics) bool { return m.Open == 0 })
	if m.Dialled != 1 || m.Closed[CloseError] != 1 {
		t.Errorf("after one refused dial: Dialled = %d, closed %v; want 1 dialled, 1 closed for an error", m.Dialled, m.Closed)
	}
}

// TestReviewMetricsDatagramsUncounted: datagram sockets live on the same
// loops (ListenPacket), but the packet path (packet_io.go, packet_send.go:
// recvmmsg and sendmmsg called directly, not through l.io) counts nothing:
// BytesIn ("bytes read from sockets"), BytesOut, Reads, Writes and, on
// epoll, Syscalls ("syscalls the loop made for its I/O") stay at zero for
// a UDP echo server, so `serve --udp --metrics` exports a loop that did
// nothing.
func TestReviewMetricsDatagramsUncounted(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, Logger: quiet})
	pl, err := e.ListenPacket("udp", "127.0.0.1:0", PacketFuncs{Packet: func(pc *PacketConn, d *Datagram) { pc.WriteTo(d.Data, d.From) }})
	if err != nil {
		t.Fatal(err)
	}
	var before Metrics
	e.ReadMetrics(&before)
	nc := dialClient(t, "udp", pl.Addr().String())
	msg := pattern(100, 3)
	for range 10 {
		nc.Write(msg)
		if _, err := nc.Read(make([]byte, 200)); err != nil {
			t.Fatal(err)
		}
	}
	// The last reply may reach the client before its loop counts it.
	l := metricsWhen(t, e, "the datagrams counted", func(m LoopMetrics) bool { return m.BytesOut-before.Loops[0].BytesOut >= 1000 })
	b := before.Loops[0]
	if l.BytesIn-b.BytesIn < 1000 || l.BytesOut-b.BytesOut < 1000 || l.Reads == b.Reads || l.Writes == b.Writes {
		t.Errorf("ten 100-byte datagrams echoed: bytes in %d, out %d, reads %d, writes %d, syscalls %d (waits %d)",
			l.BytesIn-b.BytesIn, l.BytesOut-b.BytesOut, l.Reads-b.Reads, l.Writes-b.Writes, l.Syscalls-b.Syscalls, l.Waits-b.Waits)
	}
}

// TestReviewMetricsBusyAfterShutdown: a loop leaves run (eventloop.go) in
// the turn after its last wait, so loopCounters.waiting stays false and
// read adds "at - turnStart" to Busy for ever: once the engine has shut
// down, every snapshot shows its loops 100 % busy and their Busy (a
// Prometheus counter) growing with the wall clock. A collector keeps its
// engines (promexport has no RemoveEngine), and `serve --metrics` keeps
// serving /metrics while and after its engine drains.
func TestReviewMetricsBusyAfterShutdown(t *testing.T) {
	e, err := New(Config{Loops: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	var a, b Metrics
	e.ReadMetrics(&a)
	time.Sleep(100 * time.Millisecond) // a stopped engine: nothing to await
	e.ReadMetrics(&b)
	if d := b.Loops[0].Busy - a.Loops[0].Busy; d > 10*time.Millisecond {
		t.Errorf("a stopped loop's Busy grew by %v in 100 ms (busy %v of up %v)", d, b.Loops[0].Busy, b.Loops[0].Up)
	}
}
