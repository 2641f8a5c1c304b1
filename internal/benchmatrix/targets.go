package benchmatrix

import (
	"fmt"
	"strings"
)

// The project's performance targets, checked against the matrix's per-round
// ratios. A target holds in a cell when the median of its per-round ratios
// is on the right side of the bound.

// target is one bound on a ratio of one backend to another.
type target struct {
	what     string
	scenario string
	cellOK   func(cell string) bool // the cells it applies to
	unit     string
	base     string
	bound    float64
	atMost   bool   // ratio <= bound (else >= bound)
	strict   bool   // < or > rather than <= or >=
	only     string // checked for this backend only, if set
}

var targets = []target{
	{what: "server CPU/msg ≤ 0.85× gnet at depth 16", scenario: "throughput", cellOK: has("depth=16"),
		unit: "server-us/msg", base: "gnet", bound: 0.85, atMost: true},
	{what: "server CPU/msg ≤ gnet at depth 1", scenario: "throughput", cellOK: has("depth=1"),
		unit: "server-us/msg", base: "gnet", bound: 1, atMost: true},
	{what: "p99 ≤ gnet at each fixed rate", scenario: "latency", unit: "p99-us", base: "gnet", bound: 1, atMost: true},
	{what: "p99.9 ≤ gnet at each fixed rate", scenario: "latency", unit: "p99.9-us", base: "gnet", bound: 1, atMost: true},
	{what: "RSS per idle connection ≤ gnet", scenario: "memory", unit: "rss-B/conn", base: "gnet", bound: 1, atMost: true},
	{what: "RSS per idle connection < 1/10 of net", scenario: "memory", unit: "rss-B/conn", base: "net", bound: 0.1, atMost: true, strict: true},
	{what: "msgs/s within 5% of loop", scenario: "throughput", unit: "msgs/s", base: "loop", bound: 0.95, only: "serversocket"},
	{what: "server CPU/msg within 5% of loop", scenario: "throughput", unit: "server-us/msg", base: "loop", bound: 1.05, atMost: true, only: "serversocket"},
	{what: "RESP -P 16 rps ≥ redis-server", scenario: "redis", cellOK: func(c string) bool { return strings.Contains(c, "/P=16/") && !strings.Contains(c, "test=all") },
		unit: "rps", base: redisBackend, bound: 1},
}

// has matches cells with the parameter p ("depth=1" but not "depth=16").
func has(p string) func(string) bool {
	return func(cell string) bool { return strings.Contains(cell+"/", "/"+p+"/") }
}

func (t target) holds(r float64) bool {
	switch {
	case t.atMost && t.strict:
		return r < t.bound
	case t.atMost:
		return r <= t.bound
	case t.strict:
		return r > t.bound
	}
	return r >= t.bound
}

// check returns, for backend, how many cells the target holds in, of how
// many, and the worst cell with its ratio.
func (t target) check(results []*result, backend string) (held, total int, worst string, worstRatio float64) {
	cells, data := group(results, t.scenario)
	for _, c := range cells {
		if t.cellOK != nil && !t.cellOK(c) {
			continue
		}
		r, n := data[c].ratio(backend, t.base, t.unit)
		if n == 0 {
			continue
		}
		total++
		if t.holds(r) {
			held++
		}
		// Worst: furthest on the wrong side of (or closest to) the bound.
		if worst == "" || (t.atMost && r > worstRatio) || (!t.atMost && r < worstRatio) {
			worst, worstRatio = cellLabel(c), r
		}
	}
	return held, total, worst, worstRatio
}

// writeTargets writes the target table: for each target and each of
// airsock's backends, the cells where it holds.
func writeTargets(b *strings.Builder, results []*result) {
	ours, _ := split(backendsOf(results))
	var rows []string
	for _, t := range targets {
		for _, be := range ours {
			if be == t.base || (t.only != "" && be != t.only) {
				continue
			}
			held, total, worst, wr := t.check(results, be)
			if total == 0 {
				continue
			}
			verdict := "holds"
			if held < total {
				verdict = fmt.Sprintf("fails in %d", total-held)
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %d/%d | %.2f (%s) | %s |", t.what, be, held, total, wr, worst, verdict))
		}
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("## Targets\n\nRatio = backend ÷ the named baseline, median of per-round ratios, per cell. " +
		"Allocations per message (target 0) are measured in-process by `BenchmarkEcho` (bench/echo_test.go), not here.\n\n")
	b.WriteString("| target | backend | cells holding | worst ratio (cell) | verdict |\n|---|---|---:|---|---|\n")
	b.WriteString(strings.Join(rows, "\n") + "\n\n")
}
