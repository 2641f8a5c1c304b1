// Package proto holds the wire protocols airsock's CLI and benchmarks speak,
// written once over a small byte-stream interface so that every backend
// (airsock's loop, serversocket, gnet v2, Go's net package) does exactly the
// same work per message.
//
// The server side is a [Server]: its Serve method is called by the backend on
// the connection's goroutine whenever data arrives, with the connection seen as
// a [Stream]. It consumes every complete request, writes the replies, and
// leaves a partial request buffered for the next call. airsock's *loop.Conn and
// gnet.Conn satisfy Stream as they are; [ServeConn] adapts a net.Conn.
//
// Three protocols are provided: [Echo] and [Discard], which have no framing,
// and [RESP], a small Redis-compatible key-value server good enough for
// redis-cli and redis-benchmark.
//
// The client side is a [Client] codec per protocol, used by the load
// generator: it encodes request number seq of a connection and finds, and
// optionally verifies byte for byte, the matching reply. Request payloads are
// a deterministic pattern of the connection id and seq ([AppendPattern]), so a
// misrouted, reordered or corrupted byte is reported with its connection and
// offset ([MismatchError]).
//
// This package imports nothing of airsock's, so loop/ and the backends'
// adapters can import it without cycles.
package proto
