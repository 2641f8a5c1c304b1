package loadgen

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkClosedLoop runs the generator against an in-process loop echo
// server for b.N × 200 ms and reports allocations per message of the whole
// process (generator, server, collector): the per-message path of both
// should allocate nothing, leaving only per-connection and per-interval
// allocations.
func BenchmarkClosedLoop(b *testing.B) {
	addr := serve(b, "echo")
	var msgs int64
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range b.N {
		r, err := Run(b.Context(), Config{Addr: addr, Conns: 16, Depth: 4, Duration: 200 * time.Millisecond,
			Verify: true, Loops: 1})
		if err != nil {
			b.Fatal(err)
		}
		msgs += r.Received
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(msgs), "allocs/msg")
}
