package proto

import (
	"bytes"
	"fmt"
)

// maxHeaderLine bounds a "*<count>\r\n" or "$<length>\r\n" line: a sign, 19
// digits and CRLF fit, so anything longer without a CR is garbage and is
// rejected instead of being buffered while waiting for a CR.
const maxHeaderLine = 32

// ProtocolError is a malformed RESP request. Serve replies
// "-ERR Protocol error: <Reason>" and returns it, closing the connection.
type ProtocolError struct {
	Reason string
}

// Error describes the protocol error; any goroutine may call it.
func (e *ProtocolError) Error() string { return "proto: RESP protocol error: " + e.Reason }

func protoErr(reason string) *ProtocolError { return &ProtocolError{Reason: reason} }

// request is one complete RESP request inside the peeked input. Its
// arguments are read back in order with next, re-reading headers already
// validated by scan: that costs a few compares and saves storing an argv,
// which per connection would cost memory an idle connection should not
// hold, and per call would allocate.
type request struct {
	buf    []byte // the request's bytes (for inline: the line)
	argc   int
	pos    int // where next looks
	inline bool
}

// next returns the next argument; call it at most argc times.
func (r *request) next() []byte {
	if r.inline {
		i := r.pos
		for i < len(r.buf) && isSpace(r.buf[i]) {
			i++
		}
		j := i
		for j < len(r.buf) && !isSpace(r.buf[j]) {
			j++
		}
		r.pos = j
		return r.buf[i:j]
	}
	// r.buf[r.pos:] starts with a "$<n>\r\n" line that scan validated.
	cr := r.pos + bytes.IndexByte(r.buf[r.pos:], '\r')
	n, _ := parseInt(r.buf[r.pos+1 : cr])
	start := cr + 2
	end := start + int(n)
	r.pos = end + 2
	return r.buf[start:end]
}

// progress is how far scan got into a partial request at the start of the
// input, kept by the session between calls so that a request arriving in
// pieces is scanned once. It is relative to the request's first byte,
// which stays put while the request is incomplete (nothing before it is
// left buffered: Serve discards the requests it executed).
type progress struct {
	pos   int   // bytes validated: for an array, up to an element's start; for inline, scanned without a newline
	count int64 // array: elements declared (valid once pos > 0)
	done  int64 // array: elements validated
	first int   // array: offset of the first element
	need  int   // while incomplete: bytes the request needs at least
	more  bool  // while incomplete: it may need more than need (size not known yet)
}

// scan finds the request at the start of b and sets *req to it, going on
// from *p; steps counts the bytes it examines. It returns the request's
// length in bytes, or 0 while the request is incomplete (p then says where
// it stopped and how much the request needs). The outcome depends only on
// the bytes of b up to the end of the request (or the point where an error
// shows), so feeding input whole or in pieces gives the same requests and
// the same errors.
func (c *Config) scan(b []byte, req *request, p *progress, steps *int) (int, error) {
	if b[0] == '*' {
		return c.scanArray(b, req, p, steps)
	}
	return c.scanInline(b, req, p, steps)
}

func (c *Config) scanArray(b []byte, req *request, p *progress, steps *int) (int, error) {
	if p.pos == 0 {
		count, hl, err := header(b, "too big mbulk count string")
		*steps += min(len(b), maxHeaderLine)
		if err != nil {
			return 0, err
		}
		if hl == 0 {
			p.need, p.more = maxHeaderLine, true
			return 0, nil
		}
		if count < 0 || count > int64(c.MaxArgs)+1 { // the command name, then MaxArgs arguments
			return 0, protoErr("invalid multibulk length")
		}
		*p = progress{pos: hl, count: count, first: hl}
	}
	pos := p.pos
	for ; p.done < p.count; p.done++ {
		if pos >= len(b) {
			p.pos, p.need, p.more = pos, pos+maxHeaderLine, true
			return 0, nil
		}
		if b[pos] != '$' {
			return 0, protoErr(fmt.Sprintf("expected '$', got %s", quoteByte(b[pos])))
		}
		n, hl, err := header(b[pos:], "too big bulk count string")
		*steps += min(len(b)-pos, maxHeaderLine)
		if err != nil {
			return 0, err
		}
		if hl == 0 {
			p.pos, p.need, p.more = pos, pos+maxHeaderLine, true
			return 0, nil
		}
		// The length is checked before its body is waited for: a declared
		// length over the limit is refused now, not after buffering it.
		if n < 0 || n > int64(c.MaxBulk) {
			return 0, protoErr("invalid bulk length")
		}
		end := pos + hl + int(n)
		if end+2 > len(b) {
			p.pos, p.need, p.more = pos, end+2, p.done+1 < p.count
			return 0, nil
		}
		if b[end] != '\r' || b[end+1] != '\n' {
			return 0, protoErr("expected CRLF after bulk string")
		}
		pos = end + 2
	}
	*req = request{buf: b[:pos], argc: int(p.count), pos: p.first}
	*p = progress{}
	return pos, nil
}

// header parses the "<type><integer>\r\n" line at the start of b. It
// returns the integer and the line's length, 0 if the line is incomplete.
func header(b []byte, tooBig string) (v int64, n int, err error) {
	cr := bytes.IndexByte(b[1:min(len(b), maxHeaderLine)], '\r')
	if cr < 0 {
		if len(b) >= maxHeaderLine {
			return 0, 0, protoErr(tooBig)
		}
		return 0, 0, nil
	}
	cr++ // index in b
	if cr+1 >= len(b) {
		return 0, 0, nil
	}
	if b[cr+1] != '\n' {
		return 0, 0, protoErr("expected CRLF after length")
	}
	v, ok := parseInt(b[1:cr])
	if !ok {
		if b[0] == '*' {
			return 0, 0, protoErr("invalid multibulk length")
		}
		return 0, 0, protoErr("invalid bulk length")
	}
	return v, cr + 2, nil
}

func (c *Config) scanInline(b []byte, req *request, p *progress, steps *int) (int, error) {
	end := min(len(b), c.MaxInline+1)
	nl := -1
	if p.pos < end {
		if i := bytes.IndexByte(b[p.pos:end], '\n'); i >= 0 {
			nl = p.pos + i
		}
		*steps += end - p.pos
	}
	if nl < 0 {
		if len(b) > c.MaxInline {
			return 0, protoErr("too big inline request")
		}
		// The most an inline request can take: its line and the newline,
		// or one byte more to see that the line is too long.
		p.pos, p.need, p.more = end, c.MaxInline+1, false
		return 0, nil
	}
	*p = progress{}
	line := b[:nl]
	argc := 0
	for i := 0; i < len(line); {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			break
		}
		argc++
		for i < len(line) && !isSpace(line[i]) {
			i++
		}
	}
	*steps += len(line)
	*req = request{buf: line, argc: argc, inline: true}
	return nl + 1, nil
}

// isSpace matches the separators of an inline command, as C's isspace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// parseInt parses a canonical decimal int64: an optional '-', then digits
// without leading zeros ("0" alone is fine, "-0" is not, as in Redis).
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 || (b[0] == '0' && (len(b) > 1 || neg)) {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0') // 19 digits cannot overflow uint64
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u-1) - 1, true // -(1<<63) has no positive counterpart
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// quoteByte shows a byte in an error reply, which must not contain CR or LF.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return fmt.Sprintf("'\\x%02x'", c)
}
