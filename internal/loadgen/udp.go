package loadgen

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
)

// UDP load (Config.UDP): each of Conns flows is its own connected datagram
// socket (loop.Engine.DialPacket) on one of the generator's loops. A flow
// keeps Depth datagrams in flight (closed loop) or sends its share of Rate
// (open loop, the same slots as over TCP, pace.go). Every datagram
// carries its flow, its number and a check word in a 16-byte header, then
// the payload pattern of (flow, number) (proto.AppendPattern); every reply
// is checked whole. A datagram not back within LossTimeout is lost: its
// depth slot is freed and a new one goes out, so the closed loop never
// stalls. A reply that comes back after that, twice, out of order or with
// any byte wrong is counted as such: UDP may drop, and the counts say so.
//
// The loop has no timer for datagram sockets (loop.PacketConn has no
// AfterFunc), so each worker's ticks (expiry, open-loop pacing) are driven
// from a goroutine of its own, which wakes the loop with PacketConn.Run on
// the loop's first flow and sleeps until the tick says the next is due.

// udpHeader is the size of a datagram's header: flow (4 bytes), check
// word (4), number (8), little-endian.
const udpHeader = 16

// maxDatagram is the largest UDP payload over IPv4.
const maxDatagram = 65507

// headerCheck is the header's check word for datagram seq of flow.
func headerCheck(flow uint32, seq uint64) uint32 {
	x := (uint64(flow)<<32 | uint64(flow)) ^ seq
	x *= 0x9e3779b97f4a7c15
	x ^= x >> 29
	return uint32(x >> 32)
}

// appendDatagram appends datagram seq of flow, size bytes, to dst.
func appendDatagram(dst []byte, flow uint32, seq uint64, size int) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, flow)
	dst = binary.LittleEndian.AppendUint32(dst, headerCheck(flow, seq))
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	return proto.AppendPattern(dst, uint64(flow), seq, size-udpHeader)
}

// Slot states of a flow's window.
const (
	slotFree     = iota
	slotPending  // sent, not back
	slotAnswered // back, every byte right
	slotLost     // not back within the loss timeout
	slotCorrupt  // back with a byte wrong
)

// flowSlot is one datagram of a flow's window.
type flowSlot struct {
	seq   uint64
	sent  int64 // send (open loop: intended send) time
	state uint8
}

// flow is one UDP flow of the generator. After start it is used only on
// its loop's goroutine; Run reads it again once the loops have stopped.
type flow struct {
	id      uint32
	g       *generator
	w       *worker
	pc      *loop.PacketConn
	seq     uint64     // next datagram number
	oldest  uint64     // every datagram before it is done (back, lost or corrupt)
	win     []flowSlot // datagram s is win[s&(len-1)] while it is among the last len sent
	pending int        // datagrams in flight
	maxSeen uint64     // highest number back so far (seen: any)
	seen    bool
	out     []byte // the datagram being built, reused
	slot    int64  // open loop: the global slot of the next datagram
	index   int    // position in w.flows, -1 when not open
}

// dialFlows opens the flows, paced as TCP connections are. It runs on its
// own goroutine.
func (g *generator) dialFlows(addr string) {
	g.paceDials(func(i int) {
		f := &flow{id: uint32(i), g: g, index: -1}
		f.win = make([]flowSlot, max(64, 1<<bitsFor(2*g.cfg.Depth)))
		pc, err := g.engine.DialPacket("udp", addr, f)
		if err != nil {
			g.dialDone(nil, err)
			return
		}
		g.flows = append(g.flows, f)
		g.flowPCs = append(g.flowPCs, pc)
		if err := pc.Run(f.start); err != nil {
			g.dialDone(nil, err)
		}
	})
}

// quiesceUDP waits, after stop, until every flow's loop has run once more:
// a tick that was sending as stop came has then finished, and the ones
// after it send nothing, so the count of datagrams in flight that drain
// waits on is final. Without it, the last datagram of an open-loop run
// could leave after drain saw none in flight, and be counted lost. At
// most 5 s: a loop stuck in a handler does not hang the generator.
// Collector goroutine, once the dialer has returned.
func (g *generator) quiesceUDP() {
	ran := make(chan struct{}, len(g.flowPCs))
	waiting := 0
	for _, pc := range g.flowPCs {
		if pc.Run(func(*loop.PacketConn) { ran <- struct{}{} }) == nil {
			waiting++ // closed ones send nothing more
		}
	}
	limit := time.After(5 * time.Second)
	for ; waiting > 0; waiting-- {
		select {
		case <-ran:
		case <-limit:
			return
		}
	}
}

// bitsFor returns the bits a ring of at least n slots needs.
func bitsFor(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}

// start adopts the flow on its loop and, in a closed-loop run, sends its
// first Depth datagrams. Loop goroutine.
func (f *flow) start(pc *loop.PacketConn) {
	g := f.g
	f.pc = pc
	f.w = g.workers[pc.Loop()]
	f.w.addFlow(f)
	now := g.now()
	if g.cfg.openLoop() {
		f.slot = g.firstSlot(uint64(f.id), now)
	} else if g.sending(now) {
		f.send(g.cfg.Depth, now)
	}
}

