package report

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// latency returns the i-th made-up latency of writer w: spread from under
// 1 µs to over 60 s so that every bucket range and both clamps are hit.
func latency(w, i int) time.Duration {
	x := uint64(w*1_000_003+i) * 0x9e3779b97f4a7c15
	switch i % 50 {
	case 0:
		return -time.Duration(x % 1000) // clamps to 0
	case 1:
		return 61*time.Second + time.Duration(x%1000) // clamps to 60 s
	}
	return time.Duration(x % uint64(1<<(10+x%26))) // 0 .. ~68 ms, log-spread
}

// record runs writers goroutines of n records each into r while the
// caller's goroutine takes intervals, writing them to lw if not nil, and
// returns the reference histogram of the same values recorded in one place.
func record(t *testing.T, r *Recorder, writers, n, salt int, lw *LogWriter) *hdrhistogram.Histogram {
	t.Helper()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.Shard(w)
			for i := range n {
				s.Record(latency(w+salt, i), 10)
				if i%100 == 0 {
					s.Error()
				}
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()
	start := time.Now()
	interval := func() {
		iv := r.Interval()
		if lw != nil {
			if err := lw.WriteInterval(iv, start, time.Now()); err != nil {
				t.Error(err)
			}
		}
	}
	deadline := time.After(time.Minute)
	for running := true; running; {
		select {
		case <-writersDone:
			running = false
		case <-deadline:
			t.Fatal("writers did not finish")
		default:
			interval() // as often as it can, to race with the writers
		}
	}
	interval() // what was recorded after the last swap
	ref := NewHistogram()
	for w := range writers {
		for i := range n {
			ref.RecordValue(clampNs(latency(w+salt, i)))
		}
	}
	return ref
}

func TestRecorderShardsMerge(t *testing.T) {
	r := NewRecorder(3)
	ref := record(t, r, 3, 20_000, 0, nil)
	total := r.Total()
	if !total.Hist.Equals(ref) {
		t.Fatalf("recorded %d values, reference %d: histograms differ", total.Hist.TotalCount(), ref.TotalCount())
	}
	if total.Bytes != 3*20_000*10 || total.Errors != 3*200 {
		t.Fatalf("bytes %d errors %d", total.Bytes, total.Errors)
	}
	if total.Hist.Max() < HighestNs*999/1000 || total.Hist.Min() != 0 {
		t.Fatalf("clamped values not at the ends: min %d max %d", total.Hist.Min(), total.Hist.Max())
	}
	// Nothing more recorded: an empty interval, an unchanged total.
	if iv := r.Interval(); iv.Hist.TotalCount() != 0 || iv.Bytes != 0 || iv.Errors != 0 {
		t.Fatalf("idle interval not empty: %+v", iv)
	}
	if r.Total().Hist.TotalCount() != ref.TotalCount() {
		t.Fatal("total changed without records")
	}
}

func TestRecordAllocs(t *testing.T) {
	s := NewRecorder(1).Shard(0)
	if a := testing.AllocsPerRun(1000, func() { s.Record(123*time.Microsecond, 16) }); a != 0 {
		t.Fatalf("Record allocates %.1f times", a)
	}
}

func writeRun(t *testing.T, dir string, salt int) (string, *hdrhistogram.Histogram, Summary) {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("run%d.hlog", salt))
	var buf bytes.Buffer
	start := time.Now()
	lw, err := NewLogWriter(&buf, start, fmt.Sprintf("run %d\nof the merge test", salt))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRecorder(2)
	ref := record(t, r, 2, 5_000, salt, lw)
	sum := Summarize(r.Total(), time.Since(start))
	sum.ClientCPU = CPU{UserSec: 1.5, SysSec: 0.25}
	if err := lw.WriteSummary(sum); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, ref, sum
}

