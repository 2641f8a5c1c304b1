package benchmatrix

import (
	"context"
	"fmt"
)

// clientBound is the client core's busy share above which a run is marked
// client-bound: the generator, not the server, set the pace, and the
// server's CPU per message is the figure to compare.
const clientBound = 0.9

// throughputCell is one closed-loop echo workload.
type throughputCell struct{ conns, size, depth int }

func (c throughputCell) params() []string {
	return []string{fmt.Sprintf("conns=%d", c.conns), fmt.Sprintf("size=%d", c.size), fmt.Sprintf("depth=%d", c.depth)}
}

// throughput is scenario 1: peak closed-loop echo throughput, and the CPU
// each side spent per message.
func (m *matrix) throughput(ctx context.Context) error {
	var cells []throughputCell
	for _, c := range m.opts.Conns {
		for _, s := range m.opts.Sizes {
			for _, d := range m.opts.Depths {
				cells = append(cells, throughputCell{c, s, d})
			}
		}
	}
	backends := m.airsockBackends(true)
	for round := 1; round <= m.opts.Rounds; round++ {
		for _, cell := range cells {
			for _, be := range rotate(backends, round) {
				if err := ctx.Err(); err != nil {
					return err
				}
				r := &result{Scenario: "throughput", Backend: be, Params: cell.params(), Round: round}
				m.record(r, m.throughputRun(ctx, r, cell))
			}
		}
	}
	return nil
}

// throughputRun measures one cell on a fresh server.
func (m *matrix) throughputRun(ctx context.Context, r *result, cell throughputCell) error {
	srv, err := m.startServer(ctx, r.Backend, "echo")
	if err != nil {
		return err
	}
	spec := loadSpec{proto: "echo", conns: cell.conns, size: cell.size, depth: cell.depth,
		warmup: m.opts.Warmup, duration: m.opts.Duration, perf: true}
	err = m.verify(ctx, srv, spec)
	var out *loadOutcome
	if err == nil {
		out, err = m.measure(ctx, srv, spec)
	}
	if serr := srv.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	msgs := float64(out.sum.Received)
	secs := out.window.Seconds()
	r.add(out.sum.MsgsPerSec, "msgs/s")
	r.add(out.sum.MBPerSec, "MB/s")
	r.add(out.serverCPU.Total()*1e6/msgs, "server-us/msg")
	r.add(100*out.serverCPU.UserSec/out.serverCPU.Total(), "server-user-%")
	r.add(100*out.serverCPU.Total()/secs, "server-cpu-%")
	r.add(out.clientCPU.Total()*1e6/msgs, "client-us/msg")
	r.add(100*out.clientCPU.Total()/secs, "client-cpu-%")
	if out.clientCPU.Total()/secs >= clientBound {
		r.Note = "client-bound"
	}
	if p := out.perf; p != nil && out.sum.MsgsPerSec > 0 {
		perfMsgs := out.sum.MsgsPerSec * p.window.Seconds()
		r.add(p.syscalls/perfMsgs, "server-syscalls/msg")
		r.add(p.switches/perfMsgs, "server-cs/msg")
	} else if out.perfErr != nil && !m.perfWarned {
		m.perfWarned = true
		m.logf("server syscalls not counted: %v", out.perfErr)
	}
	return nil
}

// rotate returns backends starting at a different one each round, so that
// no backend always runs first (or right after another's heavy cell).
func rotate(backends []string, round int) []string {
	if len(backends) == 0 {
		return nil
	}
	k := (round - 1) % len(backends)
	return append(append([]string(nil), backends[k:]...), backends[:k]...)
}
