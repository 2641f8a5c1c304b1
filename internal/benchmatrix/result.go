package benchmatrix

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
)

// result is one measured run: one cell of a scenario, on one backend, in one
// round.
type result struct {
	Scenario string   `json:"scenario"`
	Backend  string   `json:"backend"`
	Params   []string `json:"params"` // "key=value", in name order
	Round    int      `json:"round"`
	Metrics  []metric `json:"metrics"`
	// Note says what qualifies the figures ("client-bound") or why there
	// are none ("FAILED: ...").
	Note string `json:"note,omitempty"`
}

// metric is one figure of a result, in benchstat's "value unit" form. Units
// have no spaces.
type metric struct {
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
}

// Failed reports whether the run failed and has no figures.
func (r *result) Failed() bool { return strings.HasPrefix(r.Note, "FAILED") }

// Name is the run's Go benchmark name; rounds share it, so that benchstat
// sees them as samples of one benchmark.
func (r *result) Name() string {
	parts := append([]string{"BenchmarkMatrix", "scenario=" + r.Scenario, "backend=" + r.Backend}, r.Params...)
	return strings.Join(parts, "/")
}

// Cell is the run's cell: the scenario and parameters, without the
// backend.
func (r *result) Cell() string { return strings.Join(append([]string{r.Scenario}, r.Params...), "/") }

// Param returns the value of parameter key, or "".
func (r *result) Param(key string) string {
	for _, p := range r.Params {
		if k, v, _ := strings.Cut(p, "="); k == key {
			return v
		}
	}
	return ""
}

// Get returns the metric with the given unit.
func (r *result) Get(unit string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Unit == unit {
			return m.Value, true
		}
	}
	return 0, false
}

// add appends a metric, skipping values that are not finite (a rate over an
// empty window, say): benchstat cannot read them.
func (r *result) add(value float64, unit string) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return
	}
	r.Metrics = append(r.Metrics, metric{Unit: unit, Value: value})
}

// Line formats the run as a Go benchmark result line: the name, one
// iteration, then each metric. A failed run has no line.
func (r *result) Line() string {
	var b strings.Builder
	b.WriteString(r.Name())
	b.WriteString(" 1")
	for _, m := range r.Metrics {
		fmt.Fprintf(&b, " %s %s", formatValue(m.Value), m.Unit)
	}
	return b.String()
}

// formatValue prints v with about 4 significant digits, never in e-notation
// for the magnitudes seen here.
func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return fmt.Sprintf("%.4g", v)
	default:
		return fmt.Sprintf("%.4f", v)
	}
}

// resultLog writes results as they come: Go benchmark lines to one file
// (for benchstat), JSON lines with the rounds to another (for the tables).
// Its methods are safe from any goroutine.
type resultLog struct {
	mu      sync.Mutex
	bench   io.Writer
	jsonl   io.Writer
	results []*result
	err     error // first write error
}

// add records r and writes it out.
func (l *resultLog) add(r *result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.results = append(l.results, r)
	if !r.Failed() && len(r.Metrics) > 0 {
		l.write(l.bench, r.Line()+"\n")
	}
	j, err := json.Marshal(r)
	if err != nil {
		l.err = err
		return
	}
	l.write(l.jsonl, string(j)+"\n")
}

func (l *resultLog) write(w io.Writer, s string) {
	if _, err := io.WriteString(w, s); err != nil && l.err == nil {
		l.err = err
	}
}

// all returns the results so far.
func (l *resultLog) all() []*result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*result(nil), l.results...)
}

// readResults reads the JSON lines a resultLog wrote.
func readResults(path string) ([]*result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*result
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		r := new(result)
		if err := json.Unmarshal(sc.Bytes(), r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