func TestMergeEqualsCombined(t *testing.T) {
	dir := t.TempDir()
	p1, ref1, s1 := writeRun(t, dir, 1)
	p2, ref2, s2 := writeRun(t, dir, 2)
	both := NewHistogram()
	both.Merge(ref1)
	both.Merge(ref2)

	merged, sum, err := Merge(p1, p2)
	if err != nil {
		t.Fatal(err)
	}
	if !merged.Equals(both) {
		t.Fatalf("merged %d values, combined %d: histograms differ", merged.TotalCount(), both.TotalCount())
	}
	if sum.Count != both.TotalCount() || sum.Count != s1.Count+s2.Count {
		t.Fatalf("count %d, want %d", sum.Count, both.TotalCount())
	}
	if sum.Latency != LatencyOf(both) {
		t.Fatalf("percentiles %+v, want %+v", sum.Latency, LatencyOf(both))
	}
	for _, p := range []float64{50, 90, 99, 99.9, 99.99, 100} {
		if merged.ValueAtPercentile(p) != both.ValueAtPercentile(p) {
			t.Fatalf("p%v differs", p)
		}
	}
	if sum.Bytes != s1.Bytes+s2.Bytes || sum.Errors != s1.Errors+s2.Errors || sum.ClientCPU != (CPU{3, 0.5}) {
		t.Fatalf("counters not summed: %+v", sum)
	}
	if sum.DurationSec <= 0 || sum.MsgsPerSec != float64(sum.Count)/sum.DurationSec {
		t.Fatalf("duration %v, msgs/s %v", sum.DurationSec, sum.MsgsPerSec)
	}
	if _, _, err := Merge(filepath.Join(dir, "missing.hlog")); err == nil {
		t.Fatal("merging a missing file did not fail")
	}
}

func TestLogRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	base := time.UnixMilli(1_700_000_012_345)
	lw, err := NewLogWriter(&buf, base, "")
	if err != nil {
		t.Fatal(err)
	}
	var want []*hdrhistogram.Histogram
	for i := range 3 {
		c := Counts{Hist: NewHistogram()}
		for v := range 100 * (i + 1) {
			c.Hist.RecordValue(int64(v) * 7919)
		}
		from := base.Add(time.Duration(i) * time.Second)
		if err := lw.WriteInterval(c, from, from.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		want = append(want, c.Hist)
	}
	if !strings.HasPrefix(buf.String(), "#[Histogram log format version") {
		t.Fatalf("log header: %q", buf.String()[:40])
	}
	log, err := ReadLog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Intervals) != 3 || len(log.Summaries) != 0 {
		t.Fatalf("read %d intervals, %d summaries", len(log.Intervals), len(log.Summaries))
	}
	for i, h := range log.Intervals {
		if !h.Equals(want[i]) {
			t.Fatalf("interval %d differs", i)
		}
		wantStart := base.UnixMilli() + int64(i)*1000
		if d := h.StartTimeMs() - wantStart; d < -1 || d > 1 {
			t.Fatalf("interval %d starts at %d, want %d", i, h.StartTimeMs(), wantStart)
		}
		if d := h.EndTimeMs() - h.StartTimeMs(); d < 999 || d > 1001 {
			t.Fatalf("interval %d lasts %d ms", i, d)
		}
	}
}

func sampleSummary() Summary {
	h := NewHistogram()
	for v := int64(1); v <= 1000; v++ {
		h.RecordValue(v * 1000) // 1 µs .. 1 ms
	}
	s := Summarize(Counts{Hist: h, Bytes: 16_000, Errors: 2}, 2*time.Second)
	s.Label = "backend=airsock/conns=1"
	s.ClientCPU = CPU{UserSec: 0.125, SysSec: 0.5}
	s.ServerCPU = &CPU{UserSec: 1.0 / 3, SysSec: math.Pi}
	return s
}

func TestSummarize(t *testing.T) {
	s := sampleSummary()
	if s.Count != 1000 || s.MsgsPerSec != 500 || s.MBPerSec != 0.008 || s.Errors != 2 {
		t.Fatalf("summary %+v", s)
	}
	l := s.Latency
	// 3 significant digits: within 0.1% of the exact value.
	for _, c := range []struct{ got, want float64 }{{l.Min, 1}, {l.P50, 500}, {l.P90, 900}, {l.P99, 990}, {l.P999, 999}, {l.Max, 1000}} {
		if math.Abs(c.got-c.want) > c.want/1000+0.001 {
			t.Fatalf("latency %+v: %v, want about %v", l, c.got, c.want)
		}
	}
	if z := Summarize(Counts{Hist: NewHistogram()}, 0); z.MsgsPerSec != 0 || z.Latency != (Latency{}) {
		t.Fatalf("empty summary %+v", z)
	}
}

