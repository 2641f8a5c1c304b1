package benchmatrix

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// The project's performance targets, checked against the matrix's per-round
// ratios. A target holds in a cell when the median of its per-round ratios
// is on the right side of the bound.

// target is one bound on a ratio of one backend to another, or with no
// base on the figure itself.
type target struct {
	what     string
	scenario string
	cellOK   func(cell string) bool // the cells it applies to
	unit     string
	base     string // "": the bound is on the figure, not a ratio
	bound    float64
	atMost   bool     // ratio <= bound (else >= bound)
	strict   bool     // < or > rather than <= or >=
	only     []string // checked for these backends only, if set
	best     bool     // checked for the best of airsock's backends in each round, not for each
}

// bestBackend names, in the target table, the best of airsock's backends
// in each cell and round: the lowest figure if the bound is an upper one.
const bestBackend = "best airsock"

// peerCells are the cells of issue 11's bound against gnet and nbio: 100
// and 1,000 connections, 16 and 512 B, at depth 1 and 16.
func peerCells(cell string) bool {
	return (has("conns=100")(cell) || has("conns=1000")(cell)) && (has("size=16")(cell) || has("size=512")(cell))
}

// udpLoaded are the udp cells "under load": 100 or 1,000 flows, each
// with more than one datagram in flight (at depth 1 the server, faster
// than the one-core client, finds one or two datagrams per wake-up).
func udpLoaded(cell string) bool {
	return (has("flows=100")(cell) || has("flows=1000")(cell)) && !has("depth=1")(cell)
}

// uringBackends are airsock's backends on io_uring.
var uringBackends = []string{"loop-uring", "serversocket-uring"}

var targets = []target{
	{what: "server CPU/msg ≤ 0.85× gnet (100, 1,000 conns; 16, 512 B)", scenario: "throughput", cellOK: peerCells,
		unit: "server-us/msg", base: "gnet", bound: 0.85, atMost: true, best: true},
	{what: "server CPU/msg ≤ 0.85× nbio (100, 1,000 conns; 16, 512 B)", scenario: "throughput", cellOK: peerCells,
		unit: "server-us/msg", base: "nbio", bound: 0.85, atMost: true, best: true},
	{what: "server CPU/msg ≤ gnet in every cell", scenario: "throughput", unit: "server-us/msg", base: "gnet", bound: 1, atMost: true, best: true},
	{what: "server CPU/msg ≤ 0.85× gnet at depth 16", scenario: "throughput", cellOK: has("depth=16"),
		unit: "server-us/msg", base: "gnet", bound: 0.85, atMost: true},
	{what: "server CPU/msg ≤ gnet at depth 1", scenario: "throughput", cellOK: has("depth=1"),
		unit: "server-us/msg", base: "gnet", bound: 1, atMost: true},
	{what: "syscalls/msg ≤ 0.5 (100 conns, 16 B, depth 1)", scenario: "throughput", cellOK: cellIs("conns=100", "size=16", "depth=1"),
		unit: "server-syscalls/msg", bound: 0.5, atMost: true, only: uringBackends},
	{what: "syscalls/msg ≤ 0.05 (100 conns, 16 B, depth 16)", scenario: "throughput", cellOK: cellIs("conns=100", "size=16", "depth=16"),
		unit: "server-syscalls/msg", bound: 0.05, atMost: true, only: uringBackends},
	{what: "syscalls/msg ≤ 1.1× c-uring", scenario: "throughput", unit: "server-syscalls/msg", base: "c-uring", bound: 1.1, atMost: true, only: uringBackends},
	{what: "server CPU/msg ≤ the epoll form's", scenario: "throughput", unit: "server-us/msg", base: "loop", bound: 1, atMost: true, only: []string{"loop-uring"}},
	{what: "server CPU/msg ≤ the epoll form's", scenario: "throughput", unit: "server-us/msg", base: "serversocket", bound: 1, atMost: true, only: []string{"serversocket-uring"}},
	{what: "server CPU/msg ≤ 1.1× c-uring", scenario: "throughput", unit: "server-us/msg", base: "c-uring", bound: 1.1, atMost: true, only: uringBackends},
	{what: "p99 ≤ gnet at each fixed rate", scenario: "latency", unit: "p99-us", base: "gnet", bound: 1, atMost: true},
	{what: "p99.9 ≤ gnet at each fixed rate", scenario: "latency", unit: "p99.9-us", base: "gnet", bound: 1, atMost: true},
	{what: "RSS per idle connection ≤ gnet", scenario: "memory", unit: "rss-B/conn", base: "gnet", bound: 1, atMost: true},
	{what: "RSS per idle connection < 1/10 of net", scenario: "memory", unit: "rss-B/conn", base: "net", bound: 0.1, atMost: true, strict: true},
	{what: "msgs/s within 5% of loop", scenario: "throughput", unit: "msgs/s", base: "loop", bound: 0.95, only: []string{"serversocket"}},
	{what: "server CPU/msg within 5% of loop", scenario: "throughput", unit: "server-us/msg", base: "loop", bound: 1.05, atMost: true, only: []string{"serversocket"}},
	{what: "UDP server CPU/datagram ≤ 0.7× gnet (100 flows, 64 B)", scenario: "udp", cellOK: cellIs("flows=100", "size=64"),
		unit: "server-us/dgram", base: "gnet", bound: 0.7, atMost: true},
	{what: "UDP server CPU/datagram ≤ 0.5× net (100 flows, 64 B)", scenario: "udp", cellOK: cellIs("flows=100", "size=64"),
		unit: "server-us/dgram", base: "net", bound: 0.5, atMost: true},
	{what: "UDP syscalls/datagram ≤ 0.1 under load (100, 1,000 flows, pipelined)", scenario: "udp", cellOK: udpLoaded,
		unit: "server-syscalls/dgram", bound: 0.1, atMost: true},
	{what: "TLS: RSS per idle established connection ≤ 0.3× net+crypto/tls", scenario: "tls", cellOK: has("idle"),
		unit: "rss-B/conn", base: "net", bound: 0.3, atMost: true},
	{what: "TLS: RSS per idle established connection ≤ 0.5× nbio's", scenario: "tls", cellOK: has("idle"),
		unit: "rss-B/conn", base: "nbio", bound: 0.5, atMost: true},
	{what: "TLS: server CPU/msg ≤ net+crypto/tls", scenario: "tls", cellOK: has("depth=1"),
		unit: "server-us/msg", base: "net", bound: 1, atMost: true},
	{what: "RESP -P 16 rps ≥ redis-server", scenario: "redis", cellOK: func(c string) bool { return strings.Contains(c, "/P=16/") && !strings.Contains(c, "test=all") },
		unit: "rps", base: redisBackend, bound: 1},
}

