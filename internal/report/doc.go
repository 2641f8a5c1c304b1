// Package report records and reports latency for airsock's load generator
// and benchmarks, with HdrHistogram.
//
// Each event loop (or worker goroutine) of the load generator records into
// its own [Shard] of a [Recorder], without locks; a reader goroutine takes
// [Recorder.Interval] snapshots, which it may write to an HdrHistogram
// interval log ([LogWriter], the .hlog format other HdrHistogram tools
// read), and which add up to [Recorder.Total]. [Summarize] turns counts into
// a [Summary] (throughput, percentiles, errors, CPU time), which [Format]
// prints as a table or as JSON lines. [Merge] combines the interval logs of
// several runs or processes into one histogram, from which the summary's
// percentiles are computed: percentiles are never averaged.
//
// Latencies are recorded in nanoseconds, up to 60 s, to 3 significant
// digits; negative values count as 0 and longer ones as 60 s.
//
// The package imports nothing of airsock's.
package report
