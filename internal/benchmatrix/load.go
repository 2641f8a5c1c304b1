package benchmatrix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/airsock/airsock/internal/report"
)

// loadSpec is one run of `airsock load`.
type loadSpec struct {
	proto    string // echo or resp
	respCmd  string // resp only
	conns    int
	depth    int
	size     int
	rate     float64 // > 0: open loop
	warmup   time.Duration
	duration time.Duration
	verify   bool
	perf     bool   // count the server's syscalls over the window (perf stat)
	hlog     string // path of an interval log to write, or ""
	udp      bool   // UDP echo flows (load --udp): lost datagrams are figures, not failures
	// udpOffload: the flows send their datagrams in flight segmented
	// (load --udp-offload).
	udpOffload bool
	tls        bool // over TLS (load --tls)
}

// loadOutcome is a load run with the CPU time server and client spent in
// its measured window, read from /proc at the window's edges.
type loadOutcome struct {
	sum       report.Summary
	serverCPU report.CPU
	clientCPU report.CPU
	window    time.Duration
	perf      *perfCounts // the server's syscalls, if counted
	perfErr   error       // why they were not, if asked for
}

// args returns the command line of the load run against addr.
func (l loadSpec) args(bin, addr string, loops int) []string {
	a := []string{bin, "load", "--json", "--addr", addr, "--proto", l.proto,
		"-c", strconv.Itoa(l.conns), "--depth", strconv.Itoa(max(l.depth, 1)), "--size", strconv.Itoa(l.size),
		"--warmup", l.warmup.String(), "--duration", l.duration.String(), "--loops", strconv.Itoa(loops)}
	if l.respCmd != "" {
		a = append(a, "--resp-cmd", l.respCmd)
	}
	if l.rate > 0 {
		a = append(a, "--rate", strconv.FormatFloat(l.rate, 'f', 0, 64))
	}
	if l.verify {
		a = append(a, "--verify")
	}
	if l.udp {
		a = append(a, "--udp")
	}
	if l.udpOffload {
		a = append(a, "--udp-offload")
	}
	if l.tls {
		a = append(a, "--tls")
	}
	if l.hlog != "" {
		a = append(a, "--hlog", l.hlog)
	}
	return a
}

