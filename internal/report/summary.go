package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Summary is the outcome of a run. Its JSON field names are stable: tools
// and stored results depend on them. `airsock load --json` prints one, and
// the bench matrix reads it back as one.
type Summary struct {
	Label       string  `json:"label,omitempty"`      // what ran, e.g. "backend=gnet/conns=100"
	Count       int64   `json:"count"`                // messages with a latency recorded
	Errors      int64   `json:"errors"`               // failed messages
	Bytes       int64   `json:"bytes"`                // payload bytes moved
	DurationSec float64 `json:"duration_s"`           // wall time of the run
	MsgsPerSec  float64 `json:"msgs_per_s"`           // Count / DurationSec
	MBPerSec    float64 `json:"mb_per_s"`             // Bytes / DurationSec, 1 MB = 10^6 bytes
	Latency     Latency `json:"latency_us"`           // from the run's one histogram
	ClientCPU   CPU     `json:"client_cpu"`           // load generator's CPU time
	ServerCPU   *CPU    `json:"server_cpu,omitempty"` // when the server was measured
	// LoadCounts are the load generator's own counts, nil in a merged
	// summary. Embedded, so that in JSON its fields sit beside the others.
	*LoadCounts
}

// LoadCounts are what the load generator counts beside a Summary's figures;
// see loadgen.Results for their meaning.
type LoadCounts struct {
	Conns         int    `json:"conns"`
	ConnectErrors int64  `json:"connect_errors"`
	Sent          int64  `json:"sent"`
	Received      int64  `json:"received"`
	Lost          int64  `json:"lost"`
	Late          int64  `json:"late"`
	VerifiedBytes int64  `json:"verified_bytes"`
	Stopped       bool   `json:"stopped,omitempty"`
	Failure       string `json:"failure,omitempty"` // the verification failure that ended the run
	// Datagrams are a UDP run's own counts, nil over TCP. Embedded, so
	// that in JSON its fields sit beside the others.
	*DatagramCounts
}

// DatagramCounts are what a UDP load run counts besides LoadCounts' (where
// Lost is the datagrams not back within the loss timeout); see
// loadgen.Results.
type DatagramCounts struct {
	Reordered   int64   `json:"reordered"`
	Duplicated  int64   `json:"duplicated"`
	LateReplies int64   `json:"late_replies"`
	Corrupt     int64   `json:"corrupt"`
	LossPercent float64 `json:"loss_pct"`
}

// Latency holds latency statistics in microseconds, computed from one
// histogram.
type Latency struct {
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	P9999 float64 `json:"p99_99"`
	Max   float64 `json:"max"`
}

// LatencyOf computes the statistics of a nanosecond histogram. It may be
// called from any goroutine that owns h.
func LatencyOf(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return Latency{
		Min:   us(h.Min()),
		Mean:  h.Mean() / 1e3,
		P50:   us(h.ValueAtPercentile(50)),
		P90:   us(h.ValueAtPercentile(90)),
		P99:   us(h.ValueAtPercentile(99)),
		P999:  us(h.ValueAtPercentile(99.9)),
		P9999: us(h.ValueAtPercentile(99.99)),
		Max:   us(h.Max()),
	}
}

// Summarize makes the summary of counts gathered over elapsed wall time;
// the caller fills in Label and the CPU fields. It may be called from any
// goroutine that owns c.
func Summarize(c Counts, elapsed time.Duration) Summary {
	s := Summary{
		Count:       c.Hist.TotalCount(),
		Errors:      c.Errors,
		Bytes:       c.Bytes,
		DurationSec: elapsed.Seconds(),
		Latency:     LatencyOf(c.Hist),
	}
	if s.DurationSec > 0 {
		s.MsgsPerSec = float64(s.Count) / s.DurationSec
		s.MBPerSec = float64(s.Bytes) / 1e6 / s.DurationSec
	}
	return s
}

// Style selects how Format writes summaries.
type Style int

const (
	// Table is an aligned table for people, one row per summary.
	Table Style = iota
	// JSON is one JSON object per line (JSON Lines), for tools.
	JSON
)

// ParseStyle reads "table" or "json".
func ParseStyle(s string) (Style, error) {
	switch s {
	case "table":
		return Table, nil
	case "json":
		return JSON, nil
	}
	return 0, fmt.Errorf("report: unknown format %q (want table or json)", s)
}

// Format writes the summaries to w in the given style. It may be called
// from any goroutine.
func Format(w io.Writer, style Style, sums ...Summary) error {
	if style == JSON {
		enc := json.NewEncoder(w)
		for _, s := range sums {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "label\tcount\terrors\tsecs\tmsgs/s\tMB/s\tp50 us\tp90 us\tp99 us\tp99.9 us\tp99.99 us\tmax us\tuser s\tsys s\tcpu us/msg\t")
	for _, s := range sums {
		label := s.Label
		if label == "" {
			label = "-"
		}
		l := s.Latency
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.0f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t\n",
			label, s.Count, s.Errors, s.DurationSec, s.MsgsPerSec, s.MBPerSec,
			l.P50, l.P90, l.P99, l.P999, l.P9999, l.Max,
			s.ClientCPU.UserSec, s.ClientCPU.SysSec, s.ClientCPU.MicrosPerMsg(s.Count))
	}
	return tw.Flush()
}

// ReadJSON reads summaries written by Format in the JSON style. It may be
// called from any goroutine.
func ReadJSON(r io.Reader) ([]Summary, error) {
	var out []Summary
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var s Summary
		err := dec.Decode(&s)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("report: summary %d: %w", len(out)+1, err)
		}
		out = append(out, s)
	}
}
