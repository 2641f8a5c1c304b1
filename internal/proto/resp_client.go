package proto

import (
	"bytes"
	"fmt"
	"strconv"
)

type respOp uint8

const (
	opPing respOp = iota
	opSet
	opGet
)

// respClient is the RESP codec: PING, SET or GET per request.
type respClient struct {
	replies
	mode    string
	size    int
	keys    int
	verify  bool
	lastSet []uint64 // per key: 1 + seq of the last acknowledged SET; 0 = unknown
	valHdr  []byte   // "$<size>\r\n", the head of a GET reply of a known value
	digits  [20]byte
}

// NewRESPClient returns the RESP codec for cfg.Op. With Verify, PING must
// get +PONG, SET +OK, and GET exactly the value this connection last SET
// for that key, or any bulk string or nil for a key it has not set. Two
// concurrent clients of one server must not share a Conn, or their SETs
// would overwrite each other's keys. It may be called from any goroutine;
// the codec belongs to one connection's goroutine.
func NewRESPClient(cfg ClientConfig) (Client, error) {
	switch cfg.Op {
	case "":
		cfg.Op = "ping"
	case "ping", "set", "get", "setget":
	default:
		return nil, fmt.Errorf("proto: unknown RESP op %q (want ping, set, get or setget)", cfg.Op)
	}
	if cfg.Op != "ping" && cfg.Size < 0 {
		return nil, fmt.Errorf("proto: negative value size %d", cfg.Size)
	}
	if cfg.Keys <= 0 {
		cfg.Keys = 1000
	}
	c := &respClient{
		replies: replies{conn: cfg.Conn},
		mode:    cfg.Op, size: cfg.Size, keys: cfg.Keys, verify: cfg.Verify,
		lastSet: make([]uint64, cfg.Keys),
	}
	c.valHdr = fmt.Appendf(nil, "$%d\r\n", cfg.Size)
	return c, nil
}

// op and key derive request seq's command and key from seq alone, so that
// ParseReply needs no record of what was sent beyond seq itself.
func (c *respClient) op(seq uint64) respOp {
	switch c.mode {
	case "set":
		return opSet
	case "get":
		return opGet
	case "setget":
		if mix64(seq^c.conn*golden)&1 == 0 {
			return opSet
		}
		return opGet
	}
	return opPing
}

func (c *respClient) key(seq uint64) int { return int(mix64(seq*golden+c.conn) % uint64(c.keys)) }

func (c *respClient) AppendRequest(dst []byte, seq uint64) []byte {
	c.pending.push(seq)
	switch c.op(seq) {
	case opSet:
		dst = append(dst, "*3\r\n$3\r\nSET\r\n"...)
		dst = c.appendKey(dst, seq)
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(c.size), 10)
		dst = append(dst, '\r', '\n')
		dst = AppendPattern(dst, c.conn, seq, c.size)
		return append(dst, '\r', '\n')
	case opGet:
		dst = append(dst, "*2\r\n$3\r\nGET\r\n"...)
		return c.appendKey(dst, seq)
	}
	return append(dst, "*1\r\n$4\r\nPING\r\n"...)
}

// appendKey appends the bulk string "key:<n>" of request seq.
func (c *respClient) appendKey(dst []byte, seq uint64) []byte {
	d := strconv.AppendUint(c.digits[:0], c.conn*uint64(c.keys)+uint64(c.key(seq)), 10)
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len("key:")+len(d)), 10)
	dst = append(dst, "\r\nkey:"...)
	dst = append(dst, d...)
	return append(dst, '\r', '\n')
}

func (c *respClient) ParseReply(buf []byte) (int, bool, error) {
	if c.pending.n == 0 {
		return c.unsolicited(buf)
	}
	seq := c.pending.front()
	if !c.verify {
		n, bad, want := frameReply(buf, 0)
		if bad >= 0 {
			return c.mismatch(seq, buf, bad, want)
		}
		if n == 0 {
			return 0, false, nil
		}
		return c.done(n)
	}
	switch c.op(seq) {
	case opSet:
		n, ok, err := c.expect(buf, seq, replyOK)
		if ok {
			c.lastSet[c.key(seq)] = seq + 1
		}
		return n, ok, err
	case opGet:
		if last := c.lastSet[c.key(seq)]; last != 0 {
			return c.expectValue(buf, seq, last-1)
		}
		if len(buf) > 0 && buf[0] != '$' {
			return c.mismatch(seq, buf, 0, "'$' (a bulk string reply to GET)")
		}
		n, bad, want := frameReply(buf, 0)
		if bad >= 0 {
			return c.mismatch(seq, buf, bad, want)
		}
		if n == 0 {
			return 0, false, nil
		}
		return c.done(n)
	}
	return c.expect(buf, seq, replyPong)
}

