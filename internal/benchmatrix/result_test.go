package benchmatrix

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResultLine(t *testing.T) {
	r := &result{Scenario: "throughput", Backend: "gnet", Params: []string{"conns=100", "size=16", "depth=1"}}
	r.add(123456.7, "msgs/s")
	r.add(0.81234, "MB/s")
	r.add(7.125, "server-us/msg")
	r.add(math.NaN(), "dropped")
	r.add(math.Inf(1), "dropped")
	want := "BenchmarkMatrix/scenario=throughput/backend=gnet/conns=100/size=16/depth=1 1 123457 msgs/s 0.8123 MB/s 7.125 server-us/msg"
	if got := r.Line(); got != want {
		t.Fatalf("line\n got %s\nwant %s", got, want)
	}
	if r.Cell() != "throughput/conns=100/size=16/depth=1" || r.Param("size") != "16" || r.Param("nope") != "" {
		t.Fatalf("cell %q, size %q", r.Cell(), r.Param("size"))
	}
	if v, ok := r.Get("server-us/msg"); !ok || v != 7.125 {
		t.Fatalf("Get: %v %v", v, ok)
	}
}

// TestResultLogRoundTrip: runs are written as benchmark lines (failures
// left out) and as JSON lines that read back equal.
func TestResultLogRoundTrip(t *testing.T) {
	var bench, jsonl bytes.Buffer
	l := &resultLog{bench: &bench, jsonl: &jsonl}
	ok := &result{Scenario: "churn", Backend: "loop", Params: []string{"slots=50"}, Round: 2,
		Metrics: []metric{{"conns/s", 17000}}, Note: "client-bound"}
	bad := &result{Scenario: "churn", Backend: "net", Params: []string{"slots=50"}, Round: 2, Note: "FAILED: boom"}
	l.add(ok)
	l.add(bad)
	if got := bench.String(); got != ok.Line()+"\n" {
		t.Fatalf("benchmark lines %q", got)
	}
	path := filepath.Join(t.TempDir(), "runs.jsonl")
	if err := os.WriteFile(path, jsonl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := readResults(path)
	if err != nil || len(back) != 2 {
		t.Fatalf("read %d results: %v", len(back), err)
	}
	if back[0].Line() != ok.Line() || back[0].Note != ok.Note || back[0].Round != 2 || !back[1].Failed() {
		t.Fatalf("read back %+v %+v", back[0], back[1])
	}
	if err := os.WriteFile(path, []byte("{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readResults(path); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Fatalf("bad line: %v", err)
	}
}

func TestStats(t *testing.T) {
	s := summarize([]float64{5, 1, 4, 2})
	if s.n != 4 || s.med != 3 || s.min != 1 || s.max != 5 {
		t.Fatalf("summary %+v", s)
	}
	if s := summarize([]float64{7, 3, 5}); s.med != 5 {
		t.Fatalf("odd median %+v", s)
	}
	if s := summarize(nil); s.n != 0 {
		t.Fatalf("empty %+v", s)
	}
	// Per-round ratios: round 1 is 2/1, round 2 is 3/2, round 3 only one
	// backend (skipped), round 4 is 1/4; the median of {2, 1.5, 0.25} is 1.5,
	// not the ratio of medians (2/2 = 1).
	var rs []*result
	add := func(be string, round int, v float64) {
		rs = append(rs, &result{Scenario: "x", Backend: be, Round: round, Params: []string{"k=1"}, Metrics: []metric{{"u", v}}})
	}
	add("a", 1, 2)
	add("b", 1, 1)
	add("a", 2, 3)
	add("b", 2, 2)
	add("a", 3, 9)
	add("a", 4, 1)
	add("b", 4, 4)
	rs = append(rs, &result{Scenario: "x", Backend: "b", Round: 3, Params: []string{"k=1"}, Note: "FAILED: no"})
	cells, data := group(rs, "x")
	if len(cells) != 1 || cells[0] != "x/k=1" {
		t.Fatalf("cells %q", cells)
	}
	d := data[cells[0]]
	if r, n := d.ratio("a", "b", "u"); n != 3 || r != 1.5 {
		t.Fatalf("ratio %v over %d rounds, want 1.5 over 3", r, n)
	}
	if st := d.stat("a", "u"); st.n != 4 || st.med != 2.5 {
		t.Fatalf("stat %+v", st)
	}
	if _, n := d.ratio("a", "missing", "u"); n != 0 {
		t.Fatal("ratio against a missing backend")
	}
}

func TestRotate(t *testing.T) {
	bs := []string{"a", "b", "c"}
	for round, want := range map[int]string{1: "a,b,c", 2: "b,c,a", 3: "c,a,b", 4: "a,b,c"} {
		if got := strings.Join(rotate(bs, round), ","); got != want {
			t.Errorf("round %d: %s, want %s", round, got, want)
		}
	}
	if strings.Join(bs, ",") != "a,b,c" {
		t.Fatal("rotate changed its input")
	}
}
