package proxyproto

import (
	"errors"
	"strconv"
)

// ErrTruncated says b holds a prefix of a possible header and nothing
// wrong so far: parse again from the same start once more bytes are in.
// Parse returns it itself (compare with == or errors.Is), never wrapped,
// and it costs no allocation, so an event loop can poll with it.
var ErrTruncated = errors.New("proxyproto: header incomplete, more bytes needed")

// ErrTooLong is the cause of a SyntaxError for a header longer than its
// bound: a v1 line without CRLF in its first 107 bytes, or a v2 header
// announcing more than the parser's maximum. Test with errors.Is.
var ErrTooLong = errors.New("proxyproto: header too long")

// ErrChecksum is the cause of a SyntaxError for a v2 header whose CRC32C
// TLV does not match its bytes. Test with errors.Is.
var ErrChecksum = errors.New("proxyproto: CRC32C checksum mismatch")

// SyntaxError says the bytes are not a valid PROXY protocol header, and
// can never become one with more bytes: the connection should be closed.
// Its methods are safe for any goroutine.
type SyntaxError struct {
	// Version is the format the bytes were read as, 1 or 2, or 0 when
	// their first byte starts neither.
	Version int
	// Offset is the index in the parsed slice of the first byte found
	// wrong (for a field, the field's first byte).
	Offset int
	// Msg says what was wrong.
	Msg string
	// Err is ErrTooLong, ErrChecksum or nil; Unwrap returns it.
	Err error
}

func (e *SyntaxError) Error() string {
	s := "proxyproto: "
	if e.Version != 0 {
		s += "v" + strconv.Itoa(e.Version) + ": "
	}
	return s + e.Msg + " at byte " + strconv.Itoa(e.Offset)
}

// Unwrap returns e.Err, so errors.Is(err, ErrTooLong) works.
func (e *SyntaxError) Unwrap() error { return e.Err }

func syntaxErr(version, offset int, msg string) error {
	return &SyntaxError{Version: version, Offset: offset, Msg: msg}
}
