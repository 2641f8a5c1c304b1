package report

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The range and precision of every latency histogram of this package, in
// nanoseconds. Histograms must share them to merge bucket for bucket. The
// lowest discernible value is 1 ns, not 1 µs: with a 1 µs floor,
// HdrHistogram's first buckets are 512 ns wide, a 5% error at the 10 µs of
// a loopback round trip; at 1 ns every value keeps 3 significant digits,
// for 221 KB per histogram.
const (
	LowestNs  = 1
	HighestNs = int64(60 * time.Second)
	SigFigs   = 3
)

// NewHistogram returns an empty latency histogram with this package's range
// and precision. It may be called from any goroutine; the histogram itself
// is not safe for concurrent use.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(LowestNs, HighestNs, SigFigs)
}

// clampNs keeps d inside the histogram's range, so recording never fails
// (and never pays for the error hdrhistogram would format).
func clampNs(d time.Duration) int64 {
	return min(max(int64(d), 0), HighestNs)
}
