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
}

// Server handles the requests of a protocol. Serve is called on a
// connection's goroutine each time data arrives; one Server value is shared
// by every connection, so Serve may run concurrently for different streams.
// Serve handles every complete request buffered in s, writes the replies in
// order and leaves a partial request buffered. A non-nil error closes that
// connection only, after the replies already written are flushed.
type Server interface {
	Serve(s Stream) error
}

// ErrQuit is returned by Serve when the client asked to close the
// connection (RESP QUIT). It is a normal end, not a failure.
var ErrQuit = errors.New("proto: client sent QUIT")

// Names lists the protocols NewServer and NewClient know.
func Names() []string { return []string{"echo", "discard", "resp"} }

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
	}
	return nil, fmt.Errorf("proto: unknown protocol %q (want one of %q)", name, Names())
}
