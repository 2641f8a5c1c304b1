// Package benchmatrix is `airsock bench`: the side-by-side comparison of
// airsock's servers (the loop and serversocket backends) with gnet v2, Go's
// net package and, for RESP, redis-server, run the way the project's bench
// protocol asks.
//
// Every backend runs as its own process (`airsock serve --loops 1`,
// GOMAXPROCS=1, pinned with taskset to the server CPU) and the load
// generator (`airsock load`, or this package's own idle and churn clients,
// or redis-benchmark) is pinned to the other CPU. Each run gets a fresh
// server and a correctness pass with every reply byte verified before it is
// timed; backend order rotates each round; the CPU time of both processes
// over the measured window is read from /proc/PID/stat, and memory from
// /proc/PID/status.
//
// Scenarios: closed-loop throughput (throughput.go), open-loop latency at
// fixed rates (latency.go), RSS per idle connection (memory.go, idle.go),
// connection churn (churn.go, churnclient.go) and redis-benchmark against
// RESP (redis.go). Results are written as they come (result.go): Go
// benchmark lines for benchstat and JSON lines with the rounds, from which
// report.go, targets.go and plots.go make the tables and charts.
//
// The package is Linux-only in practice (taskset, /proc); it builds
// everywhere. Main is the command's entry point; Run is the matrix itself.
package benchmatrix
