package loadgen

import (
	"math"
	"time"
)

// Open-loop pacing. Request k of the run (k = 0, 1, 2, ...) is due at
// k/Rate seconds after the start and belongs to connection k mod Conns, so
// the total rate is exact and every connection has an even share. A
// connection that opens late takes up its slots from then on.
//
// Each loop has one timer (worker.arm) set for the earliest slot due on
// any of its connections. A timer fires late now and then (the loop was
// busy, the wait overslept: epoll_pwait2 waits to the nanosecond, plain
// epoll_wait to the millisecond on kernels before 5.11), so each tick
// sends every request that is due by then, each stamped with its intended
// time: a late send is measured as late, and counted when more than
// lateAfter behind.

// lateAfter is how far behind its intended time a send counts as late.
const lateAfter = int64(time.Millisecond)

// intended returns the due time of global slot k, in ns from the start.
func (g *generator) intended(k int64) int64 { return int64(float64(k) * g.nsPerReq) }

// firstSlot returns connection id's first slot due at or after now.
func (g *generator) firstSlot(id uint64, now int64) int64 {
	k, c := int64(id), int64(g.cfg.Conns)
	if g.intended(k) >= now {
		return k
	}
	m := math.Ceil((float64(now)/g.nsPerReq - float64(k)) / float64(c))
	k += int64(m) * c
	for g.intended(k) < now { // float rounding
		k += c
	}
	return k
}

// tick sends what is due on every connection of the loop and sets the
// timer for the next due slot. Loop goroutine.
func (w *worker) tick() {
	w.anchor = nil // this timer has fired
	g := w.gen
	now := g.now()
	end := g.end.Load()
	// Past the end (or after a stop) the requests that fell due before it
	// are still sent, late: a starved generator must not undercount.
	next := int64(math.MaxInt64)
	// By index: a failed write closes its connection at once, and OnClose
	// takes it out of w.clients (moving the last one into its place).
	for i := 0; i < len(w.clients); i++ {
		if t := w.clients[i].sendDue(now, end); t < next {
			next = t
		}
	}
	if g.sending(now) && next != math.MaxInt64 && len(w.clients) > 0 {
		w.arm(time.Duration(max(next-now, 0)))
	}
}

// sendDue sends cl's requests due by now (and before end), up to
// maxInflight in flight, with one write. It returns when the next is due,
// or MaxInt64 if none is before end. Loop goroutine.
func (cl *client) sendDue(now, end int64) int64 {
	w, g := cl.w, cl.w.gen
	stride := int64(g.cfg.Conns)
	replies := g.cfg.replies()
	out := cl.out[:0]
	n, late, measured := 0, 0, 0
	var mBytes int
	for {
		t := g.intended(cl.slot)
		if t >= end || t > now {
			break
		}
		if cl.times.len() >= maxInflight || cl.conn.OutboundBuffered()+len(out) >= maxOutput {
			// The server is not keeping up: wait for replies, or for it to
			// read. The requests stay due and will be measured from their
			// intended times.
			break
		}
		if cl.allow(1) == 0 { // the rest are its successor's
			break
		}
		start := len(out)
		out = cl.codec.AppendRequest(out, cl.seq)
		cl.seq++
		if replies {
			cl.times.push(t)
		}
		cl.slot += stride
		n++
		if t >= g.measureStart {
			measured++
			mBytes += len(out) - start
			if now-t > lateAfter {
				late++
			}
		}
	}
	cl.out = out
	if n > 0 {
		cl.conn.WriteThrough(out)
		w.sent.Add(int64(n))
		if replies {
			w.outstanding.Add(int64(n))
		}
		if measured > 0 {
			w.mSent.Add(int64(measured))
			w.mBytesOut.Add(int64(mBytes))
		}
		if late > 0 {
			w.late.Add(int64(late))
		}
	}
	if cl.spent() {
		cl.retire(now)
		return math.MaxInt64
	}
	if cl.times.len() >= maxInflight || cl.conn.OutboundBuffered() >= maxOutput {
		return now + lateAfter
	}
	if t := g.intended(cl.slot); t < end {
		return t
	}
	return math.MaxInt64
}