// expect matches buf against the whole reply want.
func (c *respClient) expect(buf []byte, seq uint64, want []byte) (int, bool, error) {
	for i := range min(len(buf), len(want)) {
		if buf[i] != want[i] {
			return c.mismatch(seq, buf, i, fmt.Sprintf("%q of %q", want[i], want))
		}
	}
	if len(buf) < len(want) {
		return 0, false, nil
	}
	return c.done(len(want))
}

// expectValue matches buf against the bulk reply holding the value SET by
// request setSeq.
func (c *respClient) expectValue(buf []byte, seq, setSeq uint64) (int, bool, error) {
	h := len(c.valHdr)
	for i := range min(len(buf), h) {
		if buf[i] != c.valHdr[i] {
			return c.mismatch(seq, buf, i, fmt.Sprintf("%q of %q", c.valHdr[i], c.valHdr))
		}
	}
	total := h + c.size + 2
	if len(buf) < total {
		return 0, false, nil
	}
	if i := PatternMismatch(buf[h:h+c.size], c.conn, setSeq, 0); i >= 0 {
		want := fmt.Sprintf("%#02x (byte %d of the value set by seq %d)", patternByte(patternSeed(c.conn, setSeq), i), i, setSeq)
		return c.mismatch(seq, buf, h+i, want)
	}
	if buf[total-2] != '\r' || buf[total-1] != '\n' {
		return c.mismatch(seq, buf, total-2, `"\r\n" after the value`)
	}
	return c.done(total)
}

// Bounds on replies a codec accepts when only framing them.
const (
	maxReplyLine  = 64 << 10
	maxReplyBulk  = DefaultMaxBulk
	maxReplyArray = DefaultMaxArgs
	maxReplyDepth = 8
)

// frameReply finds the end of the RESP2 reply at the start of buf. It
// returns the reply's length, or 0 if incomplete; or, if the reply is
// malformed, bad >= 0, the offset of the first bad byte, and what was
// expected there.
func frameReply(buf []byte, depth int) (n, bad int, want string) {
	if len(buf) == 0 {
		return 0, -1, ""
	}
	switch buf[0] {
	case '+', '-', ':':
		cr := bytes.IndexByte(buf[:min(len(buf), maxReplyLine)], '\r')
		if cr < 0 {
			if len(buf) >= maxReplyLine {
				return 0, maxReplyLine - 1, "CRLF within 64 KiB"
			}
			return 0, -1, ""
		}
		if cr+1 == len(buf) {
			return 0, -1, ""
		}
		if buf[cr+1] != '\n' {
			return 0, cr + 1, `'\n' after '\r'`
		}
		if buf[0] == ':' {
			if _, ok := parseInt(buf[1:cr]); !ok {
				return 0, 1, "an integer"
			}
		}
		return cr + 2, -1, ""
	case '$', '*':
		v, hl, err := header(buf, "")
		if err != nil {
			return 0, 1, "a length and CRLF"
		}
		if hl == 0 {
			return 0, -1, ""
		}
		if v == -1 { // nil bulk string or nil array
			return hl, -1, ""
		}
		if buf[0] == '$' {
			if v < 0 || v > maxReplyBulk {
				return 0, 1, "a bulk length in 0..512 MiB"
			}
			end := hl + int(v)
			if end+2 > len(buf) {
				return 0, -1, ""
			}
			if buf[end] != '\r' || buf[end+1] != '\n' {
				return 0, end, `"\r\n" after the bulk string`
			}
			return end + 2, -1, ""
		}
		if v < 0 || v > maxReplyArray || depth >= maxReplyDepth {
			return 0, 1, "an array length in 0..1M, nested at most 8 deep"
		}
		pos := hl
		for range v {
			en, eb, ew := frameReply(buf[pos:], depth+1)
			if eb >= 0 {
				return 0, pos + eb, ew
			}
			if en == 0 {
				return 0, -1, ""
			}
			pos += en
		}
		return pos, -1, ""
	}
	return 0, 0, "a RESP type byte (+ - : $ *)"
}
