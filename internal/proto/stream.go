package proto

import (
	"errors"
	"fmt"
)

// Stream is the byte stream a protocol handler works on. airsock's *loop.Conn
// and gnet.Conn satisfy it as they are; ServeConn adapts a net.Conn. A Stream
// belongs to the goroutine running its connection's handler and is used only
// from there.
type Stream interface {
	// InboundBuffered returns how many received bytes are buffered.
	InboundBuffered() int
	// Peek returns the first n buffered bytes as one slice, without copying
	// when possible; n <= 0 means all. It returns (nil, io.ErrShortBuffer)
	// if n is more than is buffered. The slice is valid until Discard.
	Peek(n int) ([]byte, error)
	// Discard drops the first n buffered bytes (n <= 0: all).
	Discard(n int) (int, error)
	// Write buffers p; the backend flushes it after the handler returns.
	Write(p []byte) (int, error)
	// Writable reports whether the stream's pending output is below its
	// high mark. A protocol checks it between pipelined requests and, when
	// it is false, stops executing them and leaves the rest buffered: the
	// backend calls Serve again once the output has drained to its low
	// mark, so that one read of requests cannot queue unbounded replies.
	Writable() bool
}

// InboundReserver is implemented by streams whose inbound buffer is bounded
// (airsock's loop and serversocket backends). ReserveInbound(n) asks for
// room to hold n unconsumed bytes, for a request that cannot be executed
// before all of it has arrived; an error means there is no room now, and
// the protocol fails that request. InboundLimit returns how many
// unconsumed bytes stop the backend reading: a protocol that cannot tell a
// request's length from its first bytes (AMF) waits for more only while
// less than that is buffered. Streams that buffer without bound (net,
// gnet) need not implement it.
type InboundReserver interface {
	ReserveInbound(n int) error
	InboundLimit() int
}

// Server is a protocol: it makes the Session of each connection. One
// Server value is shared by every connection (a RESP keyspace, say), so
// NewSession may be called from any goroutine.
type Server interface {
	NewSession() Session
}

// Session is a protocol's state for one connection. Serve is called on the
// connection's goroutine each time data arrives, and again, with no new
// data, after it stopped because the stream was not Writable and the output
// has drained. It executes the complete requests buffered in s, writes the
// replies in order and leaves a partial request buffered (keeping where it
// got to, so that a request trickled in pieces costs work linear in its
// size). A non-nil error closes that connection only, after the replies
// already written are flushed.
type Session interface {
	Serve(s Stream) error
}

// ErrNoRoom is returned by Serve when a request needs more inbound room
// than the stream can reserve now (InboundReserver); the client was told
// so in the protocol's own error reply.
var ErrNoRoom = errors.New("proto: no room to buffer the request")

// ErrQuit is returned by Serve when the client asked to close the
// connection (RESP QUIT). It is a normal end, not a failure.
var ErrQuit = errors.New("proto: client sent QUIT")

// Names lists the protocols NewServer and NewClient know.
func Names() []string { return []string{"echo", "discard", "resp", "amf-echo"} }

// NewServer returns the server of the named protocol; cfg applies to
// "resp" only. It may be called from any goroutine.
func NewServer(name string, cfg Config) (Server, error) {
	switch name {
	case "echo":
		return Echo{}, nil
	case "discard":
		return Discard{}, nil
	case "resp":
		return NewRESP(cfg), nil
	case "amf-echo":
		return AMFEcho{}, nil
	}
	return nil, fmt.Errorf("proto: unknown protocol %q (want one of %q)", name, Names())
}

// NewClient returns a client codec of the named protocol for one
// connection. It may be called from any goroutine.
func NewClient(name string, cfg ClientConfig) (Client, error) {
	switch name {
	case "echo":
		return NewEchoClient(cfg)
	case "discard":
		return NewDiscardClient(cfg)
	case "resp":
		return NewRESPClient(cfg)
	case "amf-echo":
		return NewAMFClient(cfg)
	}
	return nil, fmt.Errorf("proto: unknown protocol %q (want one of %q)", name, Names())
}
