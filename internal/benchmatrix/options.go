package benchmatrix

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// Options say what `airsock bench` runs. DefaultOptions gives the full
// matrix or the quick one; flags override single fields. It is a plain
// value, owned by whichever goroutine holds it.
type Options struct {
	Bin            string // the airsock binary: serve, load, bench idle/churn
	CDir           string // the C reference servers (bench/c/build.sh) for the c-epoll and c-uring backends
	Taskset        string // taskset(1), to pin each process to its CPU
	RedisServer    string // redis-server for the RESP reference; "" skips it
	RedisBenchmark string // redis-benchmark; "" skips the redis scenario
	Perf           string // perf(1), to count the servers' syscalls; "" (or not found) counts none
	Out            string // results directory

	Scenarios []string // of ScenarioNames
	Backends  []string // airsock serve backends, in table order
	Rounds    int      // rounds of the throughput, latency and churn scenarios

	ServerCPU, ClientCPU int // CPUs the server and the clients are pinned to
	ClientLoops          int // event loops of the load generator

	VerifyTime       time.Duration // each correctness pass
	Warmup, Duration time.Duration // each throughput and churn run

	// MinReplies is the fewest replies a load run's measured window (a
	// correctness pass's whole run) must hold. A window with fewer, as a
	// loaded machine can leave one, is run again longer, up to MaxWindow;
	// the run fails if that is still short.
	MinReplies int
	MaxWindow  time.Duration

	Conns, Sizes, Depths []int // the throughput cells

	RateFractions                  []float64 // latency rates, of the slowest peak
	LatencyWarmup, LatencyDuration time.Duration

	MemoryRounds int
	IdleConns    int
	Sources      []string // local IPs the idle and churn clients dial from

	ChurnConns int // churn slots

	RedisRounds    int
	RedisPipelines []int
	RedisClients   []int
	RedisTests     string  // redis-benchmark -t
	RedisScale     float64 // multiplies each cell's -n

	UDPFlows, UDPSizes, UDPDepths []int // the udp cells (rounds, warmup and duration are the throughput scenario's)
	// UDPBulk also runs the udp cells with more than one datagram in
	// flight with a generator whose flows send them segmented (load
	// --udp-offload), as bulk senders would; cells "sender=gso".
	UDPBulk bool

	TLSConns, TLSSizes []int // the tls scenario's throughput cells (depth 1); its idle memory takes IdleConns
}

// DefaultOptions returns the full matrix (33 minutes on the project's
// 2-CPU machine with its six backends, before the udp scenario, which
// adds about 8) or, with quick, a reduced one (2.5, and about 1 for udp).
// It may be called from any goroutine.
func DefaultOptions(quick bool) Options {
	o := Options{
		Taskset:         "taskset",
		RedisServer:     "redis-server",
		RedisBenchmark:  "redis-benchmark",
		Perf:            "perf",
		Out:             "bench/results/full",
		Scenarios:       ScenarioNames(),
		Backends:        []string{"serversocket", "loop", "loop-uring", "gnet", "nbio", "net"},
		Rounds:          5,
		ServerCPU:       1,
		ClientCPU:       0,
		ClientLoops:     1,
		VerifyTime:      300 * time.Millisecond,
		Warmup:          300 * time.Millisecond,
		Duration:        time.Second,
		MinReplies:      1000,
		MaxWindow:       30 * time.Second,
		Conns:           []int{1, 100, 1000},
		Sizes:           []int{16, 512, 16384},
		Depths:          []int{1, 16},
		RateFractions:   []float64{0.25, 0.5, 0.75, 0.9},
		LatencyWarmup:   500 * time.Millisecond,
		LatencyDuration: 2 * time.Second,
		MemoryRounds:    3,
		IdleConns:       10000,
		ChurnConns:      50,
		RedisRounds:     3,
		RedisPipelines:  []int{1, 16},
		RedisClients:    []int{50, 1000},
		RedisTests:      "ping,set,get",
		RedisScale:      1,
		UDPFlows:        []int{1, 100, 1000},
		UDPSizes:        []int{64, 1200},
		UDPDepths:       []int{1, 16},
		TLSConns:        []int{100, 1000},
		TLSSizes:        []int{64, 4096},
	}
	if quick {
		o.Out = "bench/results/quick"
		o.Rounds = 2
		o.VerifyTime = 200 * time.Millisecond
		o.Warmup = 200 * time.Millisecond
		o.Duration = 500 * time.Millisecond
		o.Conns = []int{100}
		o.Sizes = []int{16, 16384}
		o.RateFractions = []float64{0.5, 0.9}
		o.LatencyWarmup = 300 * time.Millisecond
		o.LatencyDuration = time.Second
		o.MemoryRounds = 1
		o.RedisRounds = 1
		o.RedisClients = []int{50}
		o.RedisScale = 0.5
		o.UDPFlows = []int{100}
	}
	return o
}

