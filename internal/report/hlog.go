package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// summaryPrefix starts the comment line in which a LogWriter stores a run's
// Summary. HdrHistogram tools skip comments; ReadLog picks it up, so that
// Merge can add up bytes, errors and CPU time, which the histograms lack.
const summaryPrefix = "#[airsock summary] "

// LogWriter writes an HdrHistogram interval log (.hlog, format 1.3):
// interval histograms with their start time and length, readable by
// ReadLog and by other HdrHistogram tools. Use it from one goroutine.
type LogWriter struct {
	out io.Writer
	lw  *hdrhistogram.HistogramLogWriter
}

// NewLogWriter starts a log on w for a run that started at start, with an
// optional one-line comment, and writes the log's header.
func NewLogWriter(w io.Writer, start time.Time, comment string) (*LogWriter, error) {
	l := &LogWriter{out: w, lw: hdrhistogram.NewHistogramLogWriter(w)}
	// Interval times are written relative to a base time, which the log
	// states in whole seconds: round it down so writer and reader agree.
	startMs := start.UnixMilli()
	baseMs := startMs - startMs%1000
	l.lw.SetBaseTime(baseMs)
	if err := l.lw.OutputLogFormatVersion(); err != nil {
		return nil, err
	}
	if comment != "" {
		comment = strings.NewReplacer("\r", " ", "\n", " ").Replace(comment)
		if err := l.lw.OutputComment(comment); err != nil {
			return nil, err
		}
	}
	if err := l.lw.OutputStartTime(startMs); err != nil {
		return nil, err
	}
	if err := l.lw.OutputBaseTime(baseMs); err != nil {
		return nil, err
	}
	if err := l.lw.OutputLegend(); err != nil {
		return nil, err
	}
	return l, nil
}

// WriteInterval appends the histogram of an interval from..to; it sets the
// histogram's start and end times to these. Bytes and errors are not part
// of the format: WriteSummary keeps the run's totals.
func (l *LogWriter) WriteInterval(c Counts, from, to time.Time) error {
	c.Hist.SetStartTimeMs(from.UnixMilli())
	c.Hist.SetEndTimeMs(to.UnixMilli())
	return l.lw.OutputIntervalHistogram(c.Hist)
}

// WriteSummary appends the run's summary as a comment line.
func (l *LogWriter) WriteSummary(s Summary) error {
	j, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(l.out, "%s%s\n", summaryPrefix, j)
	return err
}

// Log is an interval log read back.
type Log struct {
	// Intervals are the interval histograms, their start and end times in
	// milliseconds since the epoch (rounding may move them by 1 ms).
	Intervals []*hdrhistogram.Histogram
	// Summaries are those written by WriteSummary.
	Summaries []Summary
}

// ReadLog reads an interval log. It may be called from any goroutine.
func ReadLog(r io.Reader) (*Log, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	log := &Log{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20) // interval lines hold whole encoded histograms
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(summaryPrefix)); ok {
			var s Summary
			if err := json.Unmarshal(rest, &s); err != nil {
				return nil, fmt.Errorf("report: summary line: %w", err)
			}
			log.Summaries = append(log.Summaries, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	hr := hdrhistogram.NewHistogramLogReader(bytes.NewReader(data))
	for {
		h, err := hr.NextIntervalHistogram()
		if err != nil {
			return nil, fmt.Errorf("report: interval %d: %w", len(log.Intervals)+1, err)
		}
		if h == nil {
			return log, nil
		}
		log.Intervals = append(log.Intervals, h)
	}
}

// Merge reads the interval logs at paths and combines them; see MergeLogs.
// This is what `airsock merge` runs. It may be called from any goroutine.
func Merge(paths ...string) (*hdrhistogram.Histogram, Summary, error) {
	logs := make([]*Log, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, Summary{}, err
		}
		log, err := ReadLog(f)
		f.Close()
		if err != nil {
			return nil, Summary{}, fmt.Errorf("%s: %w", p, err)
		}
		logs = append(logs, log)
	}
	return MergeLogs(logs...)
}

// MergeLogs adds up every interval of the logs into one histogram, and
// summarises it: percentiles come from the merged histogram, never from
// averaging the logs' percentiles. The duration is the wall span from the
// earliest interval start to the latest interval end; bytes, errors and
// client CPU are the sums of the logs' summaries (server CPU is left out,
// as concurrent clients of one server would count it more than once). It
// may be called from any goroutine.
func MergeLogs(logs ...*Log) (*hdrhistogram.Histogram, Summary, error) {
	h := NewHistogram()
	var c Counts
	var cpu CPU
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	var dropped int64
	for _, log := range logs {
		for _, iv := range log.Intervals {
			dropped += h.Merge(iv)
			first = min(first, iv.StartTimeMs())
			last = max(last, iv.EndTimeMs())
		}
		for _, s := range log.Summaries {
			c.Bytes += s.Bytes
			c.Errors += s.Errors
			cpu = cpu.Add(s.ClientCPU)
		}
	}
	if dropped > 0 {
		return nil, Summary{}, fmt.Errorf("report: %d recorded values are outside 0..60 s", dropped)
	}
	var span time.Duration
	if last > first {
		span = time.Duration(last-first) * time.Millisecond
	}
	c.Hist = h
	s := Summarize(c, span)
	s.Label = fmt.Sprintf("merged(%d)", len(logs))
	s.ClientCPU = cpu
	return h, s, nil
}
