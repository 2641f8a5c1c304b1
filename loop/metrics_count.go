package loop

import (
	"sync/atomic"
	"time"
)

// counter is a figure that one goroutine writes and any goroutine reads:
// the writer's add is a load and a store, not a locked add, so counting on
// the per-message path costs about as much as a plain increment.
type counter struct{ v atomic.Uint64 }

func (c *counter) add(n uint64) { c.v.Store(c.v.Load() + n) }
func (c *counter) inc()         { c.add(1) }
func (c *counter) load() uint64 { return c.v.Load() }

// loopCounters are a loop's figures (LoopMetrics), written on its goroutine
// only. They sit at the end of eventLoop, away from the fields other
// goroutines write (sleeping, conns, tasks), and are read by ReadMetrics.
type loopCounters struct {
	accepted, dialled       counter
	closed                  [NumCloseReasons]counter
	bytesIn, packetBytesOut counter // stream bytes out are the backend's count (bytesSent)
	callbacks               counter
	reads, writes, waits    counter
	acceptBackoffs, panic   counter
	proxyHeaders            counter       // PROXY headers taken
	proxyRejected           counter       // connections refused: a header from an untrusted source, or none where one is required
	proxyMalformed          counter       // connections closed for a malformed header
	packetCalls             counter       // recvmmsg and sendmmsg calls (packet_count.go)
	paused                  atomic.Int64  // gauge; written by the loop only
	busy                    counter       // nanoseconds serving, up to the last wait
	started                 int64         // monotonic time the loop was made (before its goroutine runs)
	waiting                 atomic.Bool   // in a wait now, or stopped
	turnStart               atomic.Int64  // monotonic time the loop last stopped waiting
	busyShown               atomic.Uint64 // the most Busy any reader reported: later reports never show less
}

// beginWait is called as the loop goes to wait: the time since the end of
// the last wait was busy.
func (lc *loopCounters) beginWait(at int64) {
	lc.busy.add(uint64(at - lc.turnStart.Load()))
	lc.waiting.Store(true)
	lc.waits.inc()
}

// stop is called as the loop exits: its last turn was busy, and a loop
// that has stopped is not serving.
func (lc *loopCounters) stop(at int64) {
	lc.busy.add(uint64(at - lc.turnStart.Load()))
	lc.waiting.Store(true)
}

// endWait is called as the loop returns from a wait.
func (lc *loopCounters) endWait(at int64) {
	lc.turnStart.Store(at)
	lc.waiting.Store(false)
}

// read copies the counters into m, at monotonic time at. A loop serving
// now has been busy since its last wait ended; that part is added here, so
// that a loop stuck in a long callback shows as busy before it returns.
func (lc *loopCounters) read(m *LoopMetrics, at int64) {
	m.Accepted = lc.accepted.load()
	m.Dialled = lc.dialled.load()
	for r := range lc.closed {
		m.Closed[r] = lc.closed[r].load()
	}
	m.BytesIn = lc.bytesIn.load()
	m.BytesOut = lc.packetBytesOut.load()
	m.Callbacks = lc.callbacks.load()
	m.Reads = lc.reads.load()
	m.Writes = lc.writes.load()
	m.Waits = lc.waits.load()
	m.AcceptBackoffs = lc.acceptBackoffs.load()
	m.Panics = lc.panic.load()
	m.Paused = lc.paused.Load()
	m.ProxyHeaders = lc.proxyHeaders.load()
	m.ProxyRejected = lc.proxyRejected.load()
	m.ProxyMalformed = lc.proxyMalformed.load()
	m.Busy = time.Duration(lc.busyAt(at))
	m.Up = max(time.Duration(at-lc.started), m.Busy) // another reader's later clock may have shown more busy
}

// busyAt is the loop's busy time as of monotonic time at. A loop serving
// now has been busy since its last wait ended, counted here so that a loop
// stuck in a long callback shows busy before it returns. The three words
// are read until they agree (the loop may begin or end a wait between the
// reads), and a report never shows less than an earlier one: Busy is a
// counter, and a scraper takes a drop for a reset.
func (lc *loopCounters) busyAt(at int64) uint64 {
	var busy uint64
	for range 4 {
		waiting, start, b := lc.waiting.Load(), lc.turnStart.Load(), lc.busy.load()
		busy = b
		if !waiting {
			busy += uint64(max(at-start, 0))
		}
		if lc.waiting.Load() == waiting && lc.turnStart.Load() == start && lc.busy.load() == b {
			break
		}
	}
	for {
		shown := lc.busyShown.Load()
		if busy <= shown {
			return shown
		}
		if lc.busyShown.CompareAndSwap(shown, busy) {
			return busy
		}
	}
}

// pausedBy moves the Paused gauge as a connection's reading pauses (on)
// or resumes.
func (lc *loopCounters) pausedBy(on bool) {
	d := int64(-1)
	if on {
		d = 1
	}
	lc.paused.Store(lc.paused.Load() + d)
}

// countRead counts a socket read that returned n bytes or err.
func (l *eventLoop) countRead(n int, err error) {
	if n > 0 || err != nil {
		l.counters.reads.inc()
		l.counters.bytesIn.add(uint64(n))
	}
}
