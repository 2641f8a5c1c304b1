package benchmatrix

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/airsock/airsock/internal/testutil"
)

// syntheticResults makes two rounds of throughput, memory and redis results
// with known ratios: loop uses 0.8× gnet's CPU per message at depth 16
// and 1.1× at depth 1; serversocket is loop's figures exactly.
func syntheticResults() []*result {
	var rs []*result
	add := func(scenario, be string, round int, params []string, unit string, v float64) {
		rs = append(rs, &result{Scenario: scenario, Backend: be, Round: round, Params: params, Metrics: []metric{{unit, v}, {"msgs/s", 1000 * float64(round)}}})
	}
	for round := 1; round <= 2; round++ {
		drift := float64(round) // the machine gets slower: ratios must not care
		for _, depth := range []string{"1", "16"} {
			for _, conns := range []string{"1", "100"} {
				p := []string{"conns=" + conns, "size=16", "depth=" + depth}
				loop := 0.8
				if depth == "1" {
					loop = 1.1
				}
				add("throughput", "gnet", round, p, "server-us/msg", drift)
				add("throughput", "net", round, p, "server-us/msg", 2*drift)
				add("throughput", "loop", round, p, "server-us/msg", loop*drift)
				add("throughput", "serversocket", round, p, "server-us/msg", loop*drift)
			}
		}
		m := []string{"conns=10000"}
		add("memory", "gnet", round, m, "rss-B/conn", 600)
		add("memory", "net", round, m, "rss-B/conn", 5000)
		add("memory", "loop", round, m, "rss-B/conn", 450)
		add("memory", "serversocket", round, m, "rss-B/conn", 2500)
		r := []string{"test=SET", "P=16", "c=50"}
		add("redis", "redis", round, r, "rps", 1e6)
		add("redis", "loop", round, r, "rps", 1.2e6)
		add("redis", "serversocket", round, r, "rps", 0.9e6)
	}
	rs = append(rs, &result{Scenario: "memory", Backend: "loop", Round: 3, Params: []string{"conns=10000"}, Note: "FAILED: server exited"})
	return rs
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	mc := &machine{CPUs: 2, Model: "Test CPU", Kernel: "6.1", Go: "go1.26", Revision: "abc123"}
	if err := writeReport(dir, filepath.Join(dir, "hlog"), syntheticResults(), mc, DefaultOptions(false)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "tables.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"airsock abc123. Machine: 2 CPUs, Test CPU, Linux 6.1, go1.26",
		"| cell | serversocket | loop | gnet | net | serversocket/gnet | serversocket/net | loop/gnet | loop/net | serversocket/loop |",
		// loop at depth 16: 0.8 and 1.6 over the rounds; ratio to gnet 0.80, to net 0.40.
		"| conns=1 size=16 depth=16 | 1.20 (0.80–1.60) | 1.20 (0.80–1.60) | 1.50 (1.00–2.00) | 3.00 (2.00–4.00) | 0.80 | 0.40 | 0.80 | 0.40 | 1.00 |",
		"| loop | 450 | – | 0.75 | – | 0.09 | – |",
		"| server CPU/msg ≤ 0.85× gnet at depth 16 | loop | 2/2 | 0.80 (conns=1 size=16 depth=16) | holds |",
		"| server CPU/msg ≤ gnet at depth 1 | loop | 0/2 | 1.10 (conns=1 size=16 depth=1) | fails in 2 |",
		"| RSS per idle connection ≤ gnet | serversocket | 0/1 | 4.17 (conns=10000) | fails in 1 |",
		"| RSS per idle connection < 1/10 of net | loop | 1/1 | 0.09 (conns=10000) | holds |",
		"| RESP -P 16 rps ≥ redis-server | loop | 1/1 | 1.20 (test=SET P=16 c=50) | holds |",
		"| RESP -P 16 rps ≥ redis-server | serversocket | 0/1 | 0.90 (test=SET P=16 c=50) | fails in 1 |",
		"| server CPU/msg within 5% of loop | serversocket | 4/4 |",
		"FAILED: server exited",
	} {
		wantIn(t, "tables.md", md, want)
	}
	if t.Failed() {
		t.Log(md)
	}
	// Every plot is an SVG with a legend entry per backend and the figures
	// in shortNum's form: the throughput axis up to niceCeil(1500 msgs/s),
	// the RSS bars labelled with their values.
	for name, figures := range map[string][]string{
		"throughput-size16-depth1.svg":  {"0", "1.2k", "2k"},
		"throughput-size16-depth16.svg": {"0", "1.2k", "2k"},
		"rss-per-conn.svg":              {"450", "600", "2.5k", "5k"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		svg := testutil.ParseSVG(t, b)
		for _, be := range []string{"serversocket", "loop", "gnet", "net"} {
			if !slices.Contains(svg.Texts, be) {
				t.Errorf("%s has no legend entry for %s", name, be)
			}
		}
		for _, f := range figures {
			if !slices.Contains(svg.Texts, f) {
				t.Errorf("%s: no %s among %q", name, f, svg.Texts)
			}
		}
	}
}

func TestShortNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.25: "0.25", 4.5: "4.5", 35: "35", 1500: "1.5k", 35000: "35k", 1.25e6: "1.25M", 2e6: "2M"} {
		if got := shortNum(v); got != want {
			t.Errorf("shortNum(%v) = %q, want %q", v, got, want)
		}
	}
	if niceCeil(0.7) != 1 || niceCeil(130) != 200 || niceCeil(4000) != 5000 {
		t.Error("niceCeil")
	}
}

