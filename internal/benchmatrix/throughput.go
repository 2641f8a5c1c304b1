package benchmatrix

import (
	"context"
	"fmt"
)

// clientBound is the client core's busy share above which a run is marked
// client-bound: the generator, not the server, set the pace, and the
// server's CPU per message is the figure to compare.
const clientBound = 0.9

// throughputCell is one closed-loop echo workload: over TCP connections,
// or with udp over UDP flows (the udp scenario).
type throughputCell struct {
	conns, size, depth int
	udp                bool
	gso                bool // udp: the generator segments each flow's datagrams (load --udp-offload)
	tls                bool // over TLS (serve --tls-self-signed, load --tls)
}

func (c throughputCell) params() []string {
	n := "conns"
	if c.udp {
		n = "flows"
	}
	p := []string{fmt.Sprintf("%s=%d", n, c.conns), fmt.Sprintf("size=%d", c.size), fmt.Sprintf("depth=%d", c.depth)}
	if c.gso {
		p = append(p, "sender=gso")
	}
	return p
}

// closedLoopCells returns the cells of every count, size and depth.
func closedLoopCells(conns, sizes, depths []int, udp bool) []throughputCell {
	var cells []throughputCell
	for _, c := range conns {
		for _, s := range sizes {
			for _, d := range depths {
				cells = append(cells, throughputCell{conns: c, size: s, depth: d, udp: udp})
			}
		}
	}
	return cells
}

// throughput is scenario 1: peak closed-loop echo throughput, and the CPU
// each side spent per message.
func (m *matrix) throughput(ctx context.Context) error {
	return m.closedLoop(ctx, "throughput", closedLoopCells(m.opts.Conns, m.opts.Sizes, m.opts.Depths, false), m.airsockBackends(true))
}

// closedLoop runs every cell on every backend, each round, in rotated
// backend order, as scenario.
func (m *matrix) closedLoop(ctx context.Context, scenario string, cells []throughputCell, backends []string) error {
	for round := 1; round <= m.opts.Rounds; round++ {
		for _, cell := range cells {
			for _, be := range rotate(backends, round) {
				if err := ctx.Err(); err != nil {
					return err
				}
				r := &result{Scenario: scenario, Backend: be, Params: cell.params(), Round: round}
				m.record(r, m.throughputRun(ctx, r, cell))
			}
		}
	}
	return nil
}

// throughputRun measures one cell on a fresh server. Over UDP, lost
// datagrams do not fail it: they are its loss figures.
func (m *matrix) throughputRun(ctx context.Context, r *result, cell throughputCell) error {
	spec := loadSpec{proto: "echo", conns: cell.conns, size: cell.size, depth: cell.depth,
		warmup: m.opts.Warmup, duration: m.opts.Duration, perf: true, udp: cell.udp, udpOffload: cell.gso, tls: cell.tls}
	var extra []string
	if cell.udp {
		extra = []string{"--udp"}
	}
	if cell.tls {
		extra = []string{tlsServeFlag}
	}
	out, err := m.serveMeasured(ctx, r.Backend, spec, extra...)
	if err != nil {
		return err
	}
	if !cell.udp {
		m.addLoadFigures(r, out, "msg")
		return nil
	}
	m.addLoadFigures(r, out, "dgram")
	if d := out.sum.DatagramCounts; d != nil {
		r.add(d.LossPercent, "loss-%")
		r.add(float64(d.Reordered), "reordered")
	}
	r.add(float64(out.sum.Lost), "lost")
	return nil
}

// serveMeasured starts a fresh echo server of backend (with the extra
// serve flags), runs a verified pass of spec and then spec itself, and
// stops the server.
func (m *matrix) serveMeasured(ctx context.Context, backend string, spec loadSpec, extra ...string) (*loadOutcome, error) {
	srv, err := m.startServer(ctx, backend, "echo", extra...)
	if err != nil {
		return nil, err
	}
	err = m.verify(ctx, srv, spec)
	var out *loadOutcome
	if err == nil {
		out, err = m.measure(ctx, srv, spec)
	}
	if serr := srv.stop(); err == nil {
		err = serr
	}
	return out, err
}

// addLoadFigures adds a closed-loop run's figures to r: rate, CPU of both
// sides per message (per is the unit's name: "msg", or "dgram" for UDP)
// and, where counted, the server's syscalls and context switches per
// message; a run whose client core was busy is marked client-bound.
func (m *matrix) addLoadFigures(r *result, out *loadOutcome, per string) {
	msgs := float64(out.sum.Received)
	secs := out.window.Seconds()
	r.add(out.sum.MsgsPerSec, per+"s/s")
	r.add(out.sum.MBPerSec, "MB/s")
	r.add(out.serverCPU.Total()*1e6/msgs, "server-us/"+per)
	r.add(100*out.serverCPU.UserSec/out.serverCPU.Total(), "server-user-%")
	r.add(100*out.serverCPU.Total()/secs, "server-cpu-%")
	r.add(out.clientCPU.Total()*1e6/msgs, "client-us/"+per)
	r.add(100*out.clientCPU.Total()/secs, "client-cpu-%")
	if out.clientCPU.Total()/secs >= clientBound {
		r.Note = "client-bound"
	}
	if p := out.perf; p != nil && out.sum.MsgsPerSec > 0 {
		perfMsgs := out.sum.MsgsPerSec * p.window.Seconds()
		r.add(p.syscalls/perfMsgs, "server-syscalls/"+per)
		r.add(p.switches/perfMsgs, "server-cs/"+per)
	} else if out.perfErr != nil && !m.perfWarned {
		m.perfWarned = true
		m.logf("server syscalls not counted: %v", out.perfErr)
	}
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
