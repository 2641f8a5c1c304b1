package proxyproto

// DefaultMaxV2Length is the largest v2 length field Parse accepts: bytes
// of addresses and TLVs after the 16-byte prefix. It leaves room for UNIX
// addresses (216 bytes) and a generous set of TLVs while capping what one
// connection can make the server buffer before its header is complete.
const DefaultMaxV2Length = 4096

// maxV2Field is the largest length a v2 header can announce: its length
// field has 16 bits.
const maxV2Field = 0xffff

// Parse parses the PROXY protocol header, v1 or v2, at the start of b,
// with v2's length bounded by DefaultMaxV2Length. See ParseLimit.
// It is safe to call from any goroutine.
func Parse(b []byte) (h Header, n int, err error) {
	return ParseLimit(b, DefaultMaxV2Length)
}

// ParseLimit parses the PROXY protocol header at the start of b. A v2
// header may announce at most maxV2 bytes after its 16-byte prefix;
// maxV2 <= 0 means DefaultMaxV2Length, and above 65535 it bounds nothing.
//
// On success n is the header's length: b[n:] is the client's data. If b
// holds a prefix of a possible header and nothing wrong so far, err is
// ErrTruncated and n is 0: call again with the same start and more bytes.
// Otherwise err is a *SyntaxError, returned as soon as the bytes present
// rule a header out (the first byte of an HTTP request already does, and
// a v2 length over maxV2 does once the 16-byte prefix is in), so a
// receiver need not buffer a hostile header to refuse it.
//
// Parse reads b and never keeps it: the Header owns copies of what it
// needs. It allocates nothing for IP headers without TLVs, one slice for
// TLVs, one string for UNIX paths. Each call restarts from b[0]; a header
// is small, so re-parsing it as pieces arrive costs little.
//
// It is safe to call from any goroutine.
func ParseLimit(b []byte, maxV2 int) (h Header, n int, err error) {
	if len(b) == 0 {
		return Header{}, 0, ErrTruncated
	}
	if maxV2 <= 0 {
		maxV2 = DefaultMaxV2Length
	}
	switch b[0] {
	case v1Prefix[0]:
		return parseV1(b)
	case v2Signature[0]:
		return parseV2(b, maxV2)
	}
	return Header{}, 0, syntaxErr(0, 0, "first byte is neither 'P' (v1) nor '\\r' (v2 signature)")
}