// put sends the next datagram, stamped sent; false if the socket refused
// it (closed). Loop goroutine.
func (f *flow) put(sent int64) bool {
	size := f.g.cfg.Size
	sl := f.slotOf(f.seq)
	f.out = appendDatagram(f.out[:0], f.id, f.seq, size)
	if _, err := f.pc.Write(f.out); err != nil {
		f.w.connErrors.Add(1)
		return false
	}
	*sl = flowSlot{seq: f.seq, sent: sent, state: slotPending}
	f.seq++
	f.pending++
	return true
}

// counted adds n datagrams sent, measured of them in the measured window,
// to the worker's counters.
func (f *flow) counted(n, measured int) {
	w := f.w
	if n > 0 {
		w.sent.Add(int64(n))
		w.outstanding.Add(int64(n))
	}
	if measured > 0 {
		w.mSent.Add(int64(measured))
		w.mBytesOut.Add(int64(measured * f.g.cfg.Size))
	}
}

// send sends n datagrams stamped at (closed loop). Loop goroutine.
func (f *flow) send(n int, at int64) {
	sent := 0
	for sent < n && f.put(at) {
		sent++
	}
	measured := 0
	if at >= f.g.measureStart {
		measured = sent
	}
	f.counted(sent, measured)
}

// sendDue sends the flow's datagrams due by now (and before end), each
// stamped with its intended time, up to maxInflight in flight; it returns
// when the next is due (MaxInt64: none before end). Loop goroutine.
func (f *flow) sendDue(now, end int64) int64 {
	g := f.g
	if g.stopped.Load() {
		return math.MaxInt64 // stop came: what is in flight is final (quiesceUDP)
	}
	n, measured, late := 0, 0, 0
	for f.pending < maxInflight {
		t := g.intended(f.slot)
		if t >= end || t > now || !f.put(t) {
			break
		}
		f.slot += int64(g.cfg.Conns)
		n++
		if t >= g.measureStart {
			measured++
			if now-t > lateAfter {
				late++
			}
		}
	}
	f.counted(n, measured)
	if late > 0 {
		f.w.late.Add(int64(late))
	}
	if f.pending >= maxInflight {
		return now + lateAfter
	}
	if t := g.intended(f.slot); t < end {
		return t
	}
	return math.MaxInt64
}

// slotOf returns the window slot for datagram seq, the next to send,
// growing the window when that slot's datagram is still in flight.
func (f *flow) slotOf(seq uint64) *flowSlot {
	for f.win[seq&uint64(len(f.win)-1)].state == slotPending {
		nw := make([]flowSlot, 2*len(f.win))
		for _, s := range f.win {
			if s.state != slotFree {
				nw[s.seq&uint64(len(nw)-1)] = s
			}
		}
		f.win = nw
	}
	return &f.win[seq&uint64(len(f.win)-1)]
}

// OnPacket checks a reply and, in a closed-loop run, sends the next
// datagram for it. Loop goroutine.
func (f *flow) OnPacket(_ *loop.PacketConn, d *loop.Datagram) {
	g := f.g
	w := f.w
	now := g.now()
	b := d.Data
	var seq uint64
	okHeader := len(b) >= udpHeader && !d.Truncated
	if okHeader {
		seq = binary.LittleEndian.Uint64(b[8:])
		okHeader = binary.LittleEndian.Uint32(b) == f.id && binary.LittleEndian.Uint32(b[4:]) == headerCheck(f.id, seq) && seq < f.seq
	}
	if !okHeader { // no telling which datagram it was: its own will be lost too
		w.corrupt.Add(1)
		g.noteFailure(&VerifyError{Conn: uint64(f.id), Datagram: true, Seq: seq, Err: errors.New("header (flow, number, check word) wrong")})
		return
	}
	sl := &f.win[seq&uint64(len(f.win)-1)]
	if f.seq-seq > uint64(len(f.win)) || sl.seq != seq || sl.state == slotLost {
		// Older than the window, or lost already: back after the timeout.
		w.lateReplies.Add(1)
		return
	}
	measured := sl.sent >= g.measureStart
	if sl.state != slotPending { // back or corrupt already
		if measured {
			w.duplicated.Add(1)
		}
		return
	}
	f.pending--
	w.outstanding.Add(-1)
	if bad := datagramMismatch(b, f.id, seq, g.cfg.Size); bad >= 0 {
		sl.state = slotCorrupt
		w.corrupt.Add(1)
		g.noteFailure(&VerifyError{Conn: uint64(f.id), Datagram: true, Seq: seq, Offset: int64(bad),
			Err: errors.New("datagram differs from the one sent")})
	} else {
		sl.state = slotAnswered
		if f.seen && seq < f.maxSeen {
			if measured {
				w.reordered.Add(1)
			}
		} else {
			f.maxSeen, f.seen = seq, true
		}
		w.received.Add(1)
		w.bytesIn.Add(int64(len(b)))
		w.verified.Add(int64(len(b)))
		if measured {
			w.shard.Record(time.Duration(now-sl.sent), len(b))
			w.mReceived.Add(1)
			w.mBytesIn.Add(int64(len(b)))
		}
	}
	f.advance()
	if !g.cfg.openLoop() && g.sending(now) {
		f.send(1, now)
	}
}