// check validates the options and finds the tools they name: a missing
// redis-server drops only the reference server, a missing redis-benchmark
// only the redis scenario.
func (o *Options) check() error {
	var errs []error
	for _, s := range o.Scenarios {
		if !slices.Contains(ScenarioNames(), s) {
			errs = append(errs, fmt.Errorf("unknown scenario %q (want some of %q)", s, ScenarioNames()))
		}
	}
	if len(o.Backends) == 0 {
		errs = append(errs, errors.New("no backends"))
	}
	if o.Rounds < 1 || o.MemoryRounds < 1 || o.RedisRounds < 1 {
		errs = append(errs, errors.New("rounds must be at least 1"))
	}
	if o.Duration <= 0 || o.LatencyDuration <= 0 || o.VerifyTime <= 0 || o.Warmup < 0 || o.LatencyWarmup < 0 {
		errs = append(errs, errors.New("durations must be positive (warmups not negative)"))
	}
	if o.MinReplies < 1 {
		errs = append(errs, errors.New("the minimum replies must be at least 1"))
	}
	if o.MaxWindow < max(o.Duration, o.LatencyDuration, o.VerifyTime) {
		errs = append(errs, fmt.Errorf("the longest window (%v) is shorter than a run's own", o.MaxWindow))
	}
	for _, size := range o.UDPSizes {
		if size < 16 || size > 65507 {
			errs = append(errs, fmt.Errorf("UDP size %d not in 16..65507 (a datagram carries a 16-byte header)", size))
		}
	}
	if o.IdleConns < 1 || o.ChurnConns < 1 || o.ClientLoops < 1 || o.RedisScale <= 0 {
		errs = append(errs, errors.New("connection counts, client loops and the redis scale must be positive"))
	}
	if o.Bin == "" {
		errs = append(errs, errors.New("no airsock binary"))
	}
	for _, b := range o.Backends {
		if name, ok := cServers[b]; ok {
			if _, err := os.Stat(filepath.Join(o.CDir, name)); o.CDir == "" || err != nil {
				errs = append(errs, fmt.Errorf("backend %s needs %s in --c-dir (bench/c/build.sh DIR builds it)", b, name))
			}
		}
	}
	for _, f := range o.RateFractions {
		if f <= 0 || f > 1 {
			errs = append(errs, fmt.Errorf("rate fraction %v not in (0, 1]", f))
		}
	}
	if o.Perf != "" {
		p, err := exec.LookPath(o.Perf)
		if err != nil {
			p = "" // Run says that syscalls are not counted
		}
		o.Perf = p
	}
	if p, err := exec.LookPath(o.Taskset); err != nil {
		errs = append(errs, fmt.Errorf("taskset is needed to pin the processes: %w", err))
	} else {
		o.Taskset = p
	}
	if slices.Contains(o.Scenarios, "redis") {
		if p, err := exec.LookPath(o.RedisBenchmark); err != nil {
			errs = append(errs, fmt.Errorf("the redis scenario needs redis-benchmark (apt-get install redis-tools), or leave it out: %w", err))
		} else {
			o.RedisBenchmark = p
		}
		if o.RedisServer != "" {
			if p, err := exec.LookPath(o.RedisServer); err != nil {
				errs = append(errs, fmt.Errorf("redis-server not found (apt-get install redis-server, or --redis-server ''): %w", err))
			} else {
				o.RedisServer = p
			}
		}
	}
	return errors.Join(errs...)
}
