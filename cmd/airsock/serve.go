package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/airsock/airsock/internal/backend"
	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
)

// runServe is `airsock serve`: it serves a protocol until ctx ends, then
// drains the connections and returns 0.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "serve [flags]", stderr)
	protoName := fs.String("proto", "echo", "protocol: "+strings.Join(proto.Names(), ", "))
	backendName := fs.String("backend", "loop", "server implementation: "+strings.Join(backend.Names(), ", "))
	addr := fs.String("addr", "127.0.0.1:8087", "TCP address to listen on, or UDP with --udp (port 0: any free port)")
	udp := fs.Bool("udp", false, "serve over UDP: echo each datagram to its sender (--proto echo; backends "+strings.Join(backend.UDPNames(), ", ")+")")
	loops := fs.Int("loops", runtime.NumCPU(), "event loops (the net backend ignores it)")
	statsEvery := fs.Duration("stats", 0, "print a stats line this often; 0: only on SIGUSR1")
	grace := fs.Duration("grace", 5*time.Second, "on SIGINT/SIGTERM (and after a hand-over), how long connections may take to drain once closed")
	drainWait := fs.Duration("drain-wait", 0, "on SIGINT/SIGTERM and after a hand-over, first stop accepting and let the clients close their connections for up to this long (loop, serversocket); 0: close them at once")
	handoverMode := fs.String("handover", "fds", "on SIGUSR2, start a successor and hand over: fds (it inherits the listening sockets) or rebind (it binds the address anew with --reuseport-join: may lose queued connections; docs/operations.md)")
	handoverTimeout := fs.Duration("handover-timeout", 30*time.Second, "how long a successor may take to report serving before it is killed and this server serves on")
	listenFDs := fs.Bool("listen-fds", false, "serve the listening sockets systemd passes (LISTEN_FDS, LISTEN_PID; socket activation) instead of --addr; taken without the flag when LISTEN_PID is this process")
	maxBulk := fs.Int("max-bulk", proto.DefaultMaxBulk, "RESP: largest bulk string accepted, bytes")
	maxArray := fs.Int("max-array", proto.DefaultMaxArgs, "RESP: most elements in a request array")
	maxInline := fs.Int("max-inline", proto.DefaultMaxInline, "RESP: longest inline command accepted, bytes")
	idle := fs.Duration("idle-timeout", 0, "close a connection that moved no byte for this long (redis: timeout); 0: never (not gnet, nbio)")
	maxInbound := fs.Int("max-inbound", 64<<10, "unconsumed input held per connection before reading pauses, bytes; larger requests reserve room (loop, serversocket)")
	writeHigh := fs.Int("write-high", 64<<10, "pending output per connection at which pipelined requests wait, bytes")
	writeLow := fs.Int("write-low", 32<<10, "pending output at which they go on, bytes (below --write-high)")
	maxConns := fs.Int("max-conns", 0, "most open connections; newcomers wait in the backlog (redis: maxclients); 0: no cap (not gnet, nbio)")
	ioName := fs.String("io", loop.BackendAuto, "the loop's I/O backend (loop and serversocket): auto, epoll, kqueue or io_uring; AIRSOCK_IO overrides auto")
	udpOffload := fs.Bool("udp-offload", true, "--udp on loop and serversocket: UDP segmentation offload on Linux (GSO: runs of same-sized replies to one peer leave as one send; GRO: coalesced arrivals are cut); false: one by one")
	join := fs.Bool("reuseport-join", false, "share a port another process already serves with SO_REUSEPORT (a hand-over); by default a taken port is refused")
	tlsCert := fs.String("tls-cert", "", "serve TLS with this certificate (PEM; with --tls-key) on loop, serversocket (and their -uring forms) and net; not gnet")
	tlsKey := fs.String("tls-key", "", "the private key of --tls-cert (PEM)")
	tlsSelf := fs.Bool("tls-self-signed", false, "serve TLS with a certificate made at start for localhost, 127.0.0.1 and ::1 (a demo); its PEM goes to --tls-self-signed-out if set")
	tlsSelfOut := fs.String("tls-self-signed-out", "", "write the --tls-self-signed certificate here (PEM), for a client's --tls-ca")
	cpuProfile := fs.String("cpuprofile", "", "write a pprof CPU profile of the whole run to this file")
	heapProfile := fs.String("heapprofile", "", "on each SIGUSR1, before the stats line, write a pprof heap profile (after a collection) to this file")
	proxyMode := fs.String("proxy-protocol", "off", "read a PROXY protocol header (v1, v2) from balancers in front (loop, serversocket): off, optional or required")
	proxyTrusted := fs.String("proxy-trusted", "127.0.0.0/8,::1/128", "networks whose connections may send a PROXY header (comma-separated CIDRs); a header from elsewhere is refused")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9100): the loop's and serversocket's figures, Go's and the process's")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if err := errors.Join(noArgs(fs),
		oneOf("proto", *protoName, proto.Names()...),
		oneOf("backend", *backendName, backend.Names()...),
		oneOf("io", *ioName, ioBackends...),
		oneOf("proxy-protocol", *proxyMode, "off", "optional", "required")); err != nil {
		return usageError(fs, "%v", err)
	}
	if *ioName != loop.BackendAuto && !backend.OnLoop(*backendName) {
		return usageError(fs, "--io applies to the loop and serversocket backends, not %s", *backendName)
	}
	if *loops < 1 || *statsEvery < 0 || *grace < 0 || *maxBulk < 1 || *maxArray < 1 || *maxInline < 1 {
		return usageError(fs, "--loops and the RESP limits must be at least 1, --stats and --grace not negative")
	}
	if err := oneOf("handover", *handoverMode, "fds", "rebind"); err != nil || *drainWait < 0 || *handoverTimeout <= 0 {
		return usageError(fs, "--handover is fds or rebind, --drain-wait not negative, --handover-timeout positive")
	}
	if *idle < 0 || *maxInbound < 1 || *writeHigh < 1 || *writeLow < 1 || *writeLow >= *writeHigh || *maxConns < 0 {
		return usageError(fs, "--max-inbound, --write-high and --write-low must be at least 1 with --write-low below --write-high; --idle-timeout and --max-conns not negative")
	}
	if *udp {
		if err := udpUsage(fs, *protoName, *backendName); err != nil {
			return usageError(fs, "%v", err)
		}
	}
	limits := backend.Limits{IdleTimeout: *idle, WriteHighWater: *writeHigh, WriteLowWater: *writeLow, MaxConns: *maxConns, JoinReusePort: *join}
	if *udp { // the connection bounds mean nothing to datagrams
		limits = backend.Limits{JoinReusePort: *join}
	}
	if backend.OnLoop(*backendName) { // the peers cannot bound their input; they are told nothing rather than refused
		if !*udp {
			limits.MaxInbound = *maxInbound
		}
		if *ioName != loop.BackendAuto {
			limits.IO = *ioName
		}
		limits.NoUDPOffload = !*udpOffload
	}

	pp, err := proxyFlags(*proxyMode, *proxyTrusted, *udp)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	limits.ProxyProtocol = pp
	tlsCfg, tlsLine, err := serveTLSConfig(*tlsCert, *tlsKey, *tlsSelf, *tlsSelfOut, *udp)
	if err != nil {
		return usageError(fs, "%v", err)
	}

	srv, err := proto.NewServer(*protoName, proto.Config{MaxBulk: *maxBulk, MaxArgs: *maxArray, MaxInline: *maxInline})
	if err != nil {
		return usageError(fs, "%v", err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "airsock serve: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "airsock serve: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	inherited, from, err := inheritedFiles(*listenFDs)
	if err != nil {
		fmt.Fprintf(stderr, "airsock serve: %v\n", err)
		return 1
	}
	if a, ok := os.LookupEnv(rebindAddrEnv); ok && from == "" { // a --handover rebind successor
		*addr, limits.JoinReusePort, from = a, true, "rebind"
	}
	os.Unsetenv(rebindAddrEnv)
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	s, err := backend.Start(startCtx, *backendName, backend.Config{Addr: *addr, Loops: *loops, Proto: srv, Limits: limits, UDP: *udp, TLS: tlsCfg, Inherit: inherited})
	cancel()
	closeFiles(inherited) // the server has its own descriptors
	if err != nil {
		fmt.Fprintf(stderr, "airsock serve: %v\n", err)
		return 1
	}
	// Listen for SIGUSR1 before saying we listen: from then on the signal
	// must print stats, not kill the process.
	usr1, usr2 := make(chan os.Signal, 1), make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	signal.Notify(usr2, syscall.SIGUSR2)
	defer signal.Stop(usr1)
	defer signal.Stop(usr2)
	ioLine := ""
	if used := backend.IOBackend(s); used != "" {
		ioLine = " io=" + used
	}
	udpWord := ""
	if *udp {
		udpWord = " udp"
	}
	if tlsLine != "" {
		udpWord = " tls"
	}
	fmt.Fprintf(stdout, "listening on %s (backend=%s proto=%s%s loops=%d%s)\n", s.Addr(), *backendName, *protoName, udpWord, *loops, ioLine)
	if tlsLine != "" {
		fmt.Fprintln(stdout, tlsLine)
	}
	var m *metricsServer
	if *metricsAddr != "" {
		mf := inheritedMetrics()
		m, err = startMetrics(*metricsAddr, mf, s, stderr)
		if mf != nil {
			mf.Close() // the server has its own descriptor
		}
		if err != nil {
			fmt.Fprintf(stderr, "airsock serve: %v\n", err)
			s.Shutdown(context.Background())
			return 1
		}
		defer m.stop()
		fmt.Fprintf(stdout, "metrics on %s\n", m.url)
	}
	switch from {
	case "rebind":
		fmt.Fprintf(stdout, "serving the port joined with SO_REUSEPORT (hand-over by rebind) as pid %d\n", os.Getpid())
	case "":
	default:
		fmt.Fprintf(stdout, "serving %d inherited listening sockets (from %s) as pid %d\n", len(inherited), from, os.Getpid())
	}
	if err := reportServing(); err != nil {
		fmt.Fprintf(stderr, "airsock serve: %v\n", err)
	}
	var ho *handover // a successor starting
	var hoDone <-chan error
	var tick <-chan time.Time
	if *statsEvery > 0 {
		t := time.NewTicker(*statsEvery)
		defer t.Stop()
		tick = t.C
	}
	sl := statsLine{last: s.Stats(), at: time.Now(), udp: *udp}
	for {
		select {
		case <-tick:
			fmt.Fprintln(stdout, sl.next(s.Stats()))
		case <-usr1:
			if *heapProfile != "" {
				if err := writeHeapProfile(*heapProfile); err != nil {
					fmt.Fprintf(stderr, "airsock serve: %v\n", err)
				}
			}
			fmt.Fprintln(stdout, sl.next(s.Stats()))
		case <-usr2:
			if ho != nil {
				fmt.Fprintln(stderr, "airsock serve: a hand-over is under way; SIGUSR2 ignored")
				continue
			}
			ho = startHandover(s, m, *handoverMode, *handoverTimeout)
			hoDone = ho.done
		case err := <-hoDone:
			if err != nil {
				fmt.Fprintf(stderr, "airsock serve: hand-over failed, serving on: %v\n", err)
				ho, hoDone = nil, nil
				continue
			}
			fmt.Fprintf(stderr, "airsock serve: pid %d serves; pid %d stops accepting and drains\n", ho.pid, os.Getpid())
			if m != nil {
				m.stop() // the successor answers the scrapes from now on
			}
			retire(s, *drainWait, *grace, stderr)
			fmt.Fprintln(stdout, sl.next(s.Stats()))
			return 0
		case <-ctx.Done():
			retire(s, *drainWait, *grace, stderr)
			fmt.Fprintln(stdout, sl.next(s.Stats()))
			return 0
		}
	}
}

// udpUsage checks what --udp serves: echo, on a backend that can.
func udpUsage(fs *flag.FlagSet, protoName, backendName string) error {
	if protoName != "echo" {
		return fmt.Errorf("--udp serves only --proto echo, not %s", protoName)
	}
	if !slices.Contains(backend.UDPNames(), backendName) {
		return fmt.Errorf("backend %s cannot serve UDP (--udp): want one of %s", backendName, strings.Join(backend.UDPNames(), ", "))
	}
	return nil
}

// statsLine formats backend stats with the rates since the previous line:
// connections and bytes, or for UDP datagrams and bytes.
type statsLine struct {
	last backend.Stats
	at   time.Time
	udp  bool
}

func (l *statsLine) next(st backend.Stats) string {
	now := time.Now()
	secs := now.Sub(l.at).Seconds()
	rate := func(v, last int64) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(v-last) / secs
	}
	inRate, outRate := rate(st.BytesIn, l.last.BytesIn)/1e6, rate(st.BytesOut, l.last.BytesOut)/1e6
	dgIn, dgOut := rate(st.DatagramsIn, l.last.DatagramsIn), rate(st.DatagramsOut, l.last.DatagramsOut)
	l.last, l.at = st, now
	heap, stacks := memoryInUse()
	if l.udp {
		return fmt.Sprintf("stats: datagrams in=%d out=%d dropped=%d bytes in=%d out=%d (last %.1fs: in %.0f/s, out %.0f/s, in %.2f MB/s, out %.2f MB/s) heap=%d stacks=%d",
			st.DatagramsIn, st.DatagramsOut, st.Dropped, st.BytesIn, st.BytesOut, secs, dgIn, dgOut, inRate, outRate, heap, stacks)
	}
	return fmt.Sprintf("stats: conns open=%d accepted=%d bytes in=%d out=%d (last %.1fs: in %.2f MB/s, out %.2f MB/s) heap=%d stacks=%d",
		st.Open, st.Accepted, st.BytesIn, st.BytesOut, secs, inRate, outRate, heap, stacks)
}

// memoryInUse reads the live heap objects' and goroutine stacks' bytes from
// runtime/metrics, for memory-per-connection figures beside the RSS.
func memoryInUse() (heap, stacks uint64) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	metrics.Read(samples)
	if samples[0].Value.Kind() == metrics.KindUint64 {
		heap = samples[0].Value.Uint64()
	}
	if samples[1].Value.Kind() == metrics.KindUint64 {
		stacks = samples[1].Value.Uint64()
	}
	return heap, stacks
}

// writeHeapProfile writes the live heap, after a collection, to path (for
// serve's SIGUSR1: what idle connections hold, for instance).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
