package benchmatrix

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/internal/report"
	"github.com/airsock/airsock/loop"
)

// The churn client of scenario 4 (`airsock bench churn`): a fixed number of
// slots, each in a loop of connect, one echo (verified), close. The load
// generator has no such mode. It runs on one airsock event loop and prints
// one JSON object (churnSummary).

// churnEchoSize is the size of each connection's one echo.
const churnEchoSize = 16

// maxDialErrors ends a churn run that cannot connect (ports exhausted, say)
// rather than spinning.
const maxDialErrors = 100

// churnSummary is the churn client's output.
type churnSummary struct {
	Cycles      int64      `json:"cycles"` // completed in the measured window
	Duration    float64    `json:"duration_s"`
	CyclesPerS  float64    `json:"cycles_per_s"`
	DialErrors  int64      `json:"dial_errors"`
	ConnErrors  int64      `json:"conn_errors"`
	P50us       float64    `json:"p50_us"` // connect + echo, from the dial
	P99us       float64    `json:"p99_us"`
	CPU         report.CPU `json:"client_cpu"`
	Failure     string     `json:"failure,omitempty"`
	VerifiedOps int64      `json:"verified_echoes"` // warmup included
}

// churnClient's handler methods run on its one loop; the counters are read
// by the driver goroutine.
type churnClient struct {
	engine          *loop.Engine
	raddr, network  string
	sources         []string
	tls             *tls.Config // nil: plain TCP
	base            time.Time
	measure         int64        // ns since base: the window's start
	end             atomic.Int64 // ns since base: the window's end, pushed out while no cycle has completed
	hist            *hdrhistogram.Histogram
	stopping        atomic.Bool
	active          atomic.Int64 // slots with a connection or dial in progress
	cycles          atomic.Int64 // in the window
	verified        atomic.Int64
	dialErrs, cErrs atomic.Int64
	failure         atomic.Pointer[error]
	abortOnce       sync.Once
	abort           chan struct{} // closed by the first failure
}

// churnSlot is one slot's state; its current connection's Context.
type churnSlot struct {
	id    uint64
	seq   uint64 // cycles so far: the echo payload's sequence number
	start int64  // ns since base at the dial
	got   int
	req   []byte
	// dialDone is the slot's DialAsync callback, made once: a failed
	// dial's callback has no connection to find the slot by.
	dialDone func(*loop.Conn, error)
}

func runChurnClient(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench churn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "server address, host:port")
	slots := fs.Int("conns", 50, "connections in flight at once (slots)")
	warmup := fs.Duration("warmup", 300*time.Millisecond, "time before measuring")
	duration := fs.Duration("duration", time.Second, "measured time")
	sources := fs.String("source", "", "comma-separated local IPs to dial from, round-robin")
	useTLS := fs.Bool("tls", false, "connect with TLS, a full handshake per connection (no resumption; the certificate is not verified)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *addr == "" || *slots < 1 || *duration <= 0 || *warmup < 0 {
		fmt.Fprintln(stderr, "airsock bench churn: --addr, --conns >= 1 and a positive --duration are required")
		return 2
	}
	var srcs []string
	if *sources != "" {
		srcs = strings.Split(*sources, ",")
	}
	sum, err := churn(ctx, *addr, *slots, *warmup, *duration, srcs, benchTLS(*useTLS), stderr)
	if err != nil {
		sum.Failure = err.Error()
	}
	json.NewEncoder(stdout).Encode(sum)
	if err != nil {
		fmt.Fprintf(stderr, "airsock bench churn: %v\n", err)
		return 1
	}
	return 0
}

// The lines the churn client writes to marks (its stderr) as its measured
// window starts and ends, so that the matrix reads the server's CPU time at
// the same edges: the window moves out when nothing completed in it.
const (
	churnWindowStart = "airsock bench churn: window start"
	churnWindowEnd   = "airsock bench churn: window end"
)

// churn runs the slots against addr (with TLS if tlsCfg is set) for warmup+duration and summarises the
// measured window, whose edges it marks on marks (nil: not marked).
func churn(ctx context.Context, addr string, slots int, warmup, duration time.Duration, sources []string, tlsCfg *tls.Config, marks io.Writer) (churnSummary, error) {
	if marks == nil {
		marks = io.Discard
	}
	ra, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return churnSummary{}, err
	}
	e, err := loop.New(loop.Config{Loops: 1})
	if err != nil {
		return churnSummary{}, err
	}
	c := &churnClient{engine: e, raddr: ra.String(), network: "tcp", sources: sources, tls: tlsCfg,
		measure: int64(warmup), hist: report.NewHistogram(), abort: make(chan struct{})}
	c.end.Store(int64(warmup + duration))
	cpu0, _ := report.ProcessCPU()
	c.base = time.Now()
	started := time.AfterFunc(warmup, func() { fmt.Fprintln(marks, churnWindowStart) })
	for i := range slots {
		s := &churnSlot{id: uint64(i)}
		s.dialDone = func(_ *loop.Conn, err error) {
			if err != nil && c.dialFailed(err) {
				c.dial(s)
			}
		}
		c.dial(s)
	}
	// A window in which no cycle completed (a loaded machine) measures
	// nothing: it is pushed out, a window at a time, up to maxWindows.
	const maxWindows = 20
	windows := 1
	t := time.NewTimer(warmup + duration)
