package benchmatrix

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Counting a server's syscalls and context switches over a measured window
// with perf stat (the bench protocol's rule 10): syscall counts barely
// depend on the machine's noise, so they separate designs where CPU figures
// drown in it. perf runs pinned to the client core for a fixed window that
// opens with the load's measured window (perf's own `-- sleep`, so that its
// counting time is known); per-message figures divide by the load's rate
// times that window.

// perfEvents are what perf stat counts, in its -e syntax.
const perfEvents = "raw_syscalls:sys_enter,context-switches"

// perfCounts are one perf stat window's counts.
type perfCounts struct {
	syscalls, switches float64
	window             time.Duration
}

// perfRun is a perf stat counting a server.
type perfRun struct {
	cmd    *exec.Cmd
	stderr *tailBuffer
	window time.Duration
	done   chan error // Wait's result
}

// startPerf starts perf stat on process pid for window; nil when perf is
// not to be used (Options.Perf is "").
func (m *matrix) startPerf(pid int, window time.Duration) (*perfRun, error) {
	if m.opts.Perf == "" {
		return nil, nil
	}
	p := &perfRun{stderr: &tailBuffer{}, window: window, done: make(chan error, 1)}
	p.cmd = m.pinned(m.opts.ClientCPU, m.opts.Perf, "stat", "-x,", "-e", perfEvents, "-p", strconv.Itoa(pid),
		"--", "sleep", strconv.FormatFloat(window.Seconds(), 'f', 3, 64))
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf stat: %w", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	return p, nil
}

// wait returns perf's counts once its window has passed; it gives up (and
// kills perf) 10 s after that.
func (p *perfRun) wait() (perfCounts, error) {
	t := time.NewTimer(p.window + 10*time.Second)
	defer t.Stop()
	var err error
	select {
	case err = <-p.done:
	case <-t.C:
		p.cmd.Process.Kill()
		<-p.done
		return perfCounts{}, errors.New("perf stat did not end")
	}
	if err != nil {
		return perfCounts{}, fmt.Errorf("perf stat: %v: %s", err, lastLine(p.stderr.String()))
	}
	c, err := parsePerf(p.stderr.String())
	c.window = p.window
	return c, err
}

// kill ends perf at once (a nil p does nothing).
func (p *perfRun) kill() {
	if p != nil {
		p.cmd.Process.Kill()
		<-p.done
	}
}

// parsePerf reads the counts of perf stat -x, (one "value,unit,event,..."
// line per event). An event perf could not count ("<not counted>", "<not
// supported>", as without permission for tracepoints) is an error naming it.
func parsePerf(out string) (perfCounts, error) {
	var c perfCounts
	seen := 0
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		var dst *float64
		switch f[2] {
		case "raw_syscalls:sys_enter":
			dst = &c.syscalls
		case "context-switches", "cs":
			dst = &c.switches
		default:
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return c, fmt.Errorf("perf stat could not count %s: %q", f[2], f[0])
		}
		*dst = v
		seen++
	}
	if seen < 2 {
		return c, fmt.Errorf("perf stat printed no counts: %q", lastLine(out))
	}
	return c, nil
}
