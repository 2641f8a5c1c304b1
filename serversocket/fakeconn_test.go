package serversocket

import (
	"bytes"
	"errors"
	"io"
)

// fakeConn is an in-memory connection: in is the unread input DataInput
// reads, out collects what DataOutput writes. It implements inbound and
// outbound exactly as their contracts say, and no io.StringWriter, so the
// copying string path is exercised.
type fakeConn struct {
	in  bytes.Buffer
	out bytes.Buffer
}

// newFake returns a fakeConn whose input holds in.
func newFake(in ...byte) *fakeConn {
	f := &fakeConn{}
	f.in.Write(in)
	return f
}

func (f *fakeConn) InboundBuffered() int { return f.in.Len() }

func (f *fakeConn) Peek(n int) ([]byte, error) {
	if n <= 0 {
		return f.in.Bytes(), nil
	}
	if n > f.in.Len() {
		return nil, io.ErrShortBuffer
	}
	return f.in.Bytes()[:n], nil
}

func (f *fakeConn) Discard(n int) (int, error) {
	if n > f.in.Len() {
		return 0, io.ErrShortBuffer
	}
	f.in.Next(n)
	return n, nil
}

func (f *fakeConn) Write(p []byte) (int, error) { return f.out.Write(p) }

// stringFake is a fakeConn that also takes strings directly, as the loop's
// Conn may.
type stringFake struct {
	fakeConn
	strings int // WriteString calls
}

func (f *stringFake) WriteString(s string) (int, error) {
	f.strings++
	return f.out.WriteString(s)
}

// errBroken is the cause brokenConn reports.
var errBroken = errors.New("broken connection")

// brokenConn fails every operation except InboundBuffered, like a
// connection torn down under the socket.
type brokenConn struct{ buffered int }

func (b brokenConn) InboundBuffered() int          { return b.buffered }
func (brokenConn) Peek(int) ([]byte, error)        { return nil, errBroken }
func (brokenConn) Discard(int) (int, error)        { return 0, errBroken }
func (brokenConn) Write(p []byte) (int, error)     { return 0, errBroken }
func (brokenConn) WriteString(string) (int, error) { return 0, errBroken }
