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

	clients []*client // open connections, in no order

	// Pacer (open loop only): one loop timer, on any of the loop's
	// connections (the anchor), wakes the loop to send what is due.
	anchor    *client
	stopTimer func()
	tickFunc  func(*loop.Conn) // w.tick, made once
}

func newWorker(g *generator, shard *report.Shard) *worker {
	w := &worker{gen: g, shard: shard}
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
	last := w.clients[len(w.clients)-1]
	w.clients[cl.index] = last
	last.index = cl.index
	w.clients[len(w.clients)-1] = nil
	w.clients = w.clients[:len(w.clients)-1]
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

// arm schedules the next tick after d on one of the loop's connections.
// Loop goroutine.
func (w *worker) arm(d time.Duration) {
	w.anchor = w.clients[0]
	w.stopTimer = w.anchor.conn.AfterFunc(d, w.tickFunc)
}
