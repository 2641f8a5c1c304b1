package proto

import (
	"errors"
	"fmt"
)

// Client is the client side of a protocol for one connection, used by the
// load generator on that connection's goroutine only.
//
// AppendRequest appends request number seq to dst. ParseReply looks at the
// start of the received bytes buf for the reply to the oldest request not
// yet answered: n is the reply's length and ok whether it is complete; the
// caller then drops n bytes and calls again. Replies come in request order.
// A non-nil error means the reply is malformed or, when verifying, differs
// from the expected one; it is a *MismatchError naming the connection and
// the offset of the first bad byte.
type Client interface {
	AppendRequest(dst []byte, seq uint64) []byte
	ParseReply(buf []byte) (n int, ok bool, err error)
}

// ClientConfig sets up a client codec for one connection.
type ClientConfig struct {
	// Conn identifies the connection; it is mixed into every payload.
	Conn uint64
	// Size is the payload size: the echo/discard message, the RESP SET
	// value. Echo and discard need at least 1.
	Size int
	// Verify checks every byte of every reply against the expected one.
	// Without it the codec only finds where replies end.
	Verify bool
	// Op is the RESP workload: "ping" (default), "set", "get", or
	// "setget" (half SET, half GET, chosen by a hash of seq).
	Op string
	// Keys is how many keys each RESP connection uses (default 1000).
	// Connection c uses keys key:<c*Keys> .. key:<c*Keys+Keys-1>, so that
	// a GET can be checked against what this connection last SET.
	Keys int
}

// MismatchError reports a reply that is malformed or not the expected one.
type MismatchError struct {
	Conn         uint64 // connection
	Seq          uint64 // request whose reply is wrong
	Offset       int    // offset of the first bad byte in the reply
	StreamOffset int64  // offset of that byte in the connection's inbound stream
	Want         string // what was expected there
	Got          []byte // up to 32 received bytes from Offset on
}

// Error names the connection, request and offset of the bad byte; any
// goroutine may call it.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("proto: conn %d seq %d: bad reply byte at offset %d (stream offset %d): want %s, got %q",
		e.Conn, e.Seq, e.Offset, e.StreamOffset, e.Want, e.Got)
}

// errNoRequest is the Seq of a MismatchError for bytes nobody asked for.
const errNoRequest = ^uint64(0)

// replies tracks, per connection, the requests awaiting a reply and how
// many reply bytes came before; it builds MismatchErrors.
type replies struct {
	conn     uint64
	pending  seqQueue
	consumed int64
}

// done records a complete reply of n bytes to the oldest request.
func (r *replies) done(n int) (int, bool, error) {
	r.pending.pop()
	r.consumed += int64(n)
	return n, true, nil
}

func (r *replies) mismatch(seq uint64, buf []byte, off int, want string) (int, bool, error) {
	got := buf[off:min(len(buf), off+32)]
	return 0, false, &MismatchError{
		Conn: r.conn, Seq: seq, Offset: off, StreamOffset: r.consumed + int64(off),
		Want: want, Got: append([]byte(nil), got...),
	}
}

// unsolicited reports bytes that arrived with no request outstanding.
func (r *replies) unsolicited(buf []byte) (int, bool, error) {
	if len(buf) == 0 {
		return 0, false, nil
	}
	return r.mismatch(errNoRequest, buf, 0, "nothing (no request outstanding)")
}

// seqQueue is a FIFO of request numbers: a ring that only grows, so that
// steady state allocates nothing.
type seqQueue struct {
	buf  []uint64
	head int
	n    int
}

func (q *seqQueue) push(s uint64) {
	if q.n == len(q.buf) {
		nb := make([]uint64, max(16, 2*len(q.buf)))
		for i := range q.n {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = s
	q.n++
}

func (q *seqQueue) front() uint64 { return q.buf[q.head] }

func (q *seqQueue) pop() {
	q.head = (q.head + 1) % len(q.buf)
	q.n--
}

// echoClient sends patterned messages and expects them back.
type echoClient struct {
	replies
	size   int
	verify bool
}

// NewEchoClient returns the echo codec: each request is Size pattern bytes
// and its reply is the same bytes. It may be called from any goroutine; the
// codec belongs to one connection's goroutine.
func NewEchoClient(cfg ClientConfig) (Client, error) {
	if cfg.Size < 1 {
		return nil, errors.New("proto: echo needs a message size of at least 1")
	}
	return &echoClient{replies: replies{conn: cfg.Conn}, size: cfg.Size, verify: cfg.Verify}, nil
}

func (c *echoClient) AppendRequest(dst []byte, seq uint64) []byte {
	c.pending.push(seq)
	return AppendPattern(dst, c.conn, seq, c.size)
}

func (c *echoClient) ParseReply(buf []byte) (int, bool, error) {
	if c.pending.n == 0 {
		return c.unsolicited(buf)
	}
	if len(buf) < c.size {
		return 0, false, nil
	}
	seq := c.pending.front()
	if c.verify {
		if i := PatternMismatch(buf[:c.size], c.conn, seq, 0); i >= 0 {
			return c.mismatch(seq, buf, i, fmt.Sprintf("%#02x", patternByte(patternSeed(c.conn, seq), i)))
		}
	}
	return c.done(c.size)
}

// discardClient sends patterned messages and expects nothing back.
type discardClient struct {
	replies
	size int
}

// NewDiscardClient returns the discard codec: requests as for echo, and no
// reply ever, so ParseReply reports any received byte as an error. It may
// be called from any goroutine; the codec belongs to one connection's
// goroutine.
func NewDiscardClient(cfg ClientConfig) (Client, error) {
	if cfg.Size < 1 {
		return nil, errors.New("proto: discard needs a message size of at least 1")
	}
	return &discardClient{replies: replies{conn: cfg.Conn}, size: cfg.Size}, nil
}

func (c *discardClient) AppendRequest(dst []byte, seq uint64) []byte {
	return AppendPattern(dst, c.conn, seq, c.size)
}

func (c *discardClient) ParseReply(buf []byte) (int, bool, error) { return c.unsolicited(buf) }
