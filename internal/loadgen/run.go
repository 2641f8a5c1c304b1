package loadgen

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/airsock/airsock/internal/report"
	"github.com/airsock/airsock/loop"
)

// Run performs one load run as cfg describes and returns what it measured.
// It returns early, with the results so far, when ctx ends (Results.Stopped)
// or a reply fails verification (Results.Failure; the error is then that
// *VerifyError). Other errors mean the run could not be made: a bad
// Config, or no connection could be opened. Progress is reported on the
// calling goroutine. Safe from any goroutine; runs may overlap.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// Resolve once, not once per connection.
	var raddr net.Addr
	if cfg.UDP {
		raddr, err = net.ResolveUDPAddr("udp", cfg.Addr)
	} else {
		raddr, err = net.ResolveTCPAddr("tcp", cfg.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	addr := raddr.String()
	engine, err := loop.New(loop.Config{
		Loops:          cfg.Loops,
		Backend:        cfg.IO,
		ReadBufferSize: 64 << 10,
		// One reply must fit in what a connection may hold unconsumed.
		MaxInbound:      max(4<<20, 2*cfg.Size+4096),
		PacketNoOffload: !cfg.UDPOffload,
	})
	if err != nil {
		return nil, err
	}
	g := &generator{
		cfg:          cfg,
		addr:         addr,
		engine:       engine,
		measureStart: int64(cfg.Warmup),
		stopCh:       make(chan struct{}),
		abort:        make(chan struct{}),
		tickQuit:     make(chan struct{}),
	}
	if cfg.openLoop() {
		g.nsPerReq = 1e9 / cfg.Rate
	}
	g.nextID.Store(uint64(cfg.Conns))
	g.rec = report.NewRecorder(engine.Loops())
	for i := range engine.Loops() {
		g.workers = append(g.workers, newWorker(g, g.rec.Shard(i)))
	}
	g.end.Store(int64(cfg.Warmup + cfg.Duration))

	cpu0, _ := report.ProcessCPU()
	g.base = time.Now()
	var dialer sync.WaitGroup
	dialer.Add(1)
	go func() {
		defer dialer.Done()
		if cfg.UDP {
			g.dialFlows(addr)
		} else {
			g.dial()
		}
	}()
	if cfg.UDP {
		for _, w := range g.workers {
			g.tickers.Add(1)
			go w.runTicks()
		}
	}

	c := newCollector(g, cpu0)
	stopped := c.run(ctx)
	g.stop()
	dialer.Wait()
	if cfg.UDP {
		g.quiesceUDP()
	}
	c.drain()
	c.report(true)
	close(g.tickQuit)
	g.tickers.Wait()

	g.shuttingDown.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	engine.Shutdown(sctx)
	cancel()
	elapsed := time.Since(g.base)
	cpu1, _ := report.ProcessCPU()

	// The loops have exited: their state is ours to read.
	if g.failure == nil && cfg.Verify {
		all := g.clients
		for _, w := range g.workers {
			all = append(all, w.successors...)
		}
		for _, cl := range all {
			if n := cl.times.len(); n > 0 {
				g.failure = &VerifyError{Conn: cl.id, Offset: cl.in, Err: fmt.Errorf(
					"%d replies missing %v after the end: bytes lost", n, cfg.DrainTimeout)}
				break
			}
		}
	}
	// A reply that arrived while the engine shut down, after the last
	// report, is counted as received: fold its latency into the total too.
	g.rec.Interval()
	t := g.totals()
	end := g.end.Load()
	r := &Results{
		Conns:         int(t.opened),
		ConnectErrors: g.dialFailed.Load(),
		Errors:        t.connErrors + g.dialFailed.Load(),
		Sent:          t.mSent,
		Received:      t.mReceived,
		Lost:          t.mSent - t.mReceived,
		noReplies:     !cfg.replies(),
		Late:          t.late,
		BytesSent:     t.mBytesOut,
		BytesReceived: t.mBytesIn,
		VerifiedBytes: t.verified,
		Latency:       g.rec.Total().Hist,
		Warmup:        time.Duration(min(end, g.measureStart)),
		Duration:      time.Duration(max(end-g.measureStart, 0)),
		Elapsed:       elapsed,
		CPU:           cpu1.Sub(cpu0),
		Stopped:       stopped,
		IO:            engine.Backend(),
		Failure:       g.failure,
	}
	if r.noReplies {
		r.Lost = 0
	}
	if cfg.UDP {
		r.UDP = true
		r.Lost = t.mLost
		for _, f := range g.flows {
			r.Lost += f.inFlightMeasured()
		}
		r.Reordered, r.Duplicated, r.LateReplies, r.Corrupt = t.reordered, t.duplicated, t.lateReplies, t.corrupt
	}
	if r.Conns == 0 && g.firstDial != nil {
		return r, fmt.Errorf("loadgen: no connection to %s could be opened: %w", cfg.Addr, g.firstDial)
	}
	if r.Failure != nil {
		return r, r.Failure
	}
	return r, nil
}

// totals sums the workers' counters.
type totals struct {
	opened, open, sent, received, bytesIn              int64
	mSent, mReceived, mBytesIn, mBytesOut              int64
	verified, late, connErrors, outstanding            int64
	mLost, reordered, duplicated, lateReplies, corrupt int64
}

func (g *generator) totals() totals {
	var t totals
	for _, w := range g.workers {
		t.opened += w.opened.Load()
		t.open += w.open.Load()
		t.sent += w.sent.Load()
		t.received += w.received.Load()
		t.bytesIn += w.bytesIn.Load()
		t.mSent += w.mSent.Load()
		t.mReceived += w.mReceived.Load()
		t.mBytesIn += w.mBytesIn.Load()
		t.mBytesOut += w.mBytesOut.Load()
		t.verified += w.verified.Load()
		t.late += w.late.Load()
		t.connErrors += w.connErrors.Load()
		t.outstanding += w.outstanding.Load()
		t.mLost += w.mLost.Load()
		t.reordered += w.reordered.Load()
		t.duplicated += w.duplicated.Load()
		t.lateReplies += w.lateReplies.Load()
		t.corrupt += w.corrupt.Load()
	}
	return t
}

// collector makes the progress snapshots from the recorder's intervals.
// Its methods run on Run's goroutine.
type collector struct {
	g       *generator
	last    totals
	lastAt  time.Time
	lastCPU report.CPU
}

func newCollector(g *generator, cpu0 report.CPU) *collector {
	return &collector{g: g, lastAt: g.base, lastCPU: cpu0}
}

// run reports progress until the end, ctx or an abort, and says whether
// ctx ended it.
func (c *collector) run(ctx context.Context) (stopped bool) {
	g := c.g
	tick := time.NewTicker(g.cfg.ProgressInterval)
	defer tick.Stop()
	end := time.NewTimer(time.Duration(g.end.Load()))
	defer end.Stop()
	for {
		select {
		case <-tick.C:
			c.report(false)
		case <-end.C:
			return false
		case <-g.abort:
			return false
		case <-ctx.Done():
			return true
		}
	}
}

// drain waits, at most DrainTimeout, for the replies still due. It does
// not stop at ctx: after an interrupt the requests in flight still get
// their chance to be answered, and counted.
func (c *collector) drain() {
	g := c.g
	deadline := time.NewTimer(g.cfg.DrainTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for g.totals().outstanding > 0 {
		select {
		case <-poll.C:
		case <-deadline.C:
			return
		case <-g.abort:
			return
		}
	}
}

// report takes the recorder's interval and the counters into a Snapshot
// and passes it to Config.Progress.
func (c *collector) report(final bool) {
	g := c.g
	iv := g.rec.Interval()
	now := time.Now()
	t := g.totals()
	cpu, _ := report.ProcessCPU()
	dt := now.Sub(c.lastAt)
	s := &Snapshot{
		Elapsed:   now.Sub(g.base),
		Interval:  dt,
		Start:     c.lastAt,
		End:       now,
		Warmup:    now.Sub(g.base) < time.Duration(g.measureStart),
		Final:     final,
		Connected: int(t.open),
		Sent:      t.sent,
		Received:  t.received,
		Errors:    t.connErrors + g.dialFailed.Load(),
		Lost:      t.mLost,
		Counts:    iv,
	}
	if secs := dt.Seconds(); secs > 0 {
		s.MsgsPerSec = float64(t.received-c.last.received) / secs
		s.MBPerSec = float64(t.bytesIn-c.last.bytesIn) / secs / 1e6
		used := cpu.Sub(c.lastCPU)
		s.CPUPercent = 100 * used.Total() / secs
	}
	if iv.Hist.TotalCount() > 0 {
		s.P50 = time.Duration(iv.Hist.ValueAtPercentile(50))
		s.P99 = time.Duration(iv.Hist.ValueAtPercentile(99))
	}
	if g.cfg.Progress != nil {
		g.cfg.Progress(s)
	}
	c.last, c.lastAt, c.lastCPU = t, now, cpu
}
