package main

import (
	"context"
	"fmt"
	"io"

	"github.com/airsock/airsock/internal/report"
)

// runMerge is `airsock merge`: it adds up the intervals of .hlog files
// into one histogram and prints its summary. Percentiles come from the
// merged histogram; they are never averaged.
func runMerge(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("merge", "merge [--json] FILE.hlog...", stderr)
	jsonOut := fs.Bool("json", false, "print the summary as one JSON object")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		return usageError(fs, "no .hlog files given")
	}
	_, sum, err := report.Merge(fs.Args()...)
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
