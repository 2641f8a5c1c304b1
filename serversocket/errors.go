package serversocket

import (
	"io"
	"strconv"
)

// Error IDs used by the runtime, carried by this package's errors and error
// events.
const (
	IDInvalidSocket     = 2002 // IOError: operation on a socket that is not open
	IDInvalidPort       = 2003 // SecurityError: port outside 0..65535
	IDInvalidParameter  = 2004 // ArgumentError: one of the parameters is invalid
	IDOutOfBounds       = 2006 // RangeError: index or length out of bounds
	IDNotAcceptedValue  = 2008 // ArgumentError: parameter not one of the accepted values
	IDEndOfFile         = 2030 // EOFError: not enough input
	IDSocketError       = 2031 // IOErrorEvent: the connection failed
	IDIncorrectSequence = 2037 // IllegalOperationError: call out of sequence
	IDUnhandledError    = 2044 // an error event nobody listened to
)

// The runtime's texts for the IDs above. Texts with a parameter are built
// where they are used.
const (
	msgInvalidSocket = "Operation attempted on invalid socket."
	msgOutOfBounds   = "The supplied index is out of bounds."
	msgEndOfFile     = "End of file was encountered."
)

// How to test for an error kind: every kind is its own pointer type, so
// errors.AsType[*EOFError](err) (or errors.As with a **EOFError) both tests
// the kind and yields ErrorID, Message and the cause. There are no sentinel
// values: a shared *EOFError could be mutated by any caller. Errors built by
// this package are new values; all methods may be called on any goroutine.

// IOError reports that a socket operation failed or was attempted on a socket
// that is not open (AIR's flash.errors.IOError, usually #2002).
type IOError struct {
	ErrorID int    // the runtime's error number, e.g. IDInvalidSocket
	Message string // the text after "Error #ErrorID: "
	Err     error  // the underlying cause, or nil
}

// Error formats e as AIR prints its message: "Error #2002: Operation
// attempted on invalid socket.", followed by the cause in parentheses.
func (e *IOError) Error() string { return format(e.ErrorID, e.Message, e.Err) }

// Unwrap returns the cause, so errors.Is and errors.As see through e.
func (e *IOError) Unwrap() error { return e.Err }

// EOFError reports that a read needed more bytes than were available (AIR's
// flash.errors.EOFError, #2030). It also matches io.ErrUnexpectedEOF under
// errors.Is, since a value was cut short.
type EOFError struct {
	ErrorID int    // the runtime's error number, IDEndOfFile
	Message string // the text after "Error #ErrorID: "
	Err     error  // the underlying cause, or nil
}

// Error formats e as AIR prints its message: "Error #2030: End of file was
// encountered.", followed by the cause in parentheses.
func (e *EOFError) Error() string { return format(e.ErrorID, e.Message, e.Err) }

// Unwrap returns the cause, so errors.Is and errors.As see through e.
func (e *EOFError) Unwrap() error { return e.Err }

// Is reports whether target is io.ErrUnexpectedEOF, so code written against
// io's conventions recognises a short read.
func (e *EOFError) Is(target error) bool { return target == io.ErrUnexpectedEOF }

// RangeError reports a number outside its allowed range: an offset or length
// past a buffer, a string too long for a length prefix, a port out of range
// (AIR's RangeError, usually #2006).
type RangeError struct {
	ErrorID int    // the runtime's error number, e.g. IDOutOfBounds
	Message string // the text after "Error #ErrorID: "
	Err     error  // the underlying cause, or nil
}

// Error formats e as AIR prints its message: "Error #2006: The supplied index
// is out of bounds.", followed by the cause in parentheses.
func (e *RangeError) Error() string { return format(e.ErrorID, e.Message, e.Err) }

// Unwrap returns the cause, so errors.Is and errors.As see through e.
func (e *RangeError) Unwrap() error { return e.Err }

// ArgumentError reports an argument that is not one of the accepted values,
// such as an unknown endian or charset (AIR's ArgumentError, #2008 or #2004).
type ArgumentError struct {
	ErrorID int    // the runtime's error number, e.g. IDNotAcceptedValue
	Message string // the text after "Error #ErrorID: "
	Err     error  // the underlying cause, or nil
}

// Error formats e as AIR prints its message: "Error #2008: Parameter type
// must be one of the accepted values.", followed by the cause in parentheses.
func (e *ArgumentError) Error() string { return format(e.ErrorID, e.Message, e.Err) }

// Unwrap returns the cause, so errors.Is and errors.As see through e.
func (e *ArgumentError) Unwrap() error { return e.Err }

// IllegalOperationError reports a call the object's state does not allow,
// such as sending to an address on a connected datagram socket (AIR's
// flash.errors.IllegalOperationError).
type IllegalOperationError struct {
	ErrorID int    // the runtime's error number, e.g. IDIncorrectSequence
	Message string // the text after "Error #ErrorID: "
	Err     error  // the underlying cause, or nil
}

// Error formats e as AIR prints its message, followed by the cause in
// parentheses.
func (e *IllegalOperationError) Error() string { return format(e.ErrorID, e.Message, e.Err) }

// Unwrap returns the cause, so errors.Is and errors.As see through e.
func (e *IllegalOperationError) Unwrap() error { return e.Err }

// SecurityError reports an operation the runtime refuses for safety, such as
// connecting to an invalid port (AIR's SecurityError, e.g. #2003).
type SecurityError struct {
	ErrorID int    // the runtime's error number, e.g. IDInvalidPort
	Message string // the text after "Error #ErrorID: "
	Err     error  // the underlying cause, or nil
}

// Error formats e as AIR prints its message: "Error #2003: Invalid socket
// port number specified.", followed by the cause in parentheses.
func (e *SecurityError) Error() string { return format(e.ErrorID, e.Message, e.Err) }

// Unwrap returns the cause, so errors.Is and errors.As see through e.
func (e *SecurityError) Unwrap() error { return e.Err }

// format renders AIR's "Error #<id>: <message>". An ID of 0 (an error built by
// hand without one) prints the message alone.
func format(id int, msg string, cause error) string {
	s := msg
	if id != 0 {
		s = "Error #" + strconv.Itoa(id) + ": " + msg
	}
	if cause != nil {
		s += " (" + cause.Error() + ")"
	}
	return s
}

// errInvalidSocket is the error for reading or writing a socket that is not
// open; cause is what the connection reported, or nil.
func errInvalidSocket(cause error) error {
	return &IOError{ErrorID: IDInvalidSocket, Message: msgInvalidSocket, Err: cause}
}

// errInvalidParameter is the error for a malformed argument, such as an
// address that is not an IP literal.
func errInvalidParameter(cause error) error {
	return &ArgumentError{ErrorID: IDInvalidParameter, Message: "One of the parameters is invalid.", Err: cause}
}

// errEOF is the error for a read that needs more bytes than are available.
func errEOF() error {
	return &EOFError{ErrorID: IDEndOfFile, Message: msgEndOfFile}
}

// errOutOfBounds is the error for an offset, length or size out of range.
func errOutOfBounds() error {
	return &RangeError{ErrorID: IDOutOfBounds, Message: msgOutOfBounds}
}

// errNotAccepted is the error for a parameter outside its accepted values.
func errNotAccepted(param string) error {
	return &ArgumentError{ErrorID: IDNotAcceptedValue, Message: "Parameter " + param + " must be one of the accepted values."}
}
