package proto

import (
	"errors"
	"io"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Importing gnet (to check that gnet.Conn is a Stream) starts the
	// default ants pool's two housekeeping goroutines at init.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"))
}

// memStream is an in-memory Stream. Discard shifts the remaining bytes
// down over the discarded ones, so a server that kept a peeked slice past
// Discard (a store that did not copy, say) reads garbage and fails.
type memStream struct {
	in         []byte
	out        []byte
	high       int // Writable's mark; 0: always writable
	reserved   int // largest ReserveInbound
	reserveMax int // ReserveInbound refuses more; 0: no limit
	limit      int // InboundLimit before a reservation; 0: 64 KiB
}

func (m *memStream) feed(p []byte) { m.in = append(m.in, p...) }

func (m *memStream) InboundBuffered() int { return len(m.in) }

func (m *memStream) Peek(n int) ([]byte, error) {
	if n <= 0 {
		n = len(m.in)
	}
	if n > len(m.in) {
		return nil, io.ErrShortBuffer
	}
	return m.in[:n], nil
}

func (m *memStream) Discard(n int) (int, error) {
	if n <= 0 || n > len(m.in) {
		n = len(m.in)
	}
	rest := copy(m.in, m.in[n:])
	clear(m.in[rest:]) // scribble over what was discarded
	m.in = m.in[:rest]
	return n, nil
}

func (m *memStream) Write(p []byte) (int, error) {
	m.out = append(m.out, p...)
	return len(p), nil
}

// Writable reports whether out is below high (0: no mark).
func (m *memStream) Writable() bool { return m.high == 0 || len(m.out) < m.high }

// ReserveInbound records the largest room asked for; it refuses past
// reserveMax when that is set.
func (m *memStream) ReserveInbound(n int) error {
	if m.reserveMax > 0 && n > m.reserveMax {
		return errNoRoomTest
	}
	m.reserved = max(m.reserved, n)
	return nil
}

// InboundLimit is what was reserved, at least limit (0: 64 KiB, the
// loop's default MaxInbound).
func (m *memStream) InboundLimit() int {
	if m.limit == 0 {
		return max(m.reserved, 64<<10)
	}
	return max(m.reserved, m.limit)
}

var errNoRoomTest = errors.New("test: no room")

// serveAll feeds input to a fresh stream and serves it once.
func serveAll(srv Server, input string) (string, error) {
	m := &memStream{}
	m.feed([]byte(input))
	err := srv.NewSession().Serve(m)
	return string(m.out), err
}

// takeOut returns and clears what the server wrote.
func (m *memStream) takeOut() []byte {
	out := m.out
	m.out = nil
	return out
}