// datagramMismatch returns the first byte of b that differs from datagram
// seq of flow (its header checked already), len(b) if it is short, or -1.
func datagramMismatch(b []byte, flow uint32, seq uint64, size int) int {
	if i := proto.PatternMismatch(b[udpHeader:min(len(b), size)], uint64(flow), seq, 0); i >= 0 {
		return udpHeader + i
	}
	if len(b) != size {
		return min(len(b), size)
	}
	return -1
}

// advance moves oldest past the datagrams that are done.
func (f *flow) advance() {
	for f.oldest < f.seq && f.win[f.oldest&uint64(len(f.win)-1)].state != slotPending {
		f.oldest++
	}
}

// expire counts the datagrams in flight for LossTimeout as lost and, in a
// closed-loop run, sends as many new ones. Loop goroutine.
func (f *flow) expire(now int64) {
	g, w := f.g, f.w
	timeout := int64(g.cfg.LossTimeout)
	freed := 0
	for ; f.oldest < f.seq; f.oldest++ {
		sl := &f.win[f.oldest&uint64(len(f.win)-1)]
		if sl.state != slotPending {
			continue
		}
		if now-sl.sent < timeout {
			break
		}
		sl.state = slotLost
		f.pending--
		freed++
		if sl.sent >= g.measureStart {
			w.mLost.Add(1)
		}
	}
	if freed > 0 {
		w.outstanding.Add(-int64(freed))
		if !g.cfg.openLoop() && g.sending(now) {
			f.send(freed, now)
		}
	}
}

// inFlightMeasured counts the measured datagrams still in flight: after
// the run, they are lost too. Run calls it once the loops have stopped.
func (f *flow) inFlightMeasured() int64 {
	var n int64
	for _, s := range f.win {
		if s.state == slotPending && s.sent >= f.g.measureStart {
			n++
		}
	}
	return n
}

// OnError counts an error the socket reported (ECONNREFUSED: nobody
// serves the address; the datagrams are lost and counted so). Loop
// goroutine.
func (f *flow) OnError(*loop.PacketConn, error) {
	if f.w != nil {
		f.w.connErrors.Add(1)
	}
}

// OnClose forgets the flow; before the generator's own shutdown it is an
// error. Loop goroutine.
func (f *flow) OnClose(*loop.PacketConn, error) {
	w := f.w
	if w == nil { // closed before it started
		return
	}
	w.removeFlow(f)
	w.outstanding.Add(-int64(f.pending))
	if !f.g.shuttingDown.Load() {
		w.connErrors.Add(1)
	}
}

// expiryEvery is how often a worker looks for lost datagrams.
func (c *Config) expiryEvery() time.Duration { return max(c.LossTimeout/20, time.Millisecond) }

// addFlow adopts a started flow; the first gives the worker's tick
// goroutine its socket. Loop goroutine.
func (w *worker) addFlow(f *flow) {
	f.index = len(w.flows)
	w.flows = append(w.flows, f)
	w.opened.Add(1)
	w.open.Add(1)
	if len(w.flows) == 1 && w.anchorPC == nil {
		w.anchorPC = f.pc
		w.anchorCh <- f.pc
	}
}

// removeFlow forgets a closed flow. Loop goroutine.
func (w *worker) removeFlow(f *flow) {
	if f.index < 0 {
		return
	}
	w.flows = dropAt(w.flows, f.index, func(f *flow, i int) { f.index = i })
	f.index = -1
	w.open.Add(-1)
}

// udpTick expires lost datagrams and, in an open-loop run, sends what is
// due on every flow of the loop, then tells the tick goroutine when the
// next tick is due. Loop goroutine.
func (w *worker) udpTick() {
	g := w.gen
	now := g.now()
	end := g.end.Load()
	next := now + int64(g.cfg.expiryEvery())
	for _, f := range w.flows {
		f.expire(now)
		if g.cfg.openLoop() {
			next = min(next, f.sendDue(now, end))
		}
	}
	w.wake <- next // the goroutine waits for it: there is room
}

// runTicks is a worker's tick goroutine: once the loop has a flow, it
// runs udpTick on the loop, each time when the last one asked, until
// tickQuit is closed or the socket it wakes the loop through is.
func (w *worker) runTicks() {
	g := w.gen
	defer g.tickers.Done()
	var pc *loop.PacketConn
	select {
	case pc = <-w.anchorCh:
	case <-g.tickQuit:
		return
	}
	tick := func(*loop.PacketConn) { w.udpTick() }
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-g.tickQuit:
			return
		}
		if pc.Run(tick) != nil {
			return
		}
		select {
		case next := <-w.wake:
			t.Reset(time.Duration(next - g.now()))
		case <-g.tickQuit:
			return
		}
	}
}
