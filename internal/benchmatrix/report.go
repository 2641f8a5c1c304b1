package benchmatrix

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The report: tables.md (one table per scenario, medians with their range
// over the rounds and per-round ratios against the peers and the C floor),
// a check of each target, and the plots.

// baselines are the backends airsock's are compared with, in column order.
var baselines = []string{"gnet", "nbio", "net", "c-epoll", "c-uring"}

// tableOrder is the column order of backends; others follow.
var tableOrder = []string{"serversocket", "serversocket-uring", "loop", "loop-uring", "gnet", "nbio", "net", "c-epoll", "c-uring", redisBackend}

// counterparts pair each of airsock's backends with the one it is measured
// against besides the baselines: serversocket with the loop it adapts, an
// io_uring backend with its epoll (or kqueue) form.
var counterparts = [][2]string{{"serversocket", "loop"}, {"loop-uring", "loop"}, {"serversocket-uring", "serversocket"}}

// backendsOf lists the backends that have results, in table order.
func backendsOf(results []*result) []string {
	seen := map[string]bool{}
	var extra []string
	for _, r := range results {
		if !seen[r.Backend] {
			seen[r.Backend] = true
			if !slices.Contains(tableOrder, r.Backend) {
				extra = append(extra, r.Backend)
			}
		}
	}
	var out []string
	for _, b := range tableOrder {
		if seen[b] {
			out = append(out, b)
		}
	}
	return append(out, extra...)
}

// ours are the airsock backends among bs; bases the baselines among them.
func split(bs []string) (ours, bases []string) {
	for _, b := range bs {
		switch {
		case slices.Contains(baselines, b):
			bases = append(bases, b)
		case b != redisBackend:
			ours = append(ours, b)
		}
	}
	return ours, bases
}

// writeReport writes tables.md and the plots into dir; the latency plots
// read the runs' interval logs from hlogDir.
func writeReport(dir, hlogDir string, results []*result, mc *machine, o Options) error {
	var b strings.Builder
	writeHeader(&b, mc, o, results)
	for _, sec := range []struct {
		scenario string
		write    func(*strings.Builder, []string, map[string]cellData, []string)
	}{
		{"throughput", throughputTables},
		{"latency", latencyTable},
		{"memory", memoryTable},
		{"churn", churnTable},
		{"redis", redisTables},
		{"udp", udpTables},
		{"tls", tlsTables},
	} {
		cells, data := group(results, sec.scenario)
		if len(cells) > 0 {
			sec.write(&b, cells, data, backendsOf(resultsOf(results, sec.scenario)))
		}
	}
	writeTargets(&b, results)
	writeFailures(&b, results)
	if err := os.WriteFile(filepath.Join(dir, "tables.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return writePlots(dir, hlogDir, results)
}

func resultsOf(results []*result, scenario string) []*result {
	var out []*result
	for _, r := range results {
		if r.Scenario == scenario {
			out = append(out, r)
		}
	}
	return out
}

func writeHeader(b *strings.Builder, mc *machine, o Options, results []*result) {
	fmt.Fprintf(b, "# airsock bench results\n\n")
	fmt.Fprintf(b, "airsock %s. Machine: %d CPUs, %s, Linux %s, %s", mc.Revision, mc.CPUs, mc.Model, mc.Kernel, mc.Go)
	if mc.Redis != "" {
		fmt.Fprintf(b, ", %s", mc.Redis)
	}
	fmt.Fprintf(b, ".\n")
	if !mc.Finished.IsZero() {
		fmt.Fprintf(b, "Run %s to %s (load average %s before, %s after).\n",
			mc.Started.Format("2006-01-02 15:04"), mc.Finished.Format("15:04"), mc.LoadBefore, mc.LoadAfter)
	}
	fmt.Fprintf(b, "Placement: each server `taskset -c %d`, GOMAXPROCS=1, `--loops 1`, fresh process per run; "+
		"load generator `taskset -c %d`, GOMAXPROCS=1, `--loops %d`. Backend order rotated each round. "+
		"loop and serversocket run with `--io epoll`, the -uring backends on io_uring.\n\n",
		o.ServerCPU, o.ClientCPU, o.ClientLoops)
	fmt.Fprintf(b, "Cells give the median over rounds and (min–max). Ratios are medians of per-round ratios "+
		"(A/B measured in the same round). %d results, %d failed.\n\n", len(results), countFailed(results))
}

func countFailed(results []*result) int {
	n := 0
	for _, r := range results {
		if r.Failed() {
			n++
		}
	}
	return n
}

// cellLabel is a cell without its scenario, for a table's first column.
func cellLabel(cell string) string {
	_, rest, _ := strings.Cut(cell, "/")
	return strings.ReplaceAll(rest, "/", " ")
}

// statCell formats a summary: "median (min–max)", or "–" for none.
func statCell(s summary, f func(float64) string) string {
	if s.n == 0 {
		return "–"
	}
	if s.n == 1 || s.min == s.max {
		return f(s.med)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.med), f(s.min), f(s.max))
}

func ratioCell(d cellData, a, base, unit string) string {
	r, n := d.ratio(a, base, unit)
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", r)
}

// ratioPairs are the ratio columns: each of ours against each baseline, and
// against its counterpart when both ran.
func ratioPairs(bs []string) [][2]string {
	ours, bases := split(bs)
	var pairs [][2]string
	for _, o := range ours {
		for _, b := range bases {
			pairs = append(pairs, [2]string{o, b})
		}
	}
	for _, p := range counterparts {
		if slices.Contains(bs, p[0]) && slices.Contains(bs, p[1]) {
			pairs = append(pairs, p)
		}
	}
	return pairs
}

// metricTable writes a table with a row per cell: each backend's figure in
// unit, then the ratio columns.
func metricTable(b *strings.Builder, title, unit string, cells []string, data map[string]cellData, bs []string, f func(float64) string, extra func(cellData) string, ratios bool) {
	var pairs [][2]string
	if ratios {
		pairs = ratioPairs(bs)
	}
	fmt.Fprintf(b, "%s\n\n| cell |", title)
	for _, be := range bs {
		fmt.Fprintf(b, " %s |", be)
	}
	for _, p := range pairs {
		fmt.Fprintf(b, " %s/%s |", p[0], p[1])
	}
	if extra != nil {
		b.WriteString(" note |")
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---:|", len(bs)+len(pairs)))
	if extra != nil {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, c := range cells {
		d := data[c]
		fmt.Fprintf(b, "| %s |", cellLabel(c))
		for _, be := range bs {
			fmt.Fprintf(b, " %s |", statCell(d.stat(be, unit), f))
		}
		for _, p := range pairs {
			fmt.Fprintf(b, " %s |", ratioCell(d, p[0], p[1], unit))
		}
		if extra != nil {
			fmt.Fprintf(b, " %s |", extra(d))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// clientBoundNote counts the client-bound runs of a cell.
func clientBoundNote(d cellData) string {
	n, all := 0, 0
	for _, rounds := range d {
		for _, r := range rounds {
			all++
			if r.Note == "client-bound" {
				n++
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("client-bound %d/%d", n, all)
}

func throughputTables(b *strings.Builder, cells []string, data map[string]cellData, bs []string) {
	b.WriteString("## 1. Throughput, closed loop (echo)\n\n")
	b.WriteString("Each connection keeps `depth` messages in flight. \"client-bound\": the load generator's core was " +
		"over 90% busy in the window, so msgs/s is the client's limit and server µs/msg is the figure to compare.\n\n")
	metricTable(b, "### msgs/s", "msgs/s", cells, data, bs, shortNum, clientBoundNote, true)
	metricTable(b, "### server CPU µs per message (user+system; lower is better)", "server-us/msg", cells, data, bs, fixed(2), nil, true)
	metricTable(b, "### server user-time share, % of its CPU time (the rest is the kernel's)", "server-user-%", cells, data, bs, fixed(0), nil, false)
	if hasUnit(data, "server-syscalls/msg") {
		b.WriteString("Syscalls and context switches of the server process, counted by `perf stat -e " + perfEvents +
			" -p PID` over most of each measured window, per message of the load's rate.\n\n")
		metricTable(b, "### server syscalls per message (lower is better)", "server-syscalls/msg", cells, data, bs, fixed(3), nil, true)
		metricTable(b, "### server context switches per message", "server-cs/msg", cells, data, bs, fixed(3), nil, false)
	}
}

// hasUnit reports whether any result of the cells has a figure in unit.
func hasUnit(data map[string]cellData, unit string) bool {
	for _, d := range data {
		for _, rounds := range d {
			for _, r := range rounds {
				if _, ok := r.Get(unit); ok {
					return true
				}
			}
		}
	}
	return false
}

func fixed(prec int) func(float64) string {
	return func(v float64) string { return fmt.Sprintf("%.*f", prec, v) }
}

func latencyTable(b *strings.Builder, cells []string, data map[string]cellData, bs []string) {
	b.WriteString("## 2. Latency, open loop at fixed rates (echo, 100 connections, 16 B)\n\n")
	b.WriteString("Rates are fractions of the slowest backend's closed-loop peak in the same cell; the same absolute " +
		"rate for every backend. Latency in µs from each request's intended send time (HdrHistogram).\n\n")
	_, bases := split(bs)
	fmt.Fprintf(b, "| cell | backend | p50 | p99 | p99.9 | max |")
	for _, base := range bases {
		fmt.Fprintf(b, " p99/%s | p99.9/%s |", base, base)
	}
	b.WriteString(" client CPU % | late sends |\n|---|---|")
	b.WriteString(strings.Repeat("---:|", 6+2*len(bases)))
	b.WriteString("\n")
	for _, c := range cells {
		d := data[c]
		for _, be := range bs {
			if len(d[be]) == 0 {
				continue
			}
			fmt.Fprintf(b, "| %s | %s |", cellLabel(c), be)
			for _, u := range []string{"p50-us", "p99-us", "p99.9-us", "max-us"} {
				fmt.Fprintf(b, " %s |", statCell(d.stat(be, u), fixed(0)))
			}
			for _, base := range bases {
				fmt.Fprintf(b, " %s | %s |", ratioCell(d, be, base, "p99-us"), ratioCell(d, be, base, "p99.9-us"))
			}
			fmt.Fprintf(b, " %s | %s |\n", statCell(d.stat(be, "client-cpu-%"), fixed(0)), statCell(d.stat(be, "late-sends"), fixed(0)))
		}
	}
	b.WriteString("\n")
}

// rowTable writes a table with a row per backend (for single-cell
// scenarios): each unit's figure, then ratios of the first unit.
func rowTable(b *strings.Builder, d cellData, bs []string, units, heads []string, f func(float64) string) {
	_, bases := split(bs)
	b.WriteString("| backend |")
	for _, h := range heads {
		fmt.Fprintf(b, " %s |", h)
	}
	for _, base := range bases {
		for _, h := range heads {
			fmt.Fprintf(b, " %s ÷ %s |", h, base)
		}
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---:|", len(heads)*(1+len(bases))))
	b.WriteString("\n")
	for _, be := range bs {
		fmt.Fprintf(b, "| %s |", be)
		for _, u := range units {
			fmt.Fprintf(b, " %s |", statCell(d.stat(be, u), f))
		}
		for _, base := range bases {
			for _, u := range units {
				fmt.Fprintf(b, " %s |", ratioCell(d, be, base, u))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func memoryTable(b *strings.Builder, cells []string, data map[string]cellData, bs []string) {
	b.WriteString("## 3. Memory per idle connection\n\n")
	for _, c := range cells {
		fmt.Fprintf(b, "Server RSS delta over the empty server (`VmRSS`), divided by the connections (%s), in bytes; "+
			"again after one 16-byte echo on each connection.\n\n", cellLabel(c))
		rowTable(b, data[c], bs, []string{"rss-B/conn", "rss-after-echo-B/conn"}, []string{"idle B/conn", "after echo B/conn"}, fixed(0))
		fmt.Fprintf(b, "Empty server RSS, MiB: ")
		var parts []string
		for _, be := range bs {
			parts = append(parts, fmt.Sprintf("%s %s", be, statCell(data[c].stat(be, "rss-empty-MiB"), fixed(1))))
		}
		b.WriteString(strings.Join(parts, "; ") + ".\n\n")
	}
}

func churnTable(b *strings.Builder, cells []string, data map[string]cellData, bs []string) {
	b.WriteString("## 4. Churn: connect, one 16-byte echo, close\n\n")
	for _, c := range cells {
		fmt.Fprintf(b, "%s.\n\n", cellLabel(c))
		rowTable(b, data[c], bs, []string{"conns/s", "server-us/conn"}, []string{"conns/s", "server µs/conn"}, shortNum)
	}
}

func redisTables(b *strings.Builder, cells []string, data map[string]cellData, bs []string) {
	b.WriteString("## 5. External client: redis-benchmark (RESP)\n\n")
	b.WriteString("`redis-benchmark -t ping,set,get -P P -c C --csv`, pinned to the client core, against " +
		"`airsock serve --proto resp` on each backend and against redis-server (`--save '' --appendonly no`) on the server core.\n\n")
	var tests, all []string
	for _, c := range cells {
		if strings.Contains(c, "test=all") {
			all = append(all, c)
		} else {
			tests = append(tests, c)
		}
	}
	pairsBase := func(bs []string) []string {
		var out []string
		if slices.Contains(bs, redisBackend) {
			out = append(out, redisBackend)
		}
		return out
	}(bs)
	metricTableWith(b, "### requests per second", "rps", tests, data, bs, shortNum, pairsBase)
	metricTableWith(b, "### server CPU µs per request (whole invocation; lower is better)", "server-us/req", all, data, bs, fixed(2), pairsBase)
}

// metricTableWith is metricTable with extra baselines (redis) in the ratio
// columns.
func metricTableWith(b *strings.Builder, title, unit string, cells []string, data map[string]cellData, bs []string, f func(float64) string, extraBases []string) {
	ours, bases := split(bs)
	bases = append(bases, extraBases...)
	fmt.Fprintf(b, "%s\n\n| cell |", title)
	for _, be := range bs {
		fmt.Fprintf(b, " %s |", be)
	}
	for _, o := range ours {
		for _, base := range bases {
			fmt.Fprintf(b, " %s/%s |", o, base)
		}
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---:|", len(bs)+len(ours)*len(bases)))
	b.WriteString("\n")
	for _, c := range cells {
		d := data[c]
		fmt.Fprintf(b, "| %s |", cellLabel(c))
		for _, be := range bs {
			fmt.Fprintf(b, " %s |", statCell(d.stat(be, unit), f))
		}
		for _, o := range ours {
			for _, base := range bases {
				fmt.Fprintf(b, " %s |", ratioCell(d, o, base, unit))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func writeFailures(b *strings.Builder, results []*result) {
	var lines []string
	for _, r := range results {
		if r.Failed() {
			lines = append(lines, fmt.Sprintf("- %s round %d: %s", r.Name(), r.Round, r.Note))
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("## Failed runs\n\n" + strings.Join(lines, "\n") + "\n\n")
}

// shortNum prints v compactly: 1.2M, 35k, 4.5, 0.25.
func shortNum(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return trimZeros(fmt.Sprintf("%.2f", v/1e6)) + "M"
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 1e3:
		return trimZeros(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a >= 10 || a == 0:
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return trimZeros(fmt.Sprintf("%.1f", v))
	}
	return trimZeros(fmt.Sprintf("%.2f", v))
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
