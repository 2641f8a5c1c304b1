package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/airsock/airsock/internal/loadgen"
	"github.com/airsock/airsock/internal/report"
	"github.com/airsock/airsock/loop"
)

// loadDone, when set (by tests), receives the results of every load run.
var loadDone func(*loadgen.Results)

// runLoad is `airsock load`. It returns 1 when a reply fails verification
// or the run cannot be made, 0 otherwise (also after Ctrl-C).
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("load", "load [flags]", stderr)
	var cfg loadgen.Config
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8087", "server address, host:port")
	fs.StringVar(&cfg.Proto, "proto", "echo", "protocol: echo, resp, or discard (open loop only)")
	respCmd := fs.String("resp-cmd", "ping", "RESP workload: ping, set, get or setget")
	fs.IntVar(&cfg.Conns, "c", 50, "connections")
	fs.IntVar(&cfg.Depth, "depth", 1, "requests in flight per connection (closed loop)")
	fs.IntVar(&cfg.Size, "size", 16, "message size, or RESP SET value size, in bytes")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "time before measuring (connecting counts)")
	fs.Float64Var(&cfg.ConnectRate, "connect-rate", 0, "connections dialled per second; 0: all at once")
	sources := fs.String("source", "", "comma-separated local IPs to dial from, round-robin (e.g. 127.0.0.1,127.0.0.2)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: total requests per second; 0: closed loop")
	fs.BoolVar(&cfg.Verify, "verify", false, "check every byte of every reply; a bad or lost byte exits 1")
	fs.IntVar(&cfg.ReconnectEvery, "reconnect-every", 0, "connection churn: each connection closes after this many requests, once answered, and a new one takes over its share; 0: connections last the run")
	jsonOut := fs.Bool("json", false, "print the summary as one JSON object")
	hlogPath := fs.String("hlog", "", "write an HdrHistogram interval log (one interval a second) to this file")
	fs.IntVar(&cfg.Loops, "loops", runtime.NumCPU(), "event loops of the generator")
	fs.StringVar(&cfg.IO, "io", loop.BackendAuto, "the generator's I/O backend: auto, epoll, kqueue or io_uring; AIRSOCK_IO overrides auto")
	fs.BoolVar(&cfg.UDP, "udp", false, "UDP echo: -c flows, each its own connected socket, --depth datagrams of --size bytes (at least 16) in flight each, or --rate; every datagram verified, and lost, reordered, duplicated and corrupt ones counted")
	fs.BoolVar(&cfg.UDPOffload, "udp-offload", false, "--udp: let a flow's datagrams in flight leave as one segmented send (UDP GSO, Linux), as a bulk sender would; by default each leaves on its own, as from independent clients")
	useTLS := fs.Bool("tls", false, "connect with TLS; the server's certificate is verified against --tls-ca, or not at all without it (a load test measures; it does not check identities)")
	tlsCA := fs.String("tls-ca", "", "--tls: trust only the certificates in this PEM file (e.g. serve's --tls-self-signed-out)")
	fs.DurationVar(&cfg.LossTimeout, "loss-timeout", time.Second, "--udp: a datagram not back within this is lost (and, closed loop, replaced)")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if err := errors.Join(noArgs(fs),
		oneOf("proto", cfg.Proto, "echo", "resp", "discard", "amf-echo"),
		oneOf("resp-cmd", *respCmd, "ping", "set", "get", "setget"),
		oneOf("io", cfg.IO, ioBackends...)); err != nil {
		return usageError(fs, "%v", err)
	}
	if cfg.Proto == "resp" {
		cfg.RESPOp = *respCmd
	}
	switch {
	case cfg.Conns < 1, cfg.Depth < 1, cfg.Size < 1, cfg.Loops < 1:
		return usageError(fs, "-c, --depth, --size and --loops must be at least 1")
	case cfg.Duration <= 0, cfg.Warmup < 0, cfg.Rate < 0, cfg.ConnectRate < 0, cfg.ReconnectEvery < 0:
		return usageError(fs, "--duration must be positive; --warmup, --rate, --connect-rate and --reconnect-every not negative")
	case cfg.UDP && cfg.ReconnectEvery > 0:
		return usageError(fs, "--reconnect-every churns TCP connections; --udp has none")
	case cfg.UDP && (cfg.Proto != "echo" || cfg.Size < 16 || *sources != "" || cfg.LossTimeout <= 0):
		return usageError(fs, "--udp needs --proto echo, --size of at least 16 (flow, number and check word) and a positive --loss-timeout, and takes no --source")
	}
	if cfg.Proto == "discard" && cfg.Rate == 0 {
		return usageError(fs, "--proto discard gets no replies: give an open-loop --rate")
	}
	if *sources != "" {
		cfg.Sources = strings.Split(*sources, ",")
	}
	if *tlsCA != "" && !*useTLS || *useTLS && cfg.UDP {
		return usageError(fs, "--tls-ca needs --tls, and --tls is for TCP, not --udp")
	}
	if *useTLS {
		var err error
		if cfg.TLS, err = loadTLSConfig(*tlsCA); err != nil {
			return usageError(fs, "%v", err)
		}
	}

	var hlog *hlogFile
	if *hlogPath != "" {
		var err error
		if hlog, err = createHlog(*hlogPath, strings.Join(append([]string{"airsock load"}, args...), " ")); err != nil {
			fmt.Fprintf(stderr, "airsock load: %v\n", err)
			return 1
		}
	}
	cfg.Progress = func(s *loadgen.Snapshot) {
		if !s.Final {
			line := progressLine(s)
			if cfg.UDP {
				line += fmt.Sprintf("  lost %d", s.Lost)
			}
			fmt.Fprintln(stderr, line)
		}
		if hlog != nil && !s.Warmup {
			hlog.interval(s)
		}
	}

	r, err := loadgen.Run(ctx, cfg)
	if r == nil {
		hlog.close(nil)
		fmt.Fprintf(stderr, "airsock load: %v\n", err)
		return 1
	}
	if loadDone != nil {
		loadDone(r)
	}
	sum := r.Summary(cfg.Proto)
	if herr := hlog.close(&sum); herr != nil {
		fmt.Fprintf(stderr, "airsock load: %v\n", herr)
	}
	if *jsonOut {
		report.Format(stdout, report.JSON, sum)
	} else {
		report.Format(stdout, report.Table, sum)
		fmt.Fprintln(stdout, countsLine(r))
	}
	if r.Stopped {
		fmt.Fprintln(stderr, "airsock load: stopped early")
	}
	if err != nil {
		fmt.Fprintf(stderr, "airsock load: %v\n", err)
		return 1
	}
	return 0
}

