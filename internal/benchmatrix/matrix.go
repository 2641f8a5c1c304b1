package benchmatrix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// matrix is one run of `airsock bench`: the options, the results so far,
// and where progress goes. Its methods run on the goroutine of Run.
type matrix struct {
	opts   Options
	log    *resultLog
	stderr io.Writer
	start  time.Time
	runs   atomic.Int64
	failed atomic.Int64

	perfWarned bool // a perf stat failure was reported
}

// scenarios in the order they run: latency needs throughput's peaks.
var scenarios = []struct {
	name string
	run  func(*matrix, context.Context) error
}{
	{"throughput", (*matrix).throughput},
	{"latency", (*matrix).latency},
	{"memory", (*matrix).memory},
	{"churn", (*matrix).churn},
	{"redis", (*matrix).redis},
	{"udp", (*matrix).udp},
	{"tls", (*matrix).tlsScenario},
}

// ScenarioNames lists the scenarios in the order they run. It may be
// called from any goroutine.
func ScenarioNames() []string {
	var out []string
	for _, s := range scenarios {
		out = append(out, s.name)
	}
	return out
}

// Run runs the scenarios of opts and writes, into opts.Out, matrix.txt
// (Go benchmark lines), runs.jsonl (every run with its round), tables.md,
// the plots and the latency runs' .hlog files. Progress goes to stderr. It
// returns an error if the matrix could not run, a scenario could not, or
// any run failed (the others still run and are reported). It blocks; call
// it from one goroutine.
func Run(ctx context.Context, opts Options, stderr io.Writer) error {
	if err := opts.check(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(opts.Out, "hlog"), 0o755); err != nil {
		return err
	}
	machine := describeMachine()
	bench, err := os.Create(filepath.Join(opts.Out, "matrix.txt"))
	if err != nil {
		return err
	}
	defer bench.Close()
	jsonl, err := os.Create(filepath.Join(opts.Out, "runs.jsonl"))
	if err != nil {
		return err
	}
	defer jsonl.Close()
	fmt.Fprint(bench, machine.benchHeader(opts))
	m := &matrix{opts: opts, log: &resultLog{bench: bench, jsonl: jsonl}, stderr: stderr, start: time.Now()}
	m.logf("airsock bench: %s; server on CPU %d, load generator on CPU %d; results in %s",
		strings.Join(opts.Scenarios, ", "), opts.ServerCPU, opts.ClientCPU, opts.Out)
	if opts.Perf == "" {
		m.logf("server syscalls not counted: no perf (--perf; Debian's linux-perf)")
	}
	// A scenario that cannot run (latency without a peak, say) is reported
	// and the others still run; only an ended ctx stops them.
	var scenarioErrs []error
	for _, s := range scenarios {
		if !slices.Contains(opts.Scenarios, s.name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		t := time.Now()
		if err := s.run(m, ctx); err != nil {
			scenarioErrs = append(scenarioErrs, fmt.Errorf("%s: %w", s.name, err))
			m.logf("%s FAILED after %v: %v", s.name, time.Since(t).Round(time.Second), err)
			continue
		}
		m.logf("%s done in %v", s.name, time.Since(t).Round(time.Second))
	}
	if err := ctx.Err(); err != nil && len(scenarioErrs) == 0 {
		scenarioErrs = append(scenarioErrs, err)
	}
	runErr := errors.Join(scenarioErrs...)
	machine.finish()
	if err := machine.save(filepath.Join(opts.Out, "machine.json")); err != nil && runErr == nil {
		runErr = err
	}
	if err := writeReport(opts.Out, filepath.Join(opts.Out, "hlog"), m.log.all(), machine, opts); err != nil && runErr == nil {
		runErr = err
	}
	if m.log.err != nil && runErr == nil {
		runErr = m.log.err
	}
	if n := m.failed.Load(); n > 0 && runErr == nil {
		runErr = fmt.Errorf("%d of %d runs failed (see runs.jsonl)", n, m.runs.Load())
	}
	m.logf("finished in %v", time.Since(m.start).Round(time.Second))
	return runErr
}

// record files a run's result, or its failure, and reports it.
func (m *matrix) record(r *result, err error) {
	m.runs.Add(1)
	if err != nil {
		m.failed.Add(1)
		r.Note = "FAILED: " + err.Error()
		r.Metrics = nil
	}
	m.log.add(r)
	var b strings.Builder
	fmt.Fprintf(&b, "%s round %d %s %s:", r.Scenario, r.Round, r.Backend, strings.Join(r.Params, " "))
	for _, mt := range r.Metrics {
		fmt.Fprintf(&b, " %s %s", formatValue(mt.Value), mt.Unit)
	}
	if r.Note != "" {
		fmt.Fprintf(&b, " (%s)", r.Note)
	}
	m.logf("%s", b.String())
}

// logf writes a progress line with the time since the start.
func (m *matrix) logf(format string, args ...any) {
	fmt.Fprintf(m.stderr, "[%6.1fs] %s\n", time.Since(m.start).Seconds(), fmt.Sprintf(format, args...))
}

// airsockBackends returns the backends chosen other than redis-server:
// those `airsock serve` runs, and with echoOnly the C reference servers too.
func (m *matrix) airsockBackends(echoOnly bool) []string {
	var out []string
	for _, b := range m.opts.Backends {
		_, c := cServers[b]
		if b != redisBackend && (echoOnly || !c) {
			out = append(out, b)
		}
	}
	return out
}

// runBounded runs cmd to the end, killing it after limit or when ctx ends.
func runBounded(ctx context.Context, cmd *exec.Cmd, limit time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("killed after %v", limit)
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		return errors.Join(ctx.Err(), errors.New("interrupted"))
	}
}
