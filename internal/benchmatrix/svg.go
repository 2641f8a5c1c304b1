package benchmatrix

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Small hand-written SVG charts for the README: a line chart over
// categories (connections, percentiles) and a bar chart. No dependency, and
// plain text that diffs well.

// series is one line or one set of bars: a value per category (NaN: none).
type series struct {
	name   string
	values []float64
}

// chart is a chart's content.
type chart struct {
	title, xLabel, yLabel string
	categories            []string
	series                []series
	logY                  bool
}

const (
	svgW, svgH                     = 640, 380
	padL, padR, padT, padB         = 70, 150, 40, 50
	plotW, plotH                   = svgW - padL - padR, svgH - padT - padB
	legendX                        = svgW - padR + 15
	fontStyle                      = `font-family="sans-serif" font-size="12"`
	axisColour, gridColour, txtCol = "#333", "#ddd", "#222"
)

// palette gives each backend the same colour in every chart.
var palette = map[string]string{
	"serversocket": "#d62728", "loop": "#ff7f0e", "gnet": "#1f77b4", "net": "#2ca02c", "redis": "#9467bd",
}

func colour(name string, i int) string {
	if c, ok := palette[name]; ok {
		return c
	}
	return []string{"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"}[i%4]
}

// yScale maps values to the plot's height: linear from 0, or log10.
type yScale struct {
	lo, hi float64
	log    bool
}

func newYScale(c *chart) yScale {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		for _, v := range s.values {
			if !math.IsNaN(v) && (!c.logY || v > 0) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if math.IsInf(hi, -1) {
		return yScale{0, 1, c.logY}
	}
	if c.logY {
		return yScale{math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi))), true}
	}
	return yScale{0, niceCeil(hi), false}
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

// y returns the SVG y coordinate of v.
func (s yScale) y(v float64) float64 {
	f := (v - s.lo) / (s.hi - s.lo)
	if s.log {
		f = (math.Log10(v) - math.Log10(s.lo)) / (math.Log10(s.hi) - math.Log10(s.lo))
	}
	return padT + plotH*(1-f)
}

func (s yScale) ticks() []float64 {
	var t []float64
	if s.log {
		for v := s.lo; v <= s.hi*1.0001; v *= 10 {
			t = append(t, v)
		}
		return t
	}
	for i := 0; i <= 5; i++ {
		t = append(t, s.lo+(s.hi-s.lo)*float64(i)/5)
	}
	return t
}

// frame draws the title, axes, grid and legend, and returns the scale.
func (c *chart) frame(b *strings.Builder) yScale {
	ys := newYScale(c)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(b, `<text x="%d" y="22" font-family="sans-serif" font-size="14" fill="%s">%s</text>`+"\n", padL, txtCol, html.EscapeString(c.title))
	for _, t := range ys.ticks() {
		y := ys.y(t)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", padL, y, padL+plotW, y, gridColour)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" %s text-anchor="end" fill="%s">%s</text>`+"\n", padL-6, y+4, fontStyle, txtCol, shortNum(t))
	}
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`+"\n", padL, padT, padL, padT+plotH, axisColour)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`+"\n", padL, padT+plotH, padL+plotW, padT+plotH, axisColour)
	for i, cat := range c.categories {
		fmt.Fprintf(b, `<text x="%.1f" y="%d" %s text-anchor="middle" fill="%s">%s</text>`+"\n", c.catX(i), padT+plotH+18, fontStyle, txtCol, html.EscapeString(cat))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" %s text-anchor="middle" fill="%s">%s</text>`+"\n", padL+plotW/2, svgH-10, fontStyle, txtCol, html.EscapeString(c.xLabel))
	fmt.Fprintf(b, `<text x="16" y="%d" %s text-anchor="middle" fill="%s" transform="rotate(-90 16 %d)">%s</text>`+"\n", padT+plotH/2, fontStyle, txtCol, padT+plotH/2, html.EscapeString(c.yLabel))
	for i, s := range c.series {
		y := padT + 10 + 20*i
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="14" height="10" fill="%s"/>`+"\n", legendX, y-9, colour(s.name, i))
		fmt.Fprintf(b, `<text x="%d" y="%d" %s fill="%s">%s</text>`+"\n", legendX+20, y, fontStyle, txtCol, html.EscapeString(s.name))
	}
	return ys
}

// catX is the x coordinate of the centre of category i.
func (c *chart) catX(i int) float64 {
	return padL + plotW*(float64(i)+0.5)/float64(len(c.categories))
}

// lineSVG renders the chart as lines with a dot per value.
func (c *chart) lineSVG() string {
	var b strings.Builder
	ys := c.frame(&b)
	for i, s := range c.series {
		col := colour(s.name, i)
		var pts []string
		for j, v := range s.values {
			if math.IsNaN(v) || (ys.log && v <= 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.catX(j), ys.y(v)))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", c.catX(j), ys.y(v), col)
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), col)
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// barSVG renders the chart as grouped bars, one group per category.
func (c *chart) barSVG() string {
	var b strings.Builder
	ys := c.frame(&b)
	groupW := float64(plotW) / float64(len(c.categories))
	barW := groupW * 0.8 / float64(max(len(c.series), 1))
	for i, s := range c.series {
		for j, v := range s.values {
			if math.IsNaN(v) {
				continue
			}
			x := padL + groupW*float64(j) + groupW*0.1 + barW*float64(i)
			y := ys.y(v)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x, y, barW*0.9, padT+plotH-y, colour(s.name, i))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" %s text-anchor="middle" fill="%s">%s</text>`+"\n", x+barW*0.45, y-4, fontStyle, txtCol, shortNum(v))
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
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
