package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/airsock/airsock/internal/report"
)

// runMerge is `airsock merge`: it adds up the intervals of .hlog files
// into one histogram and prints its summary, and with --plot draws its
// percentile curve. Percentiles come from the merged histogram; they are
// never averaged.
func runMerge(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("merge", "merge [--json] [--plot FILE.svg] FILE.hlog...", stderr)
	jsonOut := fs.Bool("json", false, "print the summary as one JSON object")
	plotPath := fs.String("plot", "", "also draw the merged latency percentile curve, in HdrHistogram's plotter style, as an SVG file")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		return usageError(fs, "no .hlog files given")
	}
	h, sum, err := report.Merge(fs.Args()...)
	if err == nil && *plotPath != "" {
		err = writePercentilePlot(*plotPath, h, sum)
	}
	if err != nil {
		fmt.Fprintf(stderr, "airsock merge: %v\n", err)
		return 1
	}
	style := report.Table
	if *jsonOut {
		style = report.JSON
	}
	if err := report.Format(stdout, style, sum); err != nil {
		fmt.Fprintf(stderr, "airsock merge: %v\n", err)
		return 1
	}
	return 0
}

// writePercentilePlot draws the merged histogram's percentile curve to path.
func writePercentilePlot(path string, h *hdrhistogram.Histogram, sum report.Summary) error {
	title := fmt.Sprintf("Latency by percentile: %d replies, max %.0f µs", sum.Count, sum.Latency.Max)
	p, err := report.PercentilePlot(h, title, sum.Label)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := report.WriteSVG(&b, p, false); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
