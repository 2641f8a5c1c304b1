package loadgen

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsock/airsock/internal/report"
	"github.com/airsock/airsock/loop"
)

// generator is the state of one Run shared by its loops, its dialer and
// its collector.
type generator struct {
	cfg          Config
	addr         string // the server's, resolved
	engine       *loop.Engine
	workers      []*worker // by loop index
	rec          *report.Recorder
	base         time.Time // the start; times are ns since base
	measureStart int64     // end of the warmup
	nsPerReq     float64   // open loop: ns between two requests of the run
	end          atomic.Int64
	stopped      atomic.Bool   // no more requests or dials
	stopCh       chan struct{} // closed with stopped
	shuttingDown atomic.Bool   // closes from now on are the generator's own

	dialFailed atomic.Int64
	nextID     atomic.Uint64 // churn: the next connection's id, from Conns on
	mu         sync.Mutex
	firstDial  error        // first dial error, under mu
	failure    *VerifyError // first verification failure, under mu
	abortOnce  sync.Once
	abort      chan struct{} // closed on failure or when no dial can succeed

	clients []*client          // every client the dialer made; its own until it returns (churn's successors: worker.successors)
	flows   []*flow            // UDP: every flow made; the dialer's until it returns
	flowPCs []*loop.PacketConn // UDP: each flow's socket, in the same order

	tickers  sync.WaitGroup // UDP: the workers' tick goroutines
	tickQuit chan struct{}  // UDP: closed to end them, after the drain
}

// now returns ns since the start. Any goroutine.
func (g *generator) now() int64 { return int64(time.Since(g.base)) }

// sending reports whether requests may still be sent at now.
func (g *generator) sending(now int64) bool {
	return now < g.end.Load() && !g.stopped.Load()
}

// stop ends sending and dialling; the measured window ends now if it had
// not ended yet. Collector goroutine.
func (g *generator) stop() {
	if g.stopped.Swap(true) {
		return
	}
	if now := g.now(); now < g.end.Load() {
		g.end.Store(now) // before measureStart if stopped in the warmup
	}
	close(g.stopCh)
}

// fail records the first verification failure and aborts the run. Any
// goroutine.
func (g *generator) fail(e *VerifyError) {
	g.noteFailure(e)
	g.abortOnce.Do(func() { close(g.abort) })
}

// noteFailure records the first verification failure without ending the
// run (a corrupt datagram: the others are still counted). Any goroutine.
func (g *generator) noteFailure(e *VerifyError) {
	g.mu.Lock()
	if g.failure == nil {
		g.failure = e
	}
	g.mu.Unlock()
}

// OnOpen starts a connection: a closed-loop run fills its pipeline, an
// open-loop run lets the loop's pacer send its slots. Loop goroutine.
func (g *generator) OnOpen(c *loop.Conn) {
	cl := c.Context().(*client)
	cl.conn = c
	cl.w = g.workers[c.Loop()]
	now := g.now()
	if g.cfg.openLoop() && !cl.carried {
		cl.slot = g.firstSlot(cl.id, now)
	}
	cl.budget = g.firstBudget(cl)
	cl.w.add(cl)
	if !g.cfg.openLoop() && g.sending(now) {
		cl.send(g.cfg.Depth, now)
	}
}

// OnData handles replies. Loop goroutine.
func (g *generator) OnData(c *loop.Conn) { c.Context().(*client).receive(g.now()) }

// OnClose accounts for a closed connection. Loop goroutine.
func (g *generator) OnClose(c *loop.Conn, err error) { c.Context().(*client).closed(err) }

// dialDone is DialAsync's callback: it counts failed dials. Loop goroutine.
func (g *generator) dialDone(_ *loop.Conn, err error) {
	if err == nil || g.shuttingDown.Load() {
		return
	}
	g.mu.Lock()
	if g.firstDial == nil {
		g.firstDial = err
	}
	g.mu.Unlock()
	if g.dialFailed.Add(1) == int64(g.cfg.Conns) {
		g.abortOnce.Do(func() { close(g.abort) })
	}
}

// dial opens the connections, all at once or at ConnectRate per second,
// until all are dialled or the run stops. It runs on its own goroutine.
func (g *generator) dial() {
	g.paceDials(func(i int) {
		cl := g.newClient(uint64(i))
		g.clients = append(g.clients, cl)
		g.dialClient(cl)
	})
}

// newClient makes the client of connection id. Any goroutine.
func (g *generator) newClient(id uint64) *client {
	codec, err := g.cfg.codec(id)
	if err != nil { // checked in withDefaults: cannot happen
		panic(err)
	}
	return &client{id: id, codec: codec, index: -1}
}

// dialClient starts connecting cl to the server (g.addr), from its id's
// source address if Sources are given. Any goroutine.
func (g *generator) dialClient(cl *client) {
	opts := loop.DialOptions{Timeout: g.cfg.DialTimeout, Context: cl, TLS: g.cfg.TLS}
	if n := uint64(len(g.cfg.Sources)); n > 0 {
		opts.LocalAddr = net.JoinHostPort(g.cfg.Sources[cl.id%n], "0")
	}
	if err := g.engine.DialAsync("tcp", g.addr, g, opts, g.dialDone); err != nil {
		g.dialDone(nil, err)
	}
}

// paceDials calls open for connection 0, 1, ... Conns-1, all at once or
// at ConnectRate per second, until all are opened or the run stops. It
// runs on the dialling goroutine.
func (g *generator) paceDials(open func(i int)) {
	var timer *time.Timer
	for i := range g.cfg.Conns {
		if g.cfg.ConnectRate > 0 {
			due := time.Duration(float64(i) / g.cfg.ConnectRate * 1e9)
			// Sleeps are coarse: dial every connection due by wake-up.
			if wait := due - time.Since(g.base); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
					defer timer.Stop()
				} else {
					timer.Reset(wait)
				}
				select {
				case <-timer.C:
				case <-g.stopCh:
					return
				}
			}
		}
		if g.stopped.Load() {
			return
		}
		open(i)
	}
}