// cellIs matches the cells with all the parameters ps.
func cellIs(ps ...string) func(string) bool {
	return func(cell string) bool {
		for _, p := range ps {
			if !has(p)(cell) {
				return false
			}
		}
		return true
	}
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

// figure returns what the target bounds for backend in one cell: the
// median of its per-round ratios to the base, or with no base the median
// of its figures; n is how many rounds gave one.
func (t target) figure(d cellData, backend string) (float64, int) {
	if t.base == "" {
		s := d.stat(backend, t.unit)
		return s.med, s.n
	}
	return d.ratio(backend, t.base, t.unit)
}

// check returns, for backend, how many cells the target holds in, of how
// many, and the worst cell with its figure. For bestBackend, each cell's
// figure is that of the best of ours in each round.
func (t target) check(results []*result, backend string, ours []string) (held, total int, worst string, worstFig float64) {
	cells, data := group(results, t.scenario)
	for _, c := range cells {
		if t.cellOK != nil && !t.cellOK(c) {
			continue
		}
		d := data[c]
		if backend == bestBackend {
			d = withBest(d, ours, t.unit, t.atMost)
		}
		r, n := t.figure(d, backend)
		if n == 0 {
			continue
		}
		total++
		if t.holds(r) {
			held++
		}
		// Worst: furthest on the wrong side of (or closest to) the bound.
		if worst == "" || (t.atMost && r > worstFig) || (!t.atMost && r < worstFig) {
			worst, worstFig = cellLabel(c), r
		}
	}
	return held, total, worst, worstFig
}

// withBest returns d with bestBackend added: in each round, the lowest
// figure in unit of the backends ours (the highest, if !low).
func withBest(d cellData, ours []string, unit string, low bool) cellData {
	best := map[int]*result{}
	for _, be := range ours {
		for rd, r := range d[be] {
			v, ok := r.Get(unit)
			if !ok {
				continue
			}
			if b, ok := best[rd]; ok {
				if bv, _ := b.Get(unit); (low && bv <= v) || (!low && bv >= v) {
					continue
				}
			}
			best[rd] = &result{Backend: bestBackend, Round: rd, Metrics: []metric{{Unit: unit, Value: v}}}
		}
	}
	out := maps.Clone(d)
	out[bestBackend] = best
	return out
}

// writeTargets writes the target table: for each target and each of
// airsock's backends (or the best of them), the cells where it holds.
func writeTargets(b *strings.Builder, results []*result) {
	ours, _ := split(backendsOf(results))
	var rows []string
	for _, t := range targets {
		checked := ours
		if t.best {
			checked = []string{bestBackend}
		}
		for _, be := range checked {
			if be == t.base || (t.only != nil && !slices.Contains(t.only, be)) {
				continue
			}
			held, total, worst, wr := t.check(results, be, ours)
			if total == 0 {
				continue
			}
			verdict := "holds"
			if held < total {
				verdict = fmt.Sprintf("fails in %d", total-held)
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %d/%d | %s (%s) | %s |", t.what, be, held, total, formatFigure(wr, t.base == ""), worst, verdict))
		}
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("## Targets\n\nRatio = backend ÷ the named baseline, median of per-round ratios, per cell; a bound with no " +
		"baseline is on the median figure itself. \"" + bestBackend + "\" is, in each round, the best of airsock's backends " +
		"that ran (" + strings.Join(ours, ", ") + "). " +
		"Allocations per message (target 0) are measured in-process by `BenchmarkEcho` (bench/echo_test.go), not here.\n\n")
	b.WriteString("| target | backend | cells holding | worst ratio or figure (cell) | verdict |\n|---|---|---:|---|---|\n")
	b.WriteString(strings.Join(rows, "\n") + "\n\n")
}

// formatFigure prints a ratio or a figure in the target table: two
// decimals, or for a figure below 0.1 (syscalls per message) three.
func formatFigure(v float64, figure bool) string {
	if figure && math.Abs(v) < 0.1 {
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
