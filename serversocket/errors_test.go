package serversocket

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestErrorStringsMatchAIR(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{errInvalidSocket(nil), "Error #2002: Operation attempted on invalid socket."},
		{errEOF(), "Error #2030: End of file was encountered."},
		{errOutOfBounds(), "Error #2006: The supplied index is out of bounds."},
		{errNotAccepted("type"), "Error #2008: Parameter type must be one of the accepted values."},
		{&IllegalOperationError{ErrorID: IDIncorrectSequence, Message: "Functions called in incorrect sequence, or earlier call was unsuccessful."},
			"Error #2037: Functions called in incorrect sequence, or earlier call was unsuccessful."},
		{&SecurityError{ErrorID: IDInvalidPort, Message: "Invalid socket port number specified."},
			"Error #2003: Invalid socket port number specified."},
		{&RangeError{Message: "no id"}, "no id"},
		{errInvalidSocket(errBroken), "Error #2002: Operation attempted on invalid socket. (broken connection)"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%T.Error() = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestErrorIDs(t *testing.T) {
	if e, ok := errors.AsType[*IOError](errInvalidSocket(nil)); !ok || e.ErrorID != 2002 {
		t.Errorf("invalid socket: %#v", e)
	}
	if e, ok := errors.AsType[*EOFError](errEOF()); !ok || e.ErrorID != 2030 {
		t.Errorf("eof: %#v", e)
	}
	if e, ok := errors.AsType[*RangeError](errOutOfBounds()); !ok || e.ErrorID != 2006 {
		t.Errorf("range: %#v", e)
	}
	if e, ok := errors.AsType[*ArgumentError](errNotAccepted("charSet")); !ok || e.ErrorID != 2008 {
		t.Errorf("argument: %#v", e)
	}
	ids := map[int]int{IDInvalidSocket: 2002, IDInvalidPort: 2003, IDInvalidParameter: 2004,
		IDOutOfBounds: 2006, IDNotAcceptedValue: 2008, IDEndOfFile: 2030, IDSocketError: 2031,
		IDIncorrectSequence: 2037, IDUnhandledError: 2044}
	for got, want := range ids {
		if got != want {
			t.Errorf("ID constant %d, want %d", got, want)
		}
	}
}

// TestErrorKindsAreDistinct checks that errors.As tells every kind apart,
// also through wrapping, and that each kind unwraps to its cause.
func TestErrorKindsAreDistinct(t *testing.T) {
	cause := errors.New("cause")
	all := []error{
		&IOError{ErrorID: 2002, Err: cause},
		&EOFError{ErrorID: 2030, Err: cause},
		&RangeError{ErrorID: 2006, Err: cause},
		&ArgumentError{ErrorID: 2008, Err: cause},
		&IllegalOperationError{ErrorID: 2037, Err: cause},
		&SecurityError{ErrorID: 2003, Err: cause},
	}
	matchers := []func(error) bool{
		func(err error) bool { _, ok := errors.AsType[*IOError](err); return ok },
		func(err error) bool { _, ok := errors.AsType[*EOFError](err); return ok },
		func(err error) bool { _, ok := errors.AsType[*RangeError](err); return ok },
		func(err error) bool { _, ok := errors.AsType[*ArgumentError](err); return ok },
		func(err error) bool { _, ok := errors.AsType[*IllegalOperationError](err); return ok },
		func(err error) bool { _, ok := errors.AsType[*SecurityError](err); return ok },
	}
	for i, err := range all {
		wrapped := fmt.Errorf("context: %w", err)
		for j, match := range matchers {
			if got := match(wrapped); got != (i == j) {
				t.Errorf("%T matched as kind %d: %v", err, j, got)
			}
		}
		if !errors.Is(wrapped, cause) {
			t.Errorf("%T does not unwrap to its cause", err)
		}
	}
}

func TestEOFErrorIsUnexpectedEOF(t *testing.T) {
	err := fmt.Errorf("read: %w", errEOF())
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("EOFError is not io.ErrUnexpectedEOF")
	}
	if errors.Is(err, io.EOF) {
		t.Error("EOFError matched io.EOF; only a cut-short value is reported")
	}
	for _, other := range []error{errInvalidSocket(nil), errOutOfBounds(), errNotAccepted("x")} {
		if errors.Is(other, io.ErrUnexpectedEOF) {
			t.Errorf("%T matched io.ErrUnexpectedEOF", other)
		}
	}
	// Two EOFErrors are distinct values; kinds are tested with errors.As.
	if errors.Is(errEOF(), errEOF()) {
		t.Error("distinct EOFError values compared equal")
	}
}
