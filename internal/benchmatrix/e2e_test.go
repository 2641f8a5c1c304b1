package benchmatrix

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/loop"
)

// TestMatrixEndToEnd builds the real airsock binary and runs a tiny matrix
// with it: every scenario, two backends, one round. It checks that every
// run passed its correctness pass and produced figures, and that the
// outputs are all there. Timings are not asserted, and none is relied on:
// each load run's window must hold MinReplies replies, and one that does
// not (on a busy machine, say) is run again longer, up to MaxWindow.
func TestMatrixEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds airsock and runs processes")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build airsock with")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("no taskset")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "airsock")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/airsock/airsock/cmd/airsock")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	o := DefaultOptions(true)
	o.Bin, o.Out = bin, filepath.Join(dir, "results")
	o.Backends = []string{"loop", "nbio", "net"}
	if e, err := loop.New(loop.Config{Loops: 1, Backend: loop.BackendIOUring}); err == nil {
		e.Close()
		o.Backends = append(o.Backends, "loop-uring")
	}
	// Syscalls are counted where perf may count the tracepoint.
	withPerf := exec.Command("perf", "stat", "-x,", "-e", perfEvents, "--", "true").Run() == nil
	if !withPerf {
		o.Perf = ""
	}
	o.Scenarios = []string{"throughput", "latency", "memory", "churn", "udp"}
	o.Backends = append(o.Backends, "gnet") // udp runs on loop, loop-uring, gnet and net; nbio and c-epoll sit it out
	o.Rounds, o.MemoryRounds, o.RedisRounds = 1, 1, 1
	o.Conns, o.Sizes, o.Depths = []int{2}, []int{64}, []int{1, 4}
	o.VerifyTime, o.Warmup, o.Duration = 100*time.Millisecond, 100*time.Millisecond, 200*time.Millisecond
	o.MinReplies, o.MaxWindow = 50, 30*time.Second
	o.RateFractions, o.LatencyWarmup, o.LatencyDuration = []float64{0.5}, 100*time.Millisecond, 300*time.Millisecond
	o.IdleConns, o.ChurnConns = 30, 4
	o.RedisClients, o.RedisScale = []int{5}, 0.01
	o.UDPFlows, o.UDPSizes, o.UDPDepths = []int{100}, []int{64}, []int{1, 4} // 100 flows, 64 B: the cells of the UDP targets
	// The C floor server joins where gcc can build it.
	withC := false
	if gcc, err := exec.LookPath("gcc"); err == nil {
		out, err := exec.Command(gcc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", filepath.Join(dir, "epoll_echo"), filepath.Join("..", "..", "bench", "c", "epoll_echo.c")).CombinedOutput()
		if err != nil {
			t.Fatalf("building bench/c/epoll_echo.c: %v\n%s", err, out)
		}
		o.CDir, withC = dir, true
		o.Backends = append(o.Backends, "c-epoll")
	}
	_, e1 := exec.LookPath("redis-benchmark")
	_, e2 := exec.LookPath("redis-server")
	withRedis := e1 == nil && e2 == nil
	if withRedis {
		o.Scenarios = append(o.Scenarios, "redis")
	}
	// Far above the need (about 10 s on an idle machine), and ending before
	// go test's own timeout so that a stuck run still reports its progress.
	limit := 8 * time.Minute
	if d, ok := t.Deadline(); ok {
		limit = min(limit, time.Until(d)-30*time.Second)
	}
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	var progress bytes.Buffer
	if err := Run(ctx, o, &progress); err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	bench, err := os.ReadFile(filepath.Join(o.Out, "matrix.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"BenchmarkMatrix/scenario=throughput/backend=loop/conns=2/size=64/depth=4 1 ",
		"BenchmarkMatrix/scenario=throughput/backend=net/conns=2/size=64/depth=1 1 ",
		"BenchmarkMatrix/scenario=throughput/backend=nbio/conns=2/size=64/depth=4 1 ",
		"BenchmarkMatrix/scenario=latency/backend=net/load=50%/",
		"BenchmarkMatrix/scenario=memory/backend=loop/conns=30 1 ",
		"BenchmarkMatrix/scenario=churn/backend=net/slots=4/size=16 1 ",
		" server-us/msg ", " p99.9-us ", " rss-B/conn ", " conns/s ",
		"BenchmarkMatrix/scenario=udp/backend=loop/flows=100/size=64/depth=4 1 ",
		"BenchmarkMatrix/scenario=udp/backend=gnet/flows=100/size=64/depth=1 1 ",
		"BenchmarkMatrix/scenario=udp/backend=net/flows=100/size=64/depth=4 1 ",
		" dgrams/s ", " server-us/dgram ", " loss-% ",
	}
	if withPerf {
		want = append(want, " server-syscalls/msg ", " server-syscalls/dgram ")
	}
	if withC {
		want = append(want, "BenchmarkMatrix/scenario=throughput/backend=c-epoll/conns=2/size=64/depth=4 1 ",
			"BenchmarkMatrix/scenario=churn/backend=c-epoll/slots=4/size=16 1 ")
	}
	if withRedis {
		want = append(want, "BenchmarkMatrix/scenario=redis/backend=redis/test=SET/P=16/c=5 1 ", " server-us/req ")
	}
	for _, w := range want {
		if !bytes.Contains(bench, []byte(w)) {
			t.Errorf("matrix.txt lacks %q", w)
		}
	}
	tables, err := os.ReadFile(filepath.Join(o.Out, "tables.md"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bench, []byte("scenario=udp/backend=nbio")) || bytes.Contains(bench, []byte("scenario=udp/backend=c-epoll")) {
		t.Error("udp ran on a backend that cannot serve it")
	}
	for _, w := range []string{"## 1. Throughput", "## 2. Latency", "## 3. Memory", "## 4. Churn", "## 6. UDP", "## Targets",
		"| UDP server CPU/datagram ≤ 0.7× gnet (100 flows, 64 B) | loop |", "| UDP server CPU/datagram ≤ 0.5× net (100 flows, 64 B) | loop |"} {
		if !strings.Contains(string(tables), w) {
			t.Errorf("tables.md lacks %q", w)
		}
	}
	if mc, err := loadMachine(filepath.Join(o.Out, "machine.json")); err != nil || mc.CPUs < 1 || mc.Finished.IsZero() {
		t.Errorf("machine.json: %+v, %v", mc, err)
	}
	hlogs, _ := filepath.Glob(filepath.Join(o.Out, "hlog", "latency-load50-*-round1.hlog"))
	svgs, _ := filepath.Glob(filepath.Join(o.Out, "*.svg"))
	if wantHlogs := len(o.Backends); len(hlogs) != wantHlogs || len(svgs) < 2 {
		t.Errorf("hlog files %q, plots %q", hlogs, svgs)
	}
	if t.Failed() {
		t.Logf("progress:\n%s\nmatrix.txt:\n%s", progress.String(), bench)
	}

	// A window short of MinReplies is run again longer; still short at
	// MaxWindow, the run fails naming the backend.
	t.Run("short window", func(t *testing.T) {
		var log bytes.Buffer
		so := o
		so.MinReplies, so.MaxWindow = 1<<40, 4*o.VerifyTime
		m := &matrix{opts: so, log: &resultLog{bench: io.Discard, jsonl: io.Discard}, stderr: &log, start: time.Now()}
		r := &result{Scenario: "throughput", Backend: "loop", Params: latencyCell.params(), Round: 1}
		err := m.throughputRun(ctx, r, latencyCell)
		if err == nil || !strings.Contains(err.Error(), "loop answered") ||
			!strings.Contains(log.String(), fmt.Sprintf("again with a %v window", so.MaxWindow)) {
			t.Errorf("throughputRun: %v\n%s", err, log.String())
		}
	})
}
