package report

import (
	"bytes"
	"errors"
	"image/color"
	"io"
	"math"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Charts are SVG text of one size (640×380 px), drawn with gonum's plot:
// small files that diff well, readable on GitHub.
const (
	chartW, chartH = 480, 285 // points, at 3/4 px each
	legendW        = 105      // the strip right of the plot that WriteSVG gives a legend
)

// NewPlot returns an empty chart with this package's style: sans-serif
// text (plot's default is a serif), a white background, horizontal grid
// lines, the legend at the top left. It may be called from any goroutine;
// the plot is the caller's.
func NewPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, yLabel
	for _, st := range []*text.Style{&p.Title.TextStyle, &p.Legend.TextStyle,
		&p.X.Label.TextStyle, &p.Y.Label.TextStyle, &p.X.Tick.Label, &p.Y.Tick.Label} {
		st.Font.Variant, st.Font.Size = "Sans", 9
	}
	p.Title.TextStyle.Font.Size = 10.5
	p.Legend.Top, p.Legend.Left, p.Legend.Padding = true, true, 3
	g := plotter.NewGrid()
	g.Vertical.Width = 0
	g.Horizontal.Color = color.Gray{Y: 0xdd}
	p.Add(g)
	return p
}

// WriteSVG renders p to w as SVG text. The title spans the whole width;
// with legendBeside the legend goes in a strip right of the plot instead
// of over its top left corner. It may be called from any goroutine that
// owns p.
func WriteSVG(w io.Writer, p *plot.Plot, legendBeside bool) error {
	c := vgsvg.New(chartW, chartH)
	dc := draw.New(c)
	if p.BackgroundColor != nil { // the margins too
		dc.SetColor(p.BackgroundColor)
		dc.Fill(dc.Rectangle.Path())
	}
	q := *p // drawn without the title and background, maybe without the legend
	q.Title.Text, q.BackgroundColor = "", nil
	if p.Title.Text != "" {
		st := p.Title.TextStyle
		st.XAlign, st.YAlign = draw.XLeft, draw.YTop
		dc.FillText(st, vg.Point{X: 8, Y: dc.Max.Y - 6}, p.Title.Text)
		dc = draw.Crop(dc, 0, 0, 0, -st.Rectangle(p.Title.Text).Size().Y-14)
	}
	if legendBeside {
		dc = draw.Crop(dc, 6, -6, 4, 0) // margins
		q.Legend = plot.NewLegend()
		q.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
		p.Legend.Draw(draw.Crop(dc, dc.Size().X-legendW+12, 0, 0, -6))
	} else {
		q.Draw(draw.Crop(dc, 6, -20, 4, 0)) // room for the last x label too
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return err
	}
	// The SVG names the font's family alone; give viewers without it the
	// metric-compatible ones and a generic fallback.
	out := strings.ReplaceAll(b.String(), "font-family:Liberation Sans;", "font-family:Liberation Sans,Arial,Helvetica,sans-serif;")
	_, err := io.WriteString(w, out)
	return err
}

// PercentileTicks is how finely PercentilePlot samples the distribution:
// HdrHistogram's percentile iterator with this many steps per halving of
// the distance to 100%, as HdrHistogram's own percentile output.
const PercentileTicks = 5

// PercentilePoints returns the points of h's percentile curve in the
// style of HdrHistogram's plotter: x is 1/(1-p) (1 at 0%, 10 at 90%, 100
// at 99%, ...), y the latency at p in microseconds. 100% (the maximum),
// whose x is infinite, is left out. It may be called from any goroutine
// that owns h.
func PercentilePoints(h *hdrhistogram.Histogram) plotter.XYs {
	var pts plotter.XYs
	for _, b := range h.CumulativeDistributionWithTicks(PercentileTicks) {
		if b.Quantile >= 100 {
			continue
		}
		pts = append(pts, plotter.XY{X: 1 / (1 - b.Quantile/100), Y: float64(b.ValueAt) / 1e3})
	}
	return pts
}

// PercentilePlot draws h's latency percentile curve (PercentilePoints) as
// one line named name: x on a log scale labelled 0%, 90%, 99%, 99.9%...,
// y in microseconds from 0. It fails for an empty histogram. Any goroutine
// that owns h.
func PercentilePlot(h *hdrhistogram.Histogram, title, name string) (*plot.Plot, error) {
	pts := PercentilePoints(h)
	if len(pts) == 0 {
		return nil, errors.New("report: no latencies to plot")
	}
	p := NewPlot(title, "percentile", "latency, µs")
	line, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	line.Color = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	line.Width = vg.Points(1.5)
	p.Add(line)
	p.Legend.Add(name, line)
	nines := math.Ceil(math.Log10(pts[len(pts)-1].X))
	p.X.Scale = plot.LogScale{}
	p.X.Min, p.X.Max = 1, math.Pow(10, max(nines, 1))
	p.X.Tick.Marker = ninesTicks{}
	p.Y.Min = 0
	return p, nil
}

// ninesTicks marks the powers of ten of 1/(1-p) with their percentiles:
// 1 is 0%, 10 is 90%, 100 is 99%, 1000 is 99.9%.
type ninesTicks struct{}

// Ticks returns the ticks from min to max. Any goroutine.
func (ninesTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for k := 0; math.Pow(10, float64(k)) <= max*(1+1e-9); k++ {
		label := "0%"
		switch {
		case k == 1:
			label = "90%"
		case k >= 2:
			label = "99" + strings.TrimSuffix("."+strings.Repeat("9", k-2), ".") + "%"
		}
		if v := math.Pow(10, float64(k)); v >= min*(1-1e-9) {
			ts = append(ts, plot.Tick{Value: v, Label: label})
		}
	}
	return ts
}