// TestTargetsPeersAndIOUring: the rows of issue 11's targets. Two rounds
// in which loop-uring makes 0.4 and 0.04 syscalls per message at depth 1
// and 16 (c-uring 0.4 and 0.03), and costs 0.8× and then 0.9× gnet's CPU
// per message where loop costs 0.9× and then 0.8×; nbio costs 1.2× gnet's.
func TestTargetsPeersAndIOUring(t *testing.T) {
	var rs []*result
	add := func(be string, round int, depth string, cpu, sys float64) {
		rs = append(rs, &result{Scenario: "throughput", Backend: be, Round: round,
			Params:  []string{"conns=100", "size=16", "depth=" + depth},
			Metrics: []metric{{"server-us/msg", cpu}, {"server-syscalls/msg", sys}, {"msgs/s", 1000}}})
	}
	for round := 1; round <= 2; round++ {
		uring, loop := 0.8, 0.9
		if round == 2 {
			uring, loop = 0.9, 0.8
		}
		for _, depth := range []string{"1", "16"} {
			sys, csys := 0.4, 0.4
			if depth == "16" {
				sys, csys = 0.04, 0.03
			}
			add("gnet", round, depth, 1, 1.9)
			add("nbio", round, depth, 1.2, 1.9)
			add("loop", round, depth, loop, 1.9)
			add("loop-uring", round, depth, uring, sys)
			add("c-uring", round, depth, 0.7, csys)
		}
	}
	var b strings.Builder
	_, data := group(rs, "throughput")
	throughputTables(&b, []string{"throughput/conns=100/size=16/depth=16"}, data, backendsOf(rs))
	writeTargets(&b, rs)
	md := b.String()
	for _, want := range []string{
		"| cell | loop | loop-uring | gnet | nbio | c-uring | loop/gnet | loop/nbio | loop/c-uring | loop-uring/gnet | loop-uring/nbio | loop-uring/c-uring | loop-uring/loop |",
		"### server syscalls per message",
		"| conns=100 size=16 depth=16 | 1.900 | 0.040 | 1.900 | 1.900 | 0.030 |",
		// The best of loop and loop-uring is 0.8 in both rounds.
		"| server CPU/msg ≤ 0.85× gnet (100, 1,000 conns; 16, 512 B) | best airsock | 2/2 | 0.80 (conns=100 size=16 depth=1) | holds |",
		"| server CPU/msg ≤ 0.85× nbio (100, 1,000 conns; 16, 512 B) | best airsock | 2/2 | 0.67 (conns=100 size=16 depth=1) | holds |",
		"| syscalls/msg ≤ 0.5 (100 conns, 16 B, depth 1) | loop-uring | 1/1 | 0.40 (conns=100 size=16 depth=1) | holds |",
		"| syscalls/msg ≤ 0.05 (100 conns, 16 B, depth 16) | loop-uring | 1/1 | 0.040 (conns=100 size=16 depth=16) | holds |",
		"| syscalls/msg ≤ 1.1× c-uring | loop-uring | 1/2 | 1.33 (conns=100 size=16 depth=16) | fails in 1 |",
		// Per-round ratios 0.89 and 1.125: their median is above 1.
		"| server CPU/msg ≤ the epoll form's | loop-uring | 0/2 | 1.01 (conns=100 size=16 depth=1) | fails in 2 |",
		"| server CPU/msg ≤ 1.1× c-uring | loop-uring | 0/2 | 1.21 (conns=100 size=16 depth=1) | fails in 2 |",
	} {
		wantIn(t, "the report", md, want)
	}
	for _, never := range []string{"| syscalls/msg ≤ 0.5 (100 conns, 16 B, depth 1) | loop |", "| server CPU/msg ≤ 0.85× gnet (100, 1,000 conns; 16, 512 B) | loop |"} {
		if strings.Contains(md, never) {
			t.Errorf("report has %q", never)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}

// wantIn fails the test if text (called name) lacks want.
func wantIn(t *testing.T, name, text, want string) {
	t.Helper()
	if !strings.Contains(text, want) {
		t.Errorf("%s lacks %q", name, want)
	}
}
