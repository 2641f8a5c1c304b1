package amf

import (
	"errors"
	"fmt"
)

// ErrTruncated says the input ended inside a value: more bytes may
// complete it (decode again from the same start once they are in).
var ErrTruncated = errors.New("amf: input ends inside a value")

// SyntaxError is malformed input: an unknown marker, a reference to
// nothing, a member name that is not a string, invalid UTF-8.
type SyntaxError struct {
	Offset int // of the byte where decoding found the fault
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("amf: %s at byte %d", e.Msg, e.Offset) }

// LimitError is input beyond a bound of Limits: nesting, elements.
type LimitError struct {
	Offset int
	Limit  string // "MaxDepth", "MaxElements"
	Value  int    // the bound
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("amf: value beyond %s (%d) at byte %d", e.Limit, e.Value, e.Offset)
}

// UnsupportedTypeError is a Go value the encoder has no AMF form for (a
// channel, a function, a struct type without a class alias...).
type UnsupportedTypeError struct {
	Type string
}

func (e *UnsupportedTypeError) Error() string { return "amf: cannot encode a value of type " + e.Type }

// Limits bound what one Decode may build from untrusted input.
type Limits struct {
	// MaxDepth is the deepest nesting of arrays, objects, vectors and
	// dictionaries; past it decoding fails (the decoder recurses, so this
	// also bounds its stack). Zero means DefaultMaxDepth.
	MaxDepth int
	// MaxElements bounds the elements of one value in all: array and
	// vector items, an object's sealed member names (once per traits) and
	// its members' values, associative and dynamic members, dictionary
	// entries, and the elements copied when a decoded array or map fills a
	// typed slice or map of a registered struct; the bytes of strings and
	// byte arrays are not elements (the input's length bounds them). A
	// reference to a value already read costs nothing, so what this bounds
	// is the work and the Go-side size of a hostile value of a given
	// length. Zero means DefaultMaxElements.
	MaxElements int
}

// The default Limits.
const (
	DefaultMaxDepth    = 128
	DefaultMaxElements = 1 << 20
)

func (l Limits) depth() int {
	if l.MaxDepth > 0 {
		return l.MaxDepth
	}
	return DefaultMaxDepth
}

func (l Limits) elements() int {
	if l.MaxElements > 0 {
		return l.MaxElements
	}
	return DefaultMaxElements
}

// FieldError is a decoded member that does not fit the field of the
// registered struct it is for (a string for an int field, say).
type FieldError struct {
	Class, Field string
	Value        string // the decoded value's Go type
	Type         string // the field's
}

func (e *FieldError) Error() string {
	return "amf: cannot set " + e.Class + "." + e.Field + " (" + e.Type + ") from a " + e.Value
}