func TestSummaryJSONRoundTrip(t *testing.T) {
	in := []Summary{sampleSummary(), {Label: "empty"}}
	in[0].LoadCounts = &LoadCounts{Conns: 3, Sent: 8, Received: 7, Lost: 1, Failure: "byte 5"}
	var buf bytes.Buffer
	if err := Format(&buf, JSON, in...); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`"count":1000`, `"msgs_per_s":500`, `"latency_us":{`, `"p99_9":`, `"p99_99":`, `"client_cpu":{"user_s":0.125,"sys_s":0.5}`, `"server_cpu":`,
		`"conns":3,"connect_errors":0,"sent":8,"received":7,"lost":1,`, `"failure":"byte 5"}`} {
		if !strings.Contains(buf.String(), name) {
			t.Fatalf("JSON lacks %s:\n%s", name, buf.String())
		}
	}
	if empty := strings.Split(buf.String(), "\n")[1]; strings.Contains(empty, "conns") {
		t.Fatalf("a summary without load counts printed some: %s", empty)
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines for 2 summaries", n)
	}
	out, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
	if _, err := ReadJSON(strings.NewReader(`{"count":"x"}`)); err == nil {
		t.Fatal("bad JSON accepted")
	}
}

func TestFormatTable(t *testing.T) {
	s := sampleSummary()
	var buf bytes.Buffer
	if err := Format(&buf, Table, s); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("table has %d lines:\n%s", len(lines), out)
	}
	for _, col := range []string{"p50 us", "p90 us", "p99 us", "p99.9 us", "p99.99 us", "max us", "msgs/s", "MB/s", "errors", "user s", "sys s"} {
		if !strings.Contains(lines[0], col) {
			t.Fatalf("header lacks %q: %s", col, lines[0])
		}
	}
	l := s.Latency
	for _, v := range []float64{l.P50, l.P90, l.P99, l.P999, l.P9999, l.Max} {
		if !strings.Contains(lines[1], fmt.Sprintf(" %.1f ", v)) {
			t.Fatalf("row lacks %.1f: %s", v, lines[1])
		}
	}
	if !strings.Contains(lines[1], s.Label) || !strings.Contains(lines[1], " 500 ") {
		t.Fatalf("row: %s", lines[1])
	}
	if _, err := ParseStyle("xml"); err == nil {
		t.Fatal("ParseStyle accepted xml")
	}
	if st, err := ParseStyle("json"); err != nil || st != JSON {
		t.Fatal("ParseStyle(json)")
	}
}

func TestProcessCPU(t *testing.T) {
	before, err := ProcessCPU()
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until getrusage shows it (bounded: it must within a minute).
	deadline := time.Now().Add(time.Minute)
	x := uint64(1)
	for {
		for range 1 << 20 {
			x = x*6364136223846793005 + 1
		}
		after, err := ProcessCPU()
		if err != nil {
			t.Fatal(err)
		}
		used := after.Sub(before)
		if used.UserSec < 0 || used.SysSec < 0 {
			t.Fatalf("CPU time went backwards: %+v", used)
		}
		if used.UserSec > 0 {
			if got, want := used.MicrosPerMsg(10), (used.UserSec+used.SysSec)*1e5; math.Abs(got-want) > 1e-9*want {
				t.Fatalf("MicrosPerMsg %v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no user CPU time after a minute of work (x=%d)", x)
		}
	}
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses, as a process may choose.
	line := "1234 (we(ird) name)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 999 1000 10 0\n"
	c, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if c != (CPU{UserSec: 2.5, SysSec: 0.75}) || c.Total() != 3.25 {
		t.Fatalf("parsed %+v, want user 2.5 s and sys 0.75 s", c)
	}
	for _, bad := range []string{"1234 no name S 1", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 ab 75 0"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) did not fail", bad)
		}
	}
}

// TestPIDCPU reads this process's CPU time through /proc: it only grows.
func TestPIDCPU(t *testing.T) {
	before, err := PIDCPU(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	after, err := PIDCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := after.Sub(before); d.UserSec < 0 || d.SysSec < 0 {
		t.Fatalf("CPU time went backwards: %+v then %+v", before, after)
	}
	if _, err := PIDCPU(1 << 30); err == nil {
		t.Fatal("PIDCPU of a process that cannot exist did not fail")
	}
}

func BenchmarkShardRecord(b *testing.B) {
	s := NewRecorder(1).Shard(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Record(time.Duration(i&0xffff)*time.Microsecond, 16)
	}
}
