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
			err = writeReport(opts.Out, results, mc, opts)
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
		// The quick defaults, with the flags given applied on top again.
		opts = DefaultOptions(true)
		qs := bindFlags(&opts, new(bool), new(string), io.Discard)
		fs.Visit(func(f *flag.Flag) { qs.Set(f.Name, f.Value.String()) })
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
	fs.BoolVar(quick, "quick", false, "a reduced matrix, about 3 minutes (2 rounds, fewer cells, shorter runs)")
	fs.StringVar(report, "report", "", "only rewrite tables and plots from this runs.jsonl")
	fs.StringVar(&o.Out, "out", o.Out, "results directory")
	fs.StringVar(&o.Bin, "bin", "", "airsock binary to run (default: this one)")
	fs.Var((*stringList)(&o.Scenarios), "scenarios", "comma-separated scenarios: "+strings.Join(ScenarioNames(), ","))
	fs.Var((*stringList)(&o.Backends), "backends", "comma-separated airsock serve backends, in table order")
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
	fs.Var((*intList)(&o.Conns), "conns", "throughput: connection counts")
	fs.Var((*intList)(&o.Sizes), "sizes", "throughput: message sizes")
	fs.Var((*intList)(&o.Depths), "depths", "throughput: pipeline depths")
	fs.Var((*floatList)(&o.RateFractions), "rates", "latency: rates as fractions of the slowest backend's peak")
	fs.DurationVar(&o.LatencyDuration, "latency-duration", o.LatencyDuration, "measured time of each latency run")
	fs.IntVar(&o.IdleConns, "idle-conns", o.IdleConns, "memory: idle connections")
	fs.Var((*stringList)(&o.Sources), "source", "local IPs the idle and churn clients dial from (e.g. 127.0.0.1,127.0.0.2)")
	fs.IntVar(&o.ChurnConns, "churn-conns", o.ChurnConns, "churn: connections in flight at once")
	fs.StringVar(&o.RedisServer, "redis-server", o.RedisServer, "redis-server binary for the reference ('' to skip it)")
	fs.StringVar(&o.RedisBenchmark, "redis-benchmark", o.RedisBenchmark, "redis-benchmark binary")
	fs.Float64Var(&o.RedisScale, "redis-scale", o.RedisScale, "redis: multiplies each invocation's request count")
	return fs
}

// stringList is a comma-separated flag.Value.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error {
	*l = nil
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
		}
	}
	return nil
}

// intList is a comma-separated flag.Value of positive integers.
type intList []int

func (l *intList) String() string {
	var s []string
	for _, v := range *l {
		s = append(s, strconv.Itoa(v))
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(s string) error {
	*l = nil
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return fmt.Errorf("%q is not a positive integer", f)
		}
		*l = append(*l, v)
	}
	return nil
}

// floatList is a comma-separated flag.Value of numbers.
type floatList []float64

func (l *floatList) String() string {
	var s []string
	for _, v := range *l {
		s = append(s, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return strings.Join(s, ",")
}

func (l *floatList) Set(s string) error {
	*l = nil
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", f)
		}
		*l = append(*l, v)
	}
	return nil
}
