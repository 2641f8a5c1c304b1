package benchmatrix

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/airsock/airsock/internal/report"
)

// writePlots draws the README's charts from the results into dir:
// throughput by connections, latency percentile curves (from the merged
// .hlog files of all rounds, in hlogDir), and RSS per idle connection.
func writePlots(dir, hlogDir string, results []*result) error {
	var charts = map[string]*chart{}
	throughputPlots(results, charts)
	if err := latencyPlots(hlogDir, results, charts); err != nil {
		return err
	}
	memoryPlot(results, charts)
	for name, ch := range charts {
		var b bytes.Buffer
		if err := ch.writeSVG(&b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// throughputPlots draws msgs/s against connections, a line per backend,
// for each (size, depth).
func throughputPlots(results []*result, charts map[string]*chart) {
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
		charts[fmt.Sprintf("throughput-size%s-depth%s.svg", k.size, k.depth)] = ch
	}
}

// percentiles plotted, with their labels.
var plotPercentiles = []struct {
	p     float64
	label string
}{{50, "p50"}, {90, "p90"}, {99, "p99"}, {99.9, "p99.9"}, {99.99, "p99.99"}, {100, "max"}}

// latencyPlots draws, for each load level, the latency percentiles of each
// backend from the merged interval logs of its rounds.
func latencyPlots(hlogDir string, results []*result, charts map[string]*chart) error {
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
			pattern := filepath.Join(hlogDir, fmt.Sprintf("latency-load%s-%s-round*.hlog", strings.TrimSuffix(load, "%"), be))
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
			charts[fmt.Sprintf("latency-load%s.svg", strings.TrimSuffix(load, "%"))] = ch
		}
	}
	return nil
}

// memoryPlot draws RSS per connection, idle and after one echo, a bar per
// backend.
func memoryPlot(results []*result, charts map[string]*chart) {
	rs := resultsOf(results, "memory")
	cells, data := group(rs, "memory")
	if len(cells) == 0 {
		return
	}
	d := data[cells[0]]
	ch := &chart{title: fmt.Sprintf("Server RSS per connection, %s (median of rounds)", cellLabel(cells[0])),
		xLabel: "", yLabel: "bytes per connection", categories: []string{"idle", "after one 16 B echo"}, bars: true}
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
	charts["rss-per-conn.svg"] = ch
}

// chart is one chart's content: a value per category (NaN: none) for each
// series, drawn as lines with a dot per value, or as grouped bars.
type chart struct {
	title, xLabel, yLabel string
	categories            []string
	series                []series
	logY, bars            bool
}

// series is one line or one set of bars.
type series struct {
	name   string
	values []float64
}

// palette gives each backend the same colour in every chart.
var palette = map[string]color.RGBA{
	"serversocket": {0xd6, 0x27, 0x28, 0xff}, "loop": {0xff, 0x7f, 0x0e, 0xff}, "gnet": {0x1f, 0x77, 0xb4, 0xff},
	"net": {0x2c, 0xa0, 0x2c, 0xff}, "redis": {0x94, 0x67, 0xbd, 0xff},
	// the io_uring forms a lighter shade of their epoll forms'
	"serversocket-uring": {0xff, 0x98, 0x96, 0xff}, "loop-uring": {0xff, 0xbb, 0x78, 0xff},
	"nbio": {0x17, 0xbe, 0xcf, 0xff}, "c-epoll": {0x7f, 0x7f, 0x7f, 0xff}, "c-uring": {0xc7, 0xc7, 0xc7, 0xff},
}

var otherColours = []color.RGBA{{0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0xbc, 0xbd, 0x22, 0xff}, {0x9e, 0xda, 0xe5, 0xff}}

func colour(name string, i int) color.RGBA {
	if c, ok := palette[name]; ok {
		return c
	}
	return otherColours[i%len(otherColours)]
}

// approxDataW is about the width of a chart's data area, in points: bars
// are sized in points, not in data units, so their width is set from it.
const approxDataW = 310

// writeSVG draws the chart with gonum's plot and writes it as SVG text.
func (c *chart) writeSVG(w io.Writer) error {
	p := report.NewPlot(c.title, c.xLabel, c.yLabel)
	p.NominalX(c.categories...)
	hi := 0.0
	lo := math.Inf(1)
	barW := vg.Length(approxDataW / float64(len(c.categories)) * 0.8 / float64(max(len(c.series), 1)))
	for i, s := range c.series {
		col := colour(s.name, i)
		var pts plotter.XYs
		var labels []string
		for j, v := range s.values {
			if math.IsNaN(v) || (c.logY && v <= 0) {
				continue
			}
			pts = append(pts, plotter.XY{X: float64(j), Y: v})
			labels = append(labels, shortNum(v))
			hi, lo = max(hi, v), min(lo, v)
		}
		if !c.bars {
			line, dots, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			line.Color, line.Width = col, vg.Points(1.5)
			dots.Color, dots.Shape, dots.Radius = col, draw.CircleGlyph{}, vg.Points(2.25)
			p.Add(line, dots)
			p.Legend.Add(s.name, line, dots)
			continue
		}
		heights := make(plotter.Values, len(c.categories))
		for _, pt := range pts {
			heights[int(pt.X)] = pt.Y
		}
		bars, err := plotter.NewBarChart(heights, barW*0.9)
		if err != nil {
			return err
		}
		bars.Color, bars.LineStyle.Width = col, 0
		bars.Offset = barW * vg.Length(float64(i)-float64(len(c.series)-1)/2)
		values, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
		if err != nil {
			return err
		}
		for k := range values.TextStyle {
			values.TextStyle[k].Font.Variant, values.TextStyle[k].Font.Size, values.TextStyle[k].XAlign = "Sans", 8, draw.XCenter
		}
		values.Offset = vg.Point{X: bars.Offset, Y: 2}
		p.Add(bars, values)
		p.Legend.Add(s.name, bars)
	}
	p.X.Min, p.X.Max = -0.5, float64(len(c.categories))-0.5
	switch {
	case c.logY && hi > 0:
		// Whole decades, so that at least two ticks are labelled.
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, shortTicks{plot.LogTicks{}}
		p.Y.Min, p.Y.Max = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	default:
		p.Y.Tick.Marker = fifths{}
		p.Y.Min, p.Y.Max = 0, niceCeil(hi)
	}
	return report.WriteSVG(w, p, true)
}

// shortTicks labels another ticker's ticks with shortNum: 35k, 1.2M.
type shortTicks struct{ plot.Ticker }

// Ticks returns the ticks from min to max. Any goroutine.
func (t shortTicks) Ticks(min, max float64) []plot.Tick {
	ts := t.Ticker.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = shortNum(ts[i].Value)
		}
	}
	return ts
}

// fifths marks a linear axis at every fifth of its range, labelled with
// shortNum: with a niceCeil maximum, round figures.
type fifths struct{}

// Ticks returns the ticks from min to max. Any goroutine.
func (fifths) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for i := range 6 {
		v := min + (max-min)*float64(i)/5
		ts = append(ts, plot.Tick{Value: v, Label: shortNum(v)})
	}
	return ts
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
