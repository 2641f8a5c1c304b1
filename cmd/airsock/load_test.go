package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/loadgen"
	"github.com/airsock/airsock/internal/report"
	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
)

// testEngine starts a one-loop engine for a test's own server, shut down
// at the end of the test.
func testEngine(t *testing.T) *loop.Engine {
	t.Helper()
	e, err := loop.New(loop.Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Shutdown(ctx)
	})
	return e
}

// flipServer is an echo server on loop that flips byte flip of every
// connection's stream.
func flipServer(t *testing.T, flip int64) string {
	t.Helper()
	ln, err := testEngine(t).Listen("tcp", "127.0.0.1:0", loop.Funcs{
		Open: func(c *loop.Conn) { c.SetContext(new(int64)) },
		Data: func(c *loop.Conn) {
			off := c.Context().(*int64)
			b, _ := c.Next(-1)
			if i := flip - *off; i >= 0 && i < int64(len(b)) {
				b[i] ^= 1
			}
			*off += int64(len(b))
			c.Write(b)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String()
}

// TestLoadVerifyFails: one flipped byte makes load --verify exit 1 naming
// the connection and the byte's offset in its stream.
func TestLoadVerifyFails(t *testing.T) {
	addr := flipServer(t, 4321)
	code, out, errOut := cli(t, "load", "--addr", addr, "-c", "1", "--depth", "3", "--size", "100",
		"--duration", "10s", "--warmup", "0s", "--verify", "--loops", "1")
	if code != 1 {
		t.Fatalf("load exited %d, want 1; stderr %q", code, errOut)
	}
	if !strings.Contains(errOut, "verification failed on connection 0 at stream offset 4321") {
		t.Fatalf("stderr %q does not name connection 0 and offset 4321", errOut)
	}
	if !strings.Contains(out, "p99.9") {
		t.Fatalf("no summary printed after the failure: %q", out)
	}
	// Without --verify the same run is not checked: it succeeds.
	code, _, errOut = cli(t, "load", "--addr", addr, "-c", "1", "--duration", "200ms", "--warmup", "0s", "--loops", "1")
	if code != 0 {
		t.Fatalf("unverified load exited %d: %s", code, errOut)
	}
}

// TestLoadReconnectEvery: load --reconnect-every churns the connections
// (one per 25 requests here) without an error or a lost reply, every byte
// verified; --udp refuses it.
func TestLoadReconnectEvery(t *testing.T) {
	s := startServe(t, "--addr", "127.0.0.1:0", "--loops", "1")
	code, r, errOut := loadJSONOut(t, "--addr", s.addr, "-c", "4", "--rate", "2000", "--reconnect-every", "25",
		"--duration", "500ms", "--warmup", "100ms", "--verify", "--loops", "1")
	if code != 0 {
		t.Fatalf("load exited %d: %s", code, errOut)
	}
	if r.Errors != 0 || r.Lost != 0 || r.Received != r.Sent || r.VerifiedBytes == 0 || r.Conns < int(r.Sent/25) {
		t.Fatalf("load --reconnect-every 25: %d conns for %d sent, %d received, %d lost, %d errors, %d verified",
			r.Conns, r.Sent, r.Received, r.Lost, r.Errors, r.VerifiedBytes)
	}
	if code, _, errOut := cli(t, "load", "--udp", "--reconnect-every", "5"); code != 2 || !strings.Contains(errOut, "--udp has none") {
		t.Fatalf("load --udp --reconnect-every: exit %d, %q; want 2 and why", code, errOut)
	}
}

// TestMerge: merging the interval logs of two runs gives the histogram of
// both runs together: the same count and percentiles.
func TestMerge(t *testing.T) {
	s := startServe(t, "--addr", "127.0.0.1:0", "--loops", "1")
	var runs []*loadgen.Results
	loadDone = func(r *loadgen.Results) { runs = append(runs, r) }
	defer func() { loadDone = nil }()
	dir := t.TempDir()
	var logs []string
	for i, depth := range []string{"1", "8"} { // two different distributions
		log := filepath.Join(dir, []string{"a.hlog", "b.hlog"}[i])
		logs = append(logs, log)
		code, _, errOut := cli(t, "load", "--addr", s.addr, "-c", "4", "--depth", depth,
			"--duration", "1200ms", "--warmup", "200ms", "--hlog", log, "--loops", "1")
		if code != 0 {
			t.Fatalf("load exited %d: %s", code, errOut)
		}
	}
	both := report.NewHistogram()
	var received int64
	for _, r := range runs {
		both.Merge(r.Latency)
		received += r.Received
	}
	if len(runs) != 2 || both.TotalCount() != received || received == 0 {
		t.Fatalf("%d runs, %d latencies for %d replies", len(runs), both.TotalCount(), received)
	}

	plotFile := filepath.Join(dir, "merged.svg")
	code, out, errOut := cli(t, append([]string{"merge", "--json", "--plot", plotFile}, logs...)...)
	if code != 0 {
		t.Fatalf("merge exited %d: %s", code, errOut)
	}
	sums, err := report.ReadJSON(strings.NewReader(out))
	if err != nil || len(sums) != 1 {
		t.Fatalf("merge printed %q: %v", out, err)
	}
	got, want := sums[0], report.LatencyOf(both)
	if got.Count != both.TotalCount() || got.Latency != want {
		t.Fatalf("merged: count %d latency %+v; both runs: count %d latency %+v", got.Count, got.Latency, both.TotalCount(), want)
	}
	code, out, _ = cli(t, append([]string{"merge"}, logs...)...)
	if code != 0 || !strings.Contains(out, "merged(2)") {
		t.Fatalf("merge (table) exited %d: %q", code, out)
	}

	// The plot is the curve of both runs' histogram: one path with a point
	// per percentile step, and the percentile axis's labels.
	b, err := os.ReadFile(plotFile)
	if err != nil {
		t.Fatal(err)
	}
	svg := testutil.ParseSVG(t, b)
	curves := 0
	for _, p := range svg.Paths {
		if len(p) == len(report.PercentilePoints(both)) {
			curves++
		}
	}
	if curves != 1 {
		t.Errorf("%d paths of %d points in the plot, want the one curve", curves, len(report.PercentilePoints(both)))
	}
	for _, want := range []string{"0%", "90%", "99%", "percentile", "latency, µs", "merged(2)"} {
		if !slices.Contains(svg.Texts, want) {
			t.Errorf("plot lacks the text %q: %q", want, svg.Texts)
		}
	}
}

// TestLoadInterrupt: ending the context (what SIGINT does) stops a long run
// early; the summary is still printed and the exit code is 0.
func TestLoadInterrupt(t *testing.T) {
	s := startServe(t, "--addr", "127.0.0.1:0", "--loops", "1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interrupt := time.AfterFunc(300*time.Millisecond, cancel)
	defer interrupt.Stop()
	var out, errOut testutil.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"load", "--addr", s.addr, "-c", "4", "--duration", "1m", "--warmup", "0s",
			"--verify", "--json", "--loops", "1"}, &out, &errOut)
	}()
	if code := testutil.Recv(t, done, "the interrupted load to end"); code != 0 {
		t.Fatalf("interrupted load exited %d: %s", code, errOut.String())
	}
	r := decodeLoad(t, out.String())
	if !r.Stopped || r.Received == 0 || r.Lost != 0 || r.Failure != "" || !strings.Contains(errOut.String(), "stopped early") {
		t.Fatalf("summary %+v, stderr %q", r, errOut.String())
	}
}
