// Package benchmatrix is `airsock bench`: the side-by-side comparison of
// airsock's servers (the loop and serversocket backends, on epoll and, as
// loop-uring and serversocket-uring, on io_uring) with the peers gnet v2,
// nbio and Go's net package, the C floor servers of bench/c (c-epoll,
// c-uring) and, for RESP, redis-server, run the way the project's bench
// protocol asks. The default backends are serversocket, loop, loop-uring,
// gnet, nbio and net; loop and serversocket are served with --io epoll,
// since "auto" is io_uring on Linux.
//
// Every backend runs as its own process (`airsock serve --loops 1`,
// GOMAXPROCS=1, pinned with taskset to the server CPU) and the load
// generator (`airsock load`, or this package's own idle and churn clients,
// or redis-benchmark) is pinned to the other CPU. Each run gets a fresh
// server and a correctness pass with every reply byte verified before it is
// timed; backend order rotates each round; the CPU time of both processes
// over the measured window is read from /proc/PID/stat, memory from
// /proc/PID/status, and in the throughput scenario the server's syscalls
// and context switches by perf stat (perf.go) where perf is installed and
// may count the raw_syscalls tracepoint.
//
// Scenarios: closed-loop throughput (throughput.go), open-loop latency at
// fixed rates (latency.go), RSS per idle connection (memory.go, idle.go),
// connection churn (churn.go, churnclient.go), redis-benchmark against
// RESP (redis.go) and closed-loop UDP echo (udp.go: serve --udp against
// load --udp on the backends that serve UDP, measured as throughput is,
// with the loss beside). Results are written as they come (result.go): Go
// benchmark lines for benchstat and JSON lines with the rounds, from which
// report.go, targets.go and plots.go make the tables and charts.
//
// The package is Linux-only in practice (taskset, /proc); it builds
// everywhere. Main is the command's entry point; Run is the matrix itself.
package benchmatrix
