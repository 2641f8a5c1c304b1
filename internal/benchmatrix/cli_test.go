package benchmatrix

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	// --quick sets its defaults; flags given with it still win, in any order.
	o, report, code := parseFlags([]string{"--rounds", "3", "--quick", "--backends", "loop,gnet", "--bin", "/x/airsock"}, io.Discard)
	if code != -1 || report != "" {
		t.Fatalf("code %d report %q", code, report)
	}
	q := DefaultOptions(true)
	if o.Rounds != 3 || !slices.Equal(o.Backends, []string{"loop", "gnet"}) || o.Bin != "/x/airsock" ||
		!slices.Equal(o.Conns, q.Conns) || o.Duration != q.Duration || o.Out != q.Out {
		t.Fatalf("options %+v", o)
	}
	o, _, _ = parseFlags([]string{"--conns", "1,10", "--rates", "0.5,0.9", "--duration", "2s"}, io.Discard)
	if !slices.Equal(o.Conns, []int{1, 10}) || !slices.Equal(o.RateFractions, []float64{0.5, 0.9}) || o.Duration != 2*time.Second {
		t.Fatalf("options %+v", o)
	}
	if o.Bin == "" {
		t.Fatal("no default binary")
	}
	o, report, _ = parseFlags([]string{"--report", "/r/full/runs.jsonl"}, io.Discard)
	if report != "/r/full/runs.jsonl" || o.Out != "/r/full" {
		t.Fatalf("--report: report %q out %q", report, o.Out)
	}
	for _, bad := range [][]string{{"--conns", "0"}, {"--conns", "x"}, {"--nope"}, {"extra"}} {
		if _, _, code := parseFlags(bad, io.Discard); code != 2 {
			t.Errorf("%q: code %d, want 2", bad, code)
		}
	}
	if _, _, code := parseFlags([]string{"-h"}, io.Discard); code != 0 {
		t.Errorf("-h: code %d", code)
	}
}

func TestOptionsCheck(t *testing.T) {
	o := DefaultOptions(false)
	o.Bin = "/x/airsock"
	o.Scenarios = []string{"throughput", "warp"}
	o.RateFractions = []float64{1.5}
	o.Rounds = 0
	o.MinReplies = 0
	o.MaxWindow = o.Duration / 2
	o.Taskset = "no-such-taskset-here"
	err := o.check()
	for _, want := range []string{`unknown scenario "warp"`, "rate fraction 1.5", "rounds must be at least 1", "taskset is needed",
		"minimum replies", "longest window"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("check: %v; want it to say %q", err, want)
		}
	}
}

// TestServeArgs: loop and serversocket are served on epoll ("auto" is
// io_uring on Linux), the -uring backends and the peers as named.
func TestServeArgs(t *testing.T) {
	m := &matrix{opts: Options{Bin: "/x/airsock"}}
	for be, want := range map[string]string{"loop": "--io epoll", "serversocket": "--io epoll", "loop-uring": "", "nbio": ""} {
		args := strings.Join(m.serveArgs(be, "echo"), " ")
		if !strings.HasPrefix(args, "/x/airsock serve --backend "+be+" --proto echo ") ||
			strings.Contains(args, "--io") != (want != "") || !strings.Contains(args, want) {
			t.Errorf("%s: %q", be, args)
		}
	}
}
