package loadgen

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
)

// client is one connection of the generator. After OnOpen it is used only
// on its loop's goroutine; Run reads it again once the loops have stopped.
type client struct {
	id    uint64
	w     *worker
	conn  *loop.Conn
	codec proto.Client
	seq   uint64   // next request number
	times timeRing // send (or intended send) times of requests in flight
	out   []byte   // request bytes being built, reused
	in    int64    // reply bytes consumed: the offset in the inbound stream
	slot  int64    // open loop: the global slot of the next request
	index int      // position in w.clients, -1 when not open
	done  bool     // closed by the generator itself (a failed check, or churn)

	// Churn (reconnect.go): requests this connection may still send, and
	// whether it has sent them all; carried: slot is its predecessor's.
	budget           int
	retired, carried bool
}

// send sends n requests stamped with time at (now, in a closed-loop run) and
// counts them. It must run on the client's loop goroutine.
func (cl *client) send(n int, at int64) {
	if n = cl.allow(n); n == 0 {
		return
	}
	w := cl.w
	out := cl.out[:0]
	for range n {
		out = cl.codec.AppendRequest(out, cl.seq)
		cl.seq++
		cl.times.push(at)
	}
	cl.out = out
	cl.conn.Write(out)
	w.sent.Add(int64(n))
	w.outstanding.Add(int64(n))
	if at >= w.gen.measureStart {
		w.mSent.Add(int64(n))
		w.mBytesOut.Add(int64(len(out)))
	}
	if cl.spent() {
		cl.retire(at)
	}
}

// receive consumes every complete reply buffered, records the latency of
// those to measured requests, and in a closed-loop run sends as many new
// requests. Loop goroutine.
func (cl *client) receive(now int64) {
	w, g := cl.w, cl.w.gen
	buf, _ := cl.conn.Peek(0)
	off, n := 0, 0
	var mn, mBytes int64
	var err error
	for off < len(buf) {
		size, ok, perr := cl.codec.ParseReply(buf[off:])
		if perr != nil {
			err = perr
			break
		}
		if !ok {
			break
		}
		if sent := cl.times.pop(); sent >= g.measureStart {
			w.shard.Record(time.Duration(now-sent), size)
			mn++
			mBytes += int64(size)
		}
		off += size
		n++
	}
	cl.conn.Discard(off)
	cl.in += int64(off)
	if n > 0 {
		w.received.Add(int64(n))
		w.outstanding.Add(-int64(n))
		w.bytesIn.Add(int64(off))
		if g.cfg.Verify {
			w.verified.Add(int64(off))
		}
	}
	if mn > 0 {
		w.mReceived.Add(mn)
		w.mBytesIn.Add(mBytes)
	}
	if err != nil {
		cl.fail(err)
		return
	}
	if n > 0 && !g.cfg.openLoop() && g.sending(now) {
		cl.send(n, now)
	}
	cl.closeIfDone()
}

// fail closes the connection over a bad reply. Under Verify that fails
// the whole run; otherwise (a reply that cannot even be framed) only this
// connection is lost, as an error. Loop goroutine.
func (cl *client) fail(err error) {
	cl.w.connErrors.Add(1)
	cl.done = true
	cl.conn.Close()
	if !cl.w.gen.cfg.Verify {
		return
	}
	ve := &VerifyError{Conn: cl.id, Offset: cl.in, Err: err}
	var me *proto.MismatchError
	if errors.As(err, &me) {
		ve.Conn, ve.Offset = me.Conn, me.StreamOffset
	}
	cl.w.gen.fail(ve)
}

// closed runs in OnClose. A connection that ends before the generator
// closes it is an error, and with requests in flight, under Verify, lost
// bytes that fail the run. Loop goroutine.
func (cl *client) closed(err error) {
	w, g := cl.w, cl.w.gen
	w.remove(cl)
	w.outstanding.Add(-int64(cl.times.len()))
	if cl.done || g.shuttingDown.Load() {
		return
	}
	w.connErrors.Add(1)
	if g.cfg.Verify && cl.times.len() > 0 {
		if err == nil {
			err = io.EOF
		}
		// Bytes of a partial reply did arrive: the first lost one is after them.
		g.fail(&VerifyError{Conn: cl.id, Offset: cl.in + int64(cl.conn.InboundBuffered()), Err: fmt.Errorf(
			"connection closed (%v) with %d replies outstanding: bytes lost", err, cl.times.len())})
	}
}

// timeRing is a FIFO of int64 that grows by doubling and never shrinks, so
// that steady state allocates nothing.
type timeRing struct {
	buf  []int64
	head int
	n    int
}

func (r *timeRing) len() int { return r.n }

func (r *timeRing) push(v int64) {
	if r.n == len(r.buf) {
		nb := make([]int64, max(8, 2*len(r.buf)))
		for i := range r.n {
			nb[i] = r.buf[(r.head+i)&(len(r.buf)-1)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = v
	r.n++
}

// pop removes and returns the oldest value; the ring must not be empty.
func (r *timeRing) pop() int64 {
	v := r.buf[r.head]
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return v
}
