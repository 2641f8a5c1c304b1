// Package backend serves one of airsock's wire protocols (package
// internal/proto) on one of several server implementations, so that the CLI
// (airsock serve) and the benchmarks can put them side by side doing exactly
// the same work:
//
//   - "loop": airsock's own reactor, package loop;
//   - "gnet": github.com/panjf2000/gnet/v2;
//   - "nbio": github.com/lesismal/nbio;
//   - "net": Go's net package, one goroutine per connection;
//   - "serversocket": the AIR API of package serversocket, over loop;
//   - "loop-uring", "serversocket-uring": those two with the loop's
//     io_uring backend (loop.Config.Backend "io_uring"), where the others
//     take Limits.IO ("" is the loop's "auto").
//
// Every backend sets TCP_NODELAY, reads into a 64 KiB buffer, runs the
// protocol handler inline on the goroutine that read the bytes, and logs
// nothing per message. Each counts connections and bytes the same way, in
// per-shard atomic counters (Stats).
//
// Start finds a backend by its name in a plain map (registry.go); a new
// backend is one more entry there. With Config.UDP, the echo protocol is
// served over UDP datagrams instead (udp.go) by the backends of UDPNames,
// from a second map of the same shape; the others refuse it.
package backend
