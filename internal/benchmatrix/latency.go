package benchmatrix

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
)

// The latency scenario's workload: the throughput cell whose peak sets the
// rates.
var latencyCell = throughputCell{conns: 100, size: 16, depth: 1}

// latency is scenario 2: open-loop runs at the same fixed rates for every
// backend, fractions of the slowest backend's closed-loop peak, each
// latency timed from the request's intended send time.
func (m *matrix) latency(ctx context.Context) error {
	backends := m.airsockBackends(true)
	peak, err := m.slowestPeak(ctx, backends)
	if err != nil {
		return err
	}
	m.logf("latency: slowest closed-loop peak at %v is %.0f msgs/s", latencyCell.params(), peak)
	for round := 1; round <= m.opts.Rounds; round++ {
		for _, f := range m.opts.RateFractions {
			rate := math.Round(f * peak)
			for _, be := range rotate(backends, round) {
				if err := ctx.Err(); err != nil {
					return err
				}
				r := &result{Scenario: "latency", Backend: be, Round: round, Params: []string{
					fmt.Sprintf("load=%.0f%%", 100*f), fmt.Sprintf("rate=%.0f", rate),
					fmt.Sprintf("conns=%d", latencyCell.conns), fmt.Sprintf("size=%d", latencyCell.size)}}
				m.record(r, m.latencyRun(ctx, r, rate, f))
			}
		}
	}
	return nil
}

// slowestPeak returns the lowest of the backends' median peaks in the
// latency cell, from this run's throughput results, or measured now (one
// round) if the throughput scenario did not cover the cell. A backend
// without a peak is an error naming it: the rates need every backend's.
func (m *matrix) slowestPeak(ctx context.Context, backends []string) (float64, error) {
	if len(backends) == 0 {
		return 0, errors.New("no airsock backend to set the latency rates from")
	}
	_, data := group(m.log.all(), "throughput")
	cell := (&result{Scenario: "throughput", Params: latencyCell.params()}).Cell()
	slowest := math.Inf(1)
	for _, be := range backends {
		s := data[cell].stat(be, "msgs/s")
		if s.n == 0 {
			r := &result{Scenario: "throughput", Backend: be, Params: latencyCell.params(), Round: 1}
			err := m.throughputRun(ctx, r, latencyCell)
			m.record(r, err)
			if err != nil {
				return 0, fmt.Errorf("measuring the peak of %s: %w", be, err)
			}
			v, _ := r.Get("msgs/s")
			s = summary{n: 1, med: v}
		}
		if !(s.med > 0) {
			return 0, fmt.Errorf("%s has no peak throughput (%v msgs/s) to set the latency rates from", be, s.med)
		}
		slowest = min(slowest, s.med)
	}
	return slowest, nil
}

// latencyRun measures one backend at one fixed rate on a fresh server, with
// the run's HdrHistogram interval log kept beside the results.
func (m *matrix) latencyRun(ctx context.Context, r *result, rate, fraction float64) error {
	hlog := filepath.Join(m.opts.Out, "hlog", fmt.Sprintf("latency-load%02.0f-%s-round%d.hlog", 100*fraction, r.Backend, r.Round))
	spec := loadSpec{proto: "echo", conns: latencyCell.conns, size: latencyCell.size, depth: 1,
		rate: rate, warmup: m.opts.LatencyWarmup, duration: m.opts.LatencyDuration, hlog: hlog}
	out, err := m.serveMeasured(ctx, r.Backend, spec)
	if err != nil {
		return err
	}
	l := out.sum.Latency
	secs := out.window.Seconds()
	r.add(l.P50, "p50-us")
	r.add(l.P99, "p99-us")
	r.add(l.P999, "p99.9-us")
	r.add(l.Max, "max-us")
	r.add(out.sum.MsgsPerSec, "msgs/s")
	r.add(out.serverCPU.Total()*1e6/float64(out.sum.Received), "server-us/msg")
	r.add(100*out.clientCPU.Total()/secs, "client-cpu-%")
	r.add(float64(out.sum.Late), "late-sends")
	if out.clientCPU.Total()/secs >= clientBound {
		r.Note = "client-bound"
	}
	return nil
}
