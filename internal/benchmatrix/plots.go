package benchmatrix

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/airsock/airsock/internal/report"
)

// writePlots draws the README's charts from the results into dir:
// throughput by connections, latency percentile curves (from the merged
// .hlog files of all rounds), and RSS per idle connection.
func writePlots(dir string, results []*result) error {
	var charts = map[string]string{}
	throughputPlots(results, charts)
	if err := latencyPlots(dir, results, charts); err != nil {
		return err
	}
	memoryPlot(results, charts)
	for name, svg := range charts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// throughputPlots draws msgs/s against connections, a line per backend,
// for each (size, depth).
func throughputPlots(results []*result, charts map[string]string) {
	rs := resultsOf(results, "throughput")
	_, data := group(rs, "throughput")
	bs := backendsOf(rs)
	var conns []int
	type sd struct{ size, depth string }
	var combos []sd
	for _, r := range rs {
		c, _ := strconv.Atoi(r.Param("conns"))
		if !slices.Contains(conns, c) {
			conns = append(conns, c)
		}
		k := sd{r.Param("size"), r.Param("depth")}
		if !slices.Contains(combos, k) {
			combos = append(combos, k)
		}
	}
	slices.Sort(conns)
	if len(conns) < 2 {
		return
	}
	for _, k := range combos {
		ch := &chart{
			title:  fmt.Sprintf("Echo throughput, %s-byte messages, depth %s (median of rounds)", k.size, k.depth),
			xLabel: "connections", yLabel: "messages per second",
		}
		for _, c := range conns {
			ch.categories = append(ch.categories, strconv.Itoa(c))
		}
		for _, be := range bs {
			s := series{name: be}
			for _, c := range conns {
				cell := fmt.Sprintf("throughput/conns=%d/size=%s/depth=%s", c, k.size, k.depth)
				v := math.NaN()
				if st := data[cell].stat(be, "msgs/s"); st.n > 0 {
					v = st.med
				}
				s.values = append(s.values, v)
			}
			ch.series = append(ch.series, s)
		}
		charts[fmt.Sprintf("throughput-size%s-depth%s.svg", k.size, k.depth)] = ch.lineSVG()
	}
}

// percentiles plotted, with their labels.
var plotPercentiles = []struct {
	p     float64
	label string
}{{50, "p50"}, {90, "p90"}, {99, "p99"}, {99.9, "p99.9"}, {99.99, "p99.99"}, {100, "max"}}

// latencyPlots draws, for each load level, the latency percentiles of each
// backend from the merged interval logs of its rounds.
func latencyPlots(dir string, results []*result, charts map[string]string) error {
	rs := resultsOf(results, "latency")
	bs := backendsOf(rs)
	var loads []string
	for _, r := range rs {
		if l := r.Param("load"); !slices.Contains(loads, l) {
			loads = append(loads, l)
		}
	}
	for _, load := range loads {
		ch := &chart{title: fmt.Sprintf("Echo latency at %s of the slowest peak, 100 connections (all rounds merged)", load),
			xLabel: "percentile", yLabel: "latency, µs (log scale)", logY: true}
		for _, p := range plotPercentiles {
			ch.categories = append(ch.categories, p.label)
		}
		for _, be := range bs {
			pattern := filepath.Join(dir, "hlog", fmt.Sprintf("latency-load%s-%s-round*.hlog", strings.TrimSuffix(load, "%"), be))
			paths, _ := filepath.Glob(pattern)
			if len(paths) == 0 {
				continue
			}
			h, _, err := report.Merge(paths...)
			if err != nil {
				return err
			}
			s := series{name: be}
			for _, p := range plotPercentiles {
				s.values = append(s.values, float64(h.ValueAtPercentile(p.p))/1e3)
			}
			ch.series = append(ch.series, s)
		}
		if len(ch.series) > 0 {
			charts[fmt.Sprintf("latency-load%s.svg", strings.TrimSuffix(load, "%"))] = ch.lineSVG()
		}
	}
	return nil
}

// memoryPlot draws RSS per connection, idle and after one echo, a bar per
// backend.
func memoryPlot(results []*result, charts map[string]string) {
	rs := resultsOf(results, "memory")
	cells, data := group(rs, "memory")
	if len(cells) == 0 {
		return
	}
	d := data[cells[0]]
	ch := &chart{title: fmt.Sprintf("Server RSS per connection, %s (median of rounds)", cellLabel(cells[0])),
		xLabel: "", yLabel: "bytes per connection", categories: []string{"idle", "after one 16 B echo"}}
	for _, be := range backendsOf(rs) {
		s := series{name: be}
		for _, u := range []string{"rss-B/conn", "rss-after-echo-B/conn"} {
			v := math.NaN()
			if st := d.stat(be, u); st.n > 0 {
				v = st.med
			}
			s.values = append(s.values, v)
		}
		ch.series = append(ch.series, s)
	}
	charts["rss-per-conn.svg"] = ch.barSVG()
}
