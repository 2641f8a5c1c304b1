package loadgen

import (
	"sync/atomic"
	"time"

	"github.com/airsock/airsock/internal/report"
	"github.com/airsock/airsock/loop"
)

// worker is the state of one event loop of the generator: its connections,
// its shard of the latency recorder, its counters and, in an open-loop run,
// its pacer. Everything but the counters and the shard's snapshots is
// touched only on the loop's goroutine.
type worker struct {
	gen   *generator
	shard *report.Shard

	// Counters, written by the loop and read by the collector. "m" ones
	// count only the measured window (requests sent at or after the end of
	// the warmup and before the end).
	opened, open, sent, received, bytesIn   atomic.Int64
	mSent, mReceived, mBytesIn, mBytesOut   atomic.Int64
	verified, late, connErrors, outstanding atomic.Int64
	// UDP: datagrams of the measured window lost, back out of order, back
	// twice, back after the loss timeout; and back corrupt (any).
	mLost, reordered, duplicated, lateReplies, corrupt atomic.Int64

	clients    []*client // open connections, in no order
	successors []*client // churn: every client this loop dialled to replace one (reconnect.go)
	flows      []*flow   // UDP: open flows, in no order

	// UDP ticks (udp.go): the tick goroutine gets the loop's first flow's
	// socket through anchorCh, and each tick's next due time through wake.
	anchorPC *loop.PacketConn
	anchorCh chan *loop.PacketConn
	wake     chan int64

	// Pacer (open loop only): one loop timer, on any of the loop's
	// connections (the anchor), wakes the loop to send what is due.
	anchor    *client
	stopTimer func()
	tickFunc  func(*loop.Conn) // w.tick, made once
}

func newWorker(g *generator, shard *report.Shard) *worker {
	w := &worker{gen: g, shard: shard, anchorCh: make(chan *loop.PacketConn, 1), wake: make(chan int64, 1)}
	w.tickFunc = func(*loop.Conn) { w.tick() }
	return w
}

// add adopts a newly opened connection. Loop goroutine.
func (w *worker) add(cl *client) {
	cl.index = len(w.clients)
	w.clients = append(w.clients, cl)
	w.opened.Add(1)
	w.open.Add(1)
	if w.gen.cfg.openLoop() && w.anchor == nil {
		w.arm(0)
	}
}

// remove forgets a closed connection, and moves the pacer's timer if it
// was on that connection. Loop goroutine.
func (w *worker) remove(cl *client) {
	if cl.index < 0 {
		return
	}
	w.clients = dropAt(w.clients, cl.index, func(c *client, i int) { c.index = i })
	cl.index = -1
	w.open.Add(-1)
	if w.anchor == cl {
		w.stopTimer()
		w.anchor = nil
		if len(w.clients) > 0 {
			w.arm(0)
		}
	}
}

// dropAt removes list[i], moving the last element into its place and
// telling it its new index with moved.
func dropAt[T any](list []T, i int, moved func(T, int)) []T {
	last := len(list) - 1
	list[i] = list[last]
	moved(list[i], i)
	var zero T
	list[last] = zero
	return list[:last]
}

// arm schedules the next tick after d on one of the loop's connections.
// Loop goroutine.
func (w *worker) arm(d time.Duration) {
	w.anchor = w.clients[0]
	w.stopTimer = w.anchor.conn.AfterFunc(d, w.tickFunc)
}
