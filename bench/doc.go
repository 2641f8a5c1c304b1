// Package bench compares airsock's two server APIs (package loop, and the
// AIR-style package serversocket above it) with gnet v2, nbio and Go's net
// package doing exactly the same work: the protocols of internal/proto served by the
// backends of internal/backend.
//
// Two views, both following the rules of the project's bench protocol:
//
//   - echo_test.go: in-process testing.B benchmarks, every backend on
//     127.0.0.1 driven by one pipelined client on an airsock event loop,
//     every reply byte verified. One b.N is one message round trip.
//     `go test -run '^$' -bench . -benchtime 1x ./bench` is the CI smoke
//     pass; `benchstat -col /backend` compares the backends.
//   - run.sh: the process-per-backend matrix (`airsock bench`, package
//     internal/benchmatrix), server and load generator pinned to their own
//     cores, several rounds; results and their tables are in results/ and
//     README.md.
//
// The package has no API; this file only documents it.
package bench
