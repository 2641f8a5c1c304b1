package loadgen

import (
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/airsock/airsock/internal/report"
)

// Results is what a run measured; Run returns it, and it is the caller's. Counts of requests, replies and bytes
// cover the measured window only: requests sent (or, open loop, due) at or
// after the end of the warmup and before the end.
type Results struct {
	Conns         int   // connections that opened
	ConnectErrors int64 // dials that failed
	Errors        int64 // connections that failed or closed early, plus ConnectErrors
	Sent          int64 // requests sent
	Received      int64 // replies received
	Lost          int64 // requests sent and never answered
	Late          int64 // open loop: sends more than 1 ms behind their intended time
	BytesSent     int64
	BytesReceived int64
	VerifiedBytes int64 // reply bytes checked, warmup included; 0 without Verify

	// UDP: Lost counts the datagrams of the window that did not come back
	// within the loss timeout (or by the end); Received those that came
	// back with every byte right. Of those sent in the window: Reordered
	// came back after a later one of their flow, Duplicated came back
	// again, LateReplies came back after the timeout (they are in Lost).
	// Corrupt came back with a byte wrong, warmup included, and fail the
	// run (Failure names the first).
	UDP                                         bool
	Reordered, Duplicated, LateReplies, Corrupt int64

	// Latency holds the latency of every reply in ns: from the send, or in
	// an open-loop run from the intended send time.
	Latency *hdrhistogram.Histogram

	Warmup   time.Duration // warmup that elapsed
	Duration time.Duration // measured window that elapsed
	Elapsed  time.Duration // the whole run, connect to shutdown
	CPU      report.CPU    // client (this process's) CPU time over the run
	Stopped  bool          // ended early by the caller's context
	IO       string        // the loop backend the generator ran on (loop.Engine.Backend)

	// Failure is the verification failure that ended the run, if any.
	Failure *VerifyError

	noReplies bool // discard: throughput is counted in bytes sent
}

// MsgsPerSec returns replies per second of the measured window. Like every
// method of Results, it may be called from any goroutine.
func (r *Results) MsgsPerSec() float64 { return perSec(r.Received, r.Duration) }

// MBPerSec returns reply megabytes (10^6 bytes) per second of the measured
// window.
func (r *Results) MBPerSec() float64 { return perSec(r.BytesReceived, r.Duration) / 1e6 }

// Summary returns the results in report's form, counts included, for
// Format and for an interval log. Bytes are reply bytes, or for discard
// bytes sent.
func (r *Results) Summary(label string) report.Summary {
	bytes := r.BytesReceived
	if r.noReplies {
		bytes = r.BytesSent
	}
	s := report.Summarize(report.Counts{Hist: r.Latency, Bytes: bytes, Errors: r.Errors}, r.Duration)
	s.Label = label
	s.ClientCPU = r.CPU
	s.LoadCounts = &report.LoadCounts{Conns: r.Conns, ConnectErrors: r.ConnectErrors, Sent: r.Sent,
		Received: r.Received, Lost: r.Lost, Late: r.Late, VerifiedBytes: r.VerifiedBytes, Stopped: r.Stopped}
	if r.UDP {
		s.LoadCounts.DatagramCounts = &report.DatagramCounts{Reordered: r.Reordered, Duplicated: r.Duplicated,
			LateReplies: r.LateReplies, Corrupt: r.Corrupt, LossPercent: r.LossPercent()}
	}
	if r.Failure != nil {
		s.Failure = r.Failure.Error()
	}
	return s
}

// LossPercent returns the share of the window's datagrams lost, in
// percent (0 with none sent).
func (r *Results) LossPercent() float64 {
	if r.Sent == 0 {
		return 0
	}
	return 100 * float64(r.Lost) / float64(r.Sent)
}

func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// VerifyError is a reply byte that was wrong or never came. It names the
// connection and the offset of that byte in the connection's inbound
// stream (0 is the first byte the server sent on it); for a UDP datagram
// (Datagram), the flow, the datagram's number and the byte within it.
type VerifyError struct {
	Conn     uint64
	Offset   int64
	Err      error // the codec's *proto.MismatchError, or why bytes were lost
	Datagram bool
	Seq      uint64
}

func (e *VerifyError) Error() string {
	if e.Datagram {
		return fmt.Sprintf("verification failed on flow %d, datagram %d, byte %d: %v", e.Conn, e.Seq, e.Offset, e.Err)
	}
	return fmt.Sprintf("verification failed on connection %d at stream offset %d: %v", e.Conn, e.Offset, e.Err)
}

func (e *VerifyError) Unwrap() error { return e.Err }

// Snapshot is the progress of a run, passed to Config.Progress.
type Snapshot struct {
	Elapsed    time.Duration // since the start
	Interval   time.Duration // since the previous snapshot
	Start, End time.Time     // the interval's wall-clock bounds
	Warmup     bool          // the interval ended before the warmup did
	Final      bool          // the last snapshot, after the drain
	Connected  int           // connections open now
	Sent       int64         // requests sent so far, warmup included
	Received   int64         // replies so far, warmup included
	MsgsPerSec float64       // replies per second over the interval
	MBPerSec   float64       // reply megabytes per second over the interval
	P50, P99   time.Duration // latency percentiles over the interval (0 if none)
	Errors     int64         // connection and connect errors so far
	Lost       int64         // UDP: datagrams of the window lost so far
	CPUPercent float64       // client CPU (user+system) over the interval, 100 = one core
	// Counts are the interval's latencies and reply bytes (measured
	// requests only), for an interval log. They are the callee's.
	Counts report.Counts
}