// runLoad runs the load generator, pinned to the client core, against srv,
// sampling both processes' CPU time as the measured window opens and
// closes. It fails if the generator fails or any request is unanswered;
// how many replies the window held is for the caller to judge.
func (m *matrix) runLoad(ctx context.Context, srv *serverProc, l loadSpec) (*loadOutcome, error) {
	cmd := m.pinned(m.opts.ClientCPU, l.args(m.opts.Bin, srv.addr, m.opts.ClientLoops)...)
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &tailBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	start := time.Now()
	// The generator's stdout ends when it exits. It is not reaped (Wait)
	// until both edges are sampled: an exited, unreaped process still has
	// its final CPU time in /proc, so an edge that a busy machine makes us
	// sample late is still read.
	var stdout bytes.Buffer
	exited := make(chan struct{})
	go func() {
		io.Copy(&stdout, stdoutPipe)
		close(exited)
	}()
	reap := func() error {
		<-exited
		return cmd.Wait()
	}

	// The generator counts its warmup from when it starts dialling, a few
	// milliseconds after exec: the window here opens that much early, which
	// the per-message figures tolerate (USER_HZ ticks are 10 ms anyway).
	type sample struct{ srv, cli report.CPU }
	var edges []sample
	var sampleErr error
	take := func() {
		s, err1 := srv.cpu()
		c, err2 := report.PIDCPU(cmd.Process.Pid)
		if err1 != nil || err2 != nil {
			sampleErr = fmt.Errorf("reading CPU time: server %v, client %v", err1, err2)
		}
		edges = append(edges, sample{s, c})
	}
	ended := false // before its window closed: the checks below say why
	var perf *perfRun
	var perfErr error
edges:
	for i, at := range []time.Duration{l.warmup, l.warmup + l.duration} {
		t := time.NewTimer(time.Until(start.Add(at)))
		select {
		case <-t.C:
			take()
			if i == 0 && l.perf && !l.verify {
				perf, perfErr = m.startPerf(srv.pid, perfWindow(l.duration))
			}
		case <-exited:
			// It started after us, so it ends after this edge unless it ended
			// early; past the edge, the late sample still reads it.
			if time.Since(start) < at {
				ended = true
			} else {
				take()
			}
		case <-ctx.Done():
			cmd.Process.Kill()
			ended = true
		}
		t.Stop()
		if ended {
			break edges
		}
	}
	if !ended {
		limit := time.NewTimer(90 * time.Second) // connect, drain and shutdown
		select {
		case <-exited:
		case <-limit.C:
			cmd.Process.Kill()
			reap()
			perf.kill()
			return nil, fmt.Errorf("load did not end within 90 s of its window: %s", stderr)
		case <-ctx.Done():
			cmd.Process.Kill()
		}
		limit.Stop()
	}
	err = reap()
	if ctx.Err() != nil {
		perf.kill()
		return nil, ctx.Err()
	}
	out := &loadOutcome{window: l.duration, perfErr: perfErr}
	if perf != nil {
		counts, perr := perf.wait()
		if perr == nil {
			out.perf = &counts
		}
		out.perfErr = perr
	}
	if jerr := json.Unmarshal(stdout.Bytes(), &out.sum); jerr != nil || out.sum.LoadCounts == nil {
		return nil, fmt.Errorf("load printed %q (%v): %s", strings.TrimSpace(stdout.String()), err, stderr)
	}
	switch {
	case err != nil:
		return out, fmt.Errorf("load: %v: %s", err, lastLine(stderr.String()))
	case out.sum.Failure != "":
		return out, fmt.Errorf("load: %s", out.sum.Failure)
	case (out.sum.Lost > 0 && !l.udp) || out.sum.Errors > 0:
		return out, fmt.Errorf("load: %d replies lost, %d errors", out.sum.Lost, out.sum.Errors)
	case sampleErr != nil:
		return out, sampleErr
	case len(edges) < 2:
		return out, fmt.Errorf("load ended before its measured window did")
	}
	out.serverCPU = edges[1].srv.Sub(edges[0].srv)
	out.clientCPU = edges[1].cli.Sub(edges[0].cli)
	return out, nil
}

// measure runs l on srv until the measured window holds MinReplies
// replies. A shorter one is run again with its warmup and window grown
// (at least doubled, to what the replies so far say would do) but never
// past MaxWindow, so that a slow or busy machine lengthens a run instead
// of emptying it. A window still short at MaxWindow fails the run.
func (m *matrix) measure(ctx context.Context, srv *serverProc, l loadSpec) (*loadOutcome, error) {
	need := int64(m.opts.MinReplies)
	for {
		out, err := m.runLoad(ctx, srv, l)
		if err != nil {
			return out, err
		}
		got := out.sum.Received
		if got >= need {
			return out, nil
		}
		if l.duration >= m.opts.MaxWindow {
			return out, fmt.Errorf("%s answered %d requests in a %v window, fewer than the %d a figure needs",
				srv.backend, got, l.duration, need)
		}
		f := 4.0
		if got > 0 {
			f = min(max(1.5*float64(need)/float64(got), 2), 16)
		}
		next := min(time.Duration(f*float64(l.duration)).Round(time.Millisecond), m.opts.MaxWindow)
		m.logf("%s answered %d requests in %v, fewer than %d: again with a %v window",
			srv.backend, got, l.duration, need, next)
		l.warmup = time.Duration(float64(l.warmup) * float64(next) / float64(l.duration))
		l.duration = next
	}
}

// verify runs a short correctness pass: the same workload with every reply
// byte checked, before anything is timed.
func (m *matrix) verify(ctx context.Context, srv *serverProc, l loadSpec) error {
	l.verify, l.hlog, l.rate = true, "", 0
	l.warmup, l.duration = 0, m.opts.VerifyTime
	out, err := m.measure(ctx, srv, l)
	if err == nil && out.sum.VerifiedBytes == 0 {
		err = errors.New("nothing verified")
	}
	if err != nil {
		return fmt.Errorf("correctness pass: %w", err)
	}
	return nil
}

// perfWindow is how long perf stat counts in a measured window of d: it
// starts a few milliseconds into the window and must end inside it.
func perfWindow(d time.Duration) time.Duration { return d * 8 / 10 }

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
