package report

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"github.com/airsock/airsock/internal/testutil"
)

// TestPercentilePlot draws the curve of 1 µs .. 10 ms and finds it in the
// SVG: one path with a point per percentile step, rising left to right,
// under an x axis labelled in nines.
func TestPercentilePlot(t *testing.T) {
	h := NewHistogram()
	for v := int64(1); v <= 10_000; v++ {
		h.RecordValue(v * 1000)
	}
	pts := PercentilePoints(h)
	if len(pts) < 20 || pts[0].X != 1 || pts[0].Y != 1 {
		t.Fatalf("%d points, the first %v: want many, from (1, 1 µs)", len(pts), pts[0])
	}
	for i := 1; i < len(pts); i++ {
		if !(pts[i].X > pts[i-1].X) || pts[i].Y < pts[i-1].Y || math.IsInf(pts[i].X, 0) {
			t.Fatalf("points %d and %d: %v then %v", i-1, i, pts[i-1], pts[i])
		}
	}
	if last := pts[len(pts)-1]; last.Y > 10_000*1.001 || last.X < 1e3 {
		t.Fatalf("last point %v: want past 99.9%%, at most 10 ms", last)
	}

	p, err := PercentilePlot(h, "Latency of the test", "merged(1)")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteSVG(&b, p, false); err != nil {
		t.Fatal(err)
	}
	svg := testutil.ParseSVG(t, b.Bytes())
	var curves [][][2]float64
	for _, path := range svg.Paths {
		if len(path) == len(pts) {
			curves = append(curves, path)
		}
	}
	if len(curves) != 1 {
		t.Fatalf("%d paths of %d points, want the one curve", len(curves), len(pts))
	}
	for i, c := 1, curves[0]; i < len(c); i++ {
		// The canvas's y grows upwards (vgsvg flips it), as latency does.
		if !(c[i][0] > c[i-1][0]) || c[i][1] < c[i-1][1] {
			t.Fatalf("curve points %d and %d: %v then %v", i-1, i, c[i-1], c[i])
		}
	}
	for _, want := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "percentile", "latency, µs", "Latency of the test", "merged(1)"} {
		if !slices.Contains(svg.Texts, want) {
			t.Errorf("no text %q in %q", want, svg.Texts)
		}
	}
	if _, err := PercentilePlot(NewHistogram(), "", ""); err == nil {
		t.Error("an empty histogram was plotted")
	}
}

func TestNinesTicks(t *testing.T) {
	var labels []string
	for _, tk := range (ninesTicks{}).Ticks(1, 1e5) {
		labels = append(labels, tk.Label)
	}
	if want := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"}; !slices.Equal(labels, want) {
		t.Fatalf("labels %q, want %q", labels, want)
	}
}
