package benchmatrix

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const usage = `usage: airsock bench [flags]          run the comparison matrix
       airsock bench idle [flags]     (internal) hold idle connections for the memory scenario
       airsock bench churn [flags]    (internal) connect, echo once, close, in a loop

Each backend runs as its own process ("airsock serve --loops 1", GOMAXPROCS=1,
taskset to --server-cpu); the load generator runs pinned to --client-cpu.
Fresh server per run, backend order rotated each round, a verified
correctness pass before each timed run. Results: matrix.txt (Go benchmark
format, for benchstat -col /backend), runs.jsonl, tables.md, plots, hlog/.

flags:
`

// Main is `airsock bench`: it runs the matrix, or with "idle" or "churn"
// first, one of the matrix's own client processes. It returns the exit
// code: 0 success, 1 failure, 2 bad usage. It blocks until done (or ctx
// ends); call it from one goroutine, typically main's. Only the idle
// client reads os.Stdin.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "idle":
			return runIdleClient(ctx, args[1:], os.Stdin, stdout, stderr)
		case "churn":
			return runChurnClient(ctx, args[1:], stdout, stderr)
		}
	}
	opts, report, code := parseFlags(args, stderr)
	if code >= 0 {
		return code
	}
	if report != "" {
		results, err := readResults(report)
		mc, merr := loadMachine(filepath.Join(filepath.Dir(report), "machine.json"))
		if merr != nil {
			mc = describeMachine() // an older run: describe this machine instead
		}
		if err == nil {
			err = writeReport(opts.Out, filepath.Join(filepath.Dir(report), "hlog"), results, mc, opts)
		}
		if err != nil {
			fmt.Fprintf(stderr, "airsock bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "tables and plots rewritten in %s\n", opts.Out)
		return 0
	}
	if err := Run(ctx, opts, stderr); err != nil {
		fmt.Fprintf(stderr, "airsock bench: %v\n", err)
		return 1
	}
	return 0
}

// parseFlags reads the matrix's flags over DefaultOptions (quick ones with
// --quick). It returns the options, the runs.jsonl to report from (if
// --report), and -1 to go on or the exit code.
func parseFlags(args []string, stderr io.Writer) (Options, string, int) {
	full := DefaultOptions(false)
	var quick bool
	var report string
	fs := bindFlags(&full, &quick, &report, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return full, "", 0
		}
		return full, "", 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "airsock bench: unexpected argument %q\n", fs.Arg(0))
		return full, "", 2
	}
	opts := full
	if quick {
		// The quick defaults, with the same flags applied on top: they
		// parsed once already, so they parse again.
		opts = DefaultOptions(true)
		bindFlags(&opts, new(bool), new(string), io.Discard).Parse(args)
	}
	if report != "" && !isFlagSet(fs, "out") {
		opts.Out = filepath.Dir(report)
	}
	if opts.Bin == "" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "airsock bench: finding the airsock binary: %v (give --bin)\n", err)
			return opts, "", 1
		}
		opts.Bin = exe
	}
	return opts, report, -1
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func bindFlags(o *Options, quick *bool, report *string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.BoolVar(quick, "quick", false, "a reduced matrix, about 2.5 minutes (2 rounds, fewer cells, shorter runs)")
	fs.StringVar(report, "report", "", "only rewrite tables and plots from this runs.jsonl")
	fs.StringVar(&o.Out, "out", o.Out, "results directory")
	fs.StringVar(&o.Bin, "bin", "", "airsock binary to run (default: this one)")
	fs.StringVar(&o.CDir, "c-dir", "", "directory of the C reference servers (bench/c/build.sh DIR), for the backends c-epoll and c-uring")
	fs.Func("scenarios", "comma-separated scenarios "+listDefault(o.Scenarios), listOf(&o.Scenarios, word))
	fs.Func("backends", "comma-separated backends, in table order: airsock serve's (loop, loop-uring, serversocket, serversocket-uring, gnet, nbio, net), and c-epoll and c-uring (with --c-dir) "+listDefault(o.Backends), listOf(&o.Backends, word))
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "rounds of the throughput, latency and churn scenarios")
	fs.IntVar(&o.MemoryRounds, "memory-rounds", o.MemoryRounds, "rounds of the memory scenario")
	fs.IntVar(&o.RedisRounds, "redis-rounds", o.RedisRounds, "rounds of the redis scenario")
	fs.IntVar(&o.ServerCPU, "server-cpu", o.ServerCPU, "CPU the servers are pinned to")
	fs.IntVar(&o.ClientCPU, "client-cpu", o.ClientCPU, "CPU the load generators are pinned to")
	fs.IntVar(&o.ClientLoops, "client-loops", o.ClientLoops, "event loops of the load generator")
	fs.DurationVar(&o.VerifyTime, "verify-time", o.VerifyTime, "length of each correctness pass")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "warmup of each throughput and churn run")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "measured time of each throughput and churn run")
	fs.IntVar(&o.MinReplies, "min-replies", o.MinReplies, "replies a load run's window must hold; fewer: run again, longer")
	fs.DurationVar(&o.MaxWindow, "max-window", o.MaxWindow, "longest window a run short of --min-replies is retried with")
	fs.Func("conns", "throughput: connection counts "+listDefault(o.Conns), listOf(&o.Conns, positive))
	fs.Func("sizes", "throughput: message sizes "+listDefault(o.Sizes), listOf(&o.Sizes, positive))
	fs.Func("depths", "throughput: pipeline depths "+listDefault(o.Depths), listOf(&o.Depths, positive))
	fs.Func("rates", "latency: rates as fractions of the slowest backend's peak "+listDefault(o.RateFractions), listOf(&o.RateFractions, number))
	fs.DurationVar(&o.LatencyDuration, "latency-duration", o.LatencyDuration, "measured time of each latency run")
	fs.IntVar(&o.IdleConns, "idle-conns", o.IdleConns, "memory: idle connections")
	fs.Func("source", "local IPs the idle and churn clients dial from (e.g. 127.0.0.1,127.0.0.2)", listOf(&o.Sources, word))
	fs.IntVar(&o.ChurnConns, "churn-conns", o.ChurnConns, "churn: connections in flight at once")
	fs.StringVar(&o.RedisServer, "redis-server", o.RedisServer, "redis-server binary for the reference ('' to skip it)")
	fs.StringVar(&o.RedisBenchmark, "redis-benchmark", o.RedisBenchmark, "redis-benchmark binary")
	fs.StringVar(&o.Perf, "perf", o.Perf, "perf binary, to count the servers' syscalls per message in the throughput scenario ('' to skip it)")
	fs.Float64Var(&o.RedisScale, "redis-scale", o.RedisScale, "redis: multiplies each invocation's request count")
	fs.Func("udp-flows", "udp: flow counts "+listDefault(o.UDPFlows), listOf(&o.UDPFlows, positive))
	fs.Func("udp-sizes", "udp: datagram sizes, at least 16 "+listDefault(o.UDPSizes), listOf(&o.UDPSizes, positive))
	fs.BoolVar(&o.UDPBulk, "udp-bulk", o.UDPBulk, "udp: also run the cells of depth > 1 with a generator that segments each flow's datagrams in flight (load --udp-offload: UDP GSO), as bulk senders do; cells sender=gso")
	fs.Func("tls-conns", "tls: connection counts of the throughput cells "+listDefault(o.TLSConns), listOf(&o.TLSConns, positive))
	fs.Func("tls-sizes", "tls: message sizes of the throughput cells "+listDefault(o.TLSSizes), listOf(&o.TLSSizes, positive))
	fs.Func("udp-depths", "udp: datagrams in flight per flow "+listDefault(o.UDPDepths), listOf(&o.UDPDepths, positive))
	return fs
}

// listOf returns a flag.Func setter that replaces *dst with the
// comma-separated items of its argument, each read by parse; empty items
// are skipped.
func listOf[T any](dst *[]T, parse func(string) (T, error)) func(string) error {
	return func(s string) error {
		*dst = nil
		for f := range strings.SplitSeq(s, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			v, err := parse(f)
			if err != nil {
				return err
			}
			*dst = append(*dst, v)
		}
		return nil
	}
}

func word(s string) (string, error) { return s, nil }

func positive(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("%q is not a positive integer", s)
	}
	return v, nil
}

func number(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// listDefault is a list flag's default for its help text, which flag.Func
// cannot show by itself.
func listDefault[T any](def []T) string {
	return "(default " + strings.Trim(strings.ReplaceAll(fmt.Sprint(def), " ", ","), "[]") + ")"
}