wait:
	for {
		select {
		case <-t.C:
			if c.cycles.Load() > 0 || windows == maxWindows {
				break wait
			}
			windows++
			c.end.Add(int64(duration))
			t.Reset(duration)
		case <-c.abort:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	t.Stop()
	if started.Stop() { // ended before the window began
		fmt.Fprintln(marks, churnWindowStart)
	}
	fmt.Fprintln(marks, churnWindowEnd)
	duration = time.Duration(c.end.Load()) - warmup
	c.stopping.Store(true)
	// Let the cycles in progress finish, bounded.
	for deadline := time.Now().Add(5 * time.Second); c.active.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	e.Shutdown(sctx)
	cancel()
	cpu1, _ := report.ProcessCPU()
	sum := churnSummary{
		Cycles:      c.cycles.Load(),
		Duration:    duration.Seconds(),
		DialErrors:  c.dialErrs.Load(),
		ConnErrors:  c.cErrs.Load(),
		CPU:         cpu1.Sub(cpu0),
		VerifiedOps: c.verified.Load(),
	}
	sum.CyclesPerS = float64(sum.Cycles) / sum.Duration
	if c.hist.TotalCount() > 0 { // the loop has exited: the histogram is ours
		sum.P50us = float64(c.hist.ValueAtPercentile(50)) / 1e3
		sum.P99us = float64(c.hist.ValueAtPercentile(99)) / 1e3
	}
	if p := c.failure.Load(); p != nil {
		return sum, *p
	}
	if ctx.Err() != nil {
		return sum, ctx.Err()
	}
	if sum.Cycles == 0 {
		return sum, errors.New("no connection completed in the measured window")
	}
	return sum, nil
}

func (c *churnClient) now() int64 { return int64(time.Since(c.base)) }

// dial starts the slot's next cycle, retrying a connect that fails at
// once. Any goroutine.
func (c *churnClient) dial(s *churnSlot) {
	for !c.stopping.Load() {
		s.start, s.got = c.now(), 0
		opts := loop.DialOptions{Timeout: 10 * time.Second, Context: s, TLS: c.tls}
		if len(c.sources) > 0 {
			opts.LocalAddr = net.JoinHostPort(c.sources[int(s.id)%len(c.sources)], "0")
		}
		c.active.Add(1)
		err := c.engine.DialAsync(c.network, c.raddr, c, opts, s.dialDone)
		if err == nil || !c.dialFailed(err) {
			return
		}
	}
}

// dialFailed counts a failed connect and reports whether to try again: too
// many failures end the run.
func (c *churnClient) dialFailed(err error) bool {
	c.active.Add(-1)
	if c.dialErrs.Add(1) >= maxDialErrors {
		c.fail(fmt.Errorf("%d connects failed, the last: %w", maxDialErrors, err))
		return false
	}
	return true
}

func (c *churnClient) fail(err error) {
	c.failure.CompareAndSwap(nil, &err)
	c.stopping.Store(true)
	c.abortOnce.Do(func() { close(c.abort) })
}

// OnOpen sends the echo. Loop goroutine.
func (c *churnClient) OnOpen(lc *loop.Conn) {
	s := lc.Context().(*churnSlot)
	s.req = proto.AppendPattern(s.req[:0], s.id, s.seq, churnEchoSize)
	lc.Write(s.req)
}

// OnData checks the echo and, once it is whole, closes the connection.
// Loop goroutine.
func (c *churnClient) OnData(lc *loop.Conn) {
	s := lc.Context().(*churnSlot)
	b, _ := lc.Next(-1)
	if s.got+len(b) > churnEchoSize || proto.PatternMismatch(b, s.id, s.seq, s.got) >= 0 {
		c.fail(fmt.Errorf("slot %d cycle %d: wrong echo", s.id, s.seq))
		lc.Close()
		return
	}
	s.got += len(b)
	if s.got < churnEchoSize {
		return
	}
	c.verified.Add(1)
	if now := c.now(); now >= c.measure && now < c.end.Load() {
		c.cycles.Add(1)
		c.hist.RecordValue(now - s.start)
	}
	s.seq++
	lc.Close()
}

// OnClose starts the slot's next cycle. Loop goroutine.
func (c *churnClient) OnClose(lc *loop.Conn, err error) {
	s := lc.Context().(*churnSlot)
	c.active.Add(-1)
	if err != nil && !c.stopping.Load() {
		c.cErrs.Add(1) // the server closed or reset it
	}
	if s.got == churnEchoSize {
		c.dial(s)
	} else if !c.stopping.Load() {
		c.fail(fmt.Errorf("slot %d: connection closed after %d of %d echo bytes: %v", s.id, s.got, churnEchoSize, err))
	}
}