// progressLine is the once-a-second report on stderr.
func progressLine(s *loadgen.Snapshot) string {
	phase := ""
	if s.Warmup {
		phase = "  (warmup)"
	}
	return fmt.Sprintf("%6.1fs  conns %d  msgs/s %.0f  MB/s %.2f  p50 %s  p99 %s  errors %d  cpu %.0f%%%s",
		s.Elapsed.Seconds(), s.Connected, s.MsgsPerSec, s.MBPerSec,
		latency(s.P50), latency(s.P99), s.Errors, s.CPUPercent, phase)
}

// latency formats d with about three significant digits; "-" for none.
func latency(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fus", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// countsLine gives the counts the summary table has no column for; for UDP,
// the datagram counts and the loss too.
func countsLine(r *loadgen.Results) string {
	line := fmt.Sprintf("conns %d (connect errors %d)  sent %d  received %d  lost %d  late %d  verified %d bytes",
		r.Conns, r.ConnectErrors, r.Sent, r.Received, r.Lost, r.Late, r.VerifiedBytes)
	if r.UDP {
		line += fmt.Sprintf("\ndatagrams: loss %.3f%%  reordered %d  duplicated %d  late replies %d (in lost)  corrupt %d",
			r.LossPercent(), r.Reordered, r.Duplicated, r.LateReplies, r.Corrupt)
	}
	return line
}

// hlogFile is an interval log being written by a load run.
type hlogFile struct {
	f   *os.File
	log *report.LogWriter
	err error // first write error
}

func createHlog(path, comment string) (*hlogFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	lw, err := report.NewLogWriter(f, time.Now(), comment)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &hlogFile{f: f, log: lw}, nil
}

func (h *hlogFile) interval(s *loadgen.Snapshot) {
	if h.err == nil {
		h.err = h.log.WriteInterval(s.Counts, s.Start, s.End)
	}
}

// close appends the summary (if any) and closes the file; a nil h does
// nothing.
func (h *hlogFile) close(sum *report.Summary) error {
	if h == nil {
		return nil
	}
	if sum != nil && h.err == nil {
		h.err = h.log.WriteSummary(*sum)
	}
	if err := h.f.Close(); h.err == nil {
		h.err = err
	}
	if h.err != nil {
		return fmt.Errorf("%s: %w", h.f.Name(), h.err)
	}
	return nil
}
