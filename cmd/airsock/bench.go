package main

import (
	"context"
	"io"

	"github.com/airsock/airsock/internal/benchmatrix"
)

// runBench is `airsock bench`: the comparison matrix of package
// internal/benchmatrix (each backend in its own pinned process, several
// rounds, tables and plots), and the matrix's own client processes
// (`airsock bench idle`, `airsock bench churn`), which it starts by
// running this binary again.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return benchmatrix.Main(ctx, args, stdout, stderr)
}
