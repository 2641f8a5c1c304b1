package serversocket

import "strconv"

// Event types dispatched by ServerSocket and Socket, AIR's constant values.
const (
	Connect           = "connect"          // a connection was accepted or established
	Close             = "close"            // the peer or the OS closed the socket
	SocketData        = "socketData"       // new input is available (ProgressEvent)
	OutputProgress    = "outputProgress"   // the output buffer drained (OutputProgressEvent)
	IOErrorType       = "ioError"          // an I/O failure (IOErrorEvent)
	SecurityErrorType = "securityError"    // a refused operation (SecurityErrorEvent)
	CertificateError  = "certificateError" // a SecureSocket's server certificate is not trusted (SecurityErrorEvent, cancelable)
)

// Eventer is what listeners receive and DispatchEvent takes: *Event or a
// pointer to any struct that embeds Event (the package's event types, or an
// application's own, which gain the unexported method by embedding). Its
// methods are Event's; Clone and String are overridden by each event type.
type Eventer interface {
	Type() string
	Target() any
	CurrentTarget() any
	Bubbles() bool
	Cancelable() bool
	StopPropagation()
	StopImmediatePropagation()
	PreventDefault()
	IsDefaultPrevented() bool
	Clone() Eventer
	String() string
	base() *Event
}

// Event is AIR's flash.events.Event: the type and flags every event carries,
// plus the state one dispatch changes (target, stop flags, default
// prevented). Embed it to define an event type.
//
// An Event is meant to be reused: DispatchEvent clears the per-dispatch state
// when it starts, so the sockets keep one value per event type and dispatch
// it again and again without allocating. A listener must therefore not keep
// an event past its return; it keeps a Clone instead.
//
// An Event belongs to the goroutine dispatching it (a socket's loop
// goroutine); its methods are not safe for concurrent use.
type Event struct {
	typ           string
	target        any
	currentTarget any
	bubbles       bool
	cancelable    bool

	stopped          bool // StopPropagation was called
	stoppedImmediate bool // StopImmediatePropagation was called
	defaultPrevented bool // PreventDefault was called on a cancelable event
}

// NewEvent returns an Event of type typ. Callable on any goroutine.
func NewEvent(typ string, bubbles, cancelable bool) *Event {
	return &Event{typ: typ, bubbles: bubbles, cancelable: cancelable}
}

// Init (re)sets e to a fresh event of type typ, as NewEvent builds it: no
// target, no stop flags, default not prevented. It is how an embedding type
// initialises its Event. Call it on the goroutine that owns e.
func (e *Event) Init(typ string, bubbles, cancelable bool) {
	*e = Event{typ: typ, bubbles: bubbles, cancelable: cancelable}
}

// Type returns the event type, such as SocketData.
func (e *Event) Type() string { return e.typ }

// Target returns the object that dispatched e, or nil before its first
// dispatch.
func (e *Event) Target() any { return e.target }

// CurrentTarget returns the object whose listeners are running. With no
// display list to travel through, it is always Target.
func (e *Event) CurrentTarget() any { return e.currentTarget }

// Bubbles reports whether e was created as a bubbling event. Sockets are not
// in a display list, so nothing bubbles here; the flag is kept for AIR
// compatibility and String.
func (e *Event) Bubbles() bool { return e.bubbles }

// Cancelable reports whether PreventDefault has any effect on e.
func (e *Event) Cancelable() bool { return e.cancelable }

// StopPropagation stops e from reaching further objects in the display
// list. There is none here, so the listeners of the current target still
// all run; use StopImmediatePropagation to skip them.
func (e *Event) StopPropagation() { e.stopped = true }

// StopImmediatePropagation makes the running dispatch skip all remaining
// listeners.
func (e *Event) StopImmediatePropagation() {
	e.stopped = true
	e.stoppedImmediate = true
}

// PreventDefault cancels the default behaviour of a cancelable event; on an
// event that is not cancelable it does nothing, as in AIR.
func (e *Event) PreventDefault() {
	if e.cancelable {
		e.defaultPrevented = true
	}
}

// IsDefaultPrevented reports whether PreventDefault was called on this
// cancelable event during the current (or last) dispatch.
func (e *Event) IsDefaultPrevented() bool { return e.defaultPrevented }

// Clone returns a new Event with e's type and flags and no dispatch state.
// Event types that embed Event override it to copy their own fields.
func (e *Event) Clone() Eventer { return e.clone() }

// String formats e as AIR's toString does:
// [Event type="close" bubbles=false cancelable=false].
// AIR adds eventPhase to some event types; with no display list the phase
// never varies, so this package leaves it out of every type.
func (e *Event) String() string { return string(append(e.appendTo(nil, "Event"), ']')) }

// base lets the dispatcher reach the Event inside any Eventer.
func (e *Event) base() *Event { return e }

// clone copies the fields a new event is built from, not the dispatch state.
func (e *Event) clone() *Event {
	return &Event{typ: e.typ, bubbles: e.bubbles, cancelable: e.cancelable}
}

// appendTo appends `[Class type="..." bubbles=.. cancelable=..` without the
// closing bracket, so event types can append their own fields.
func (e *Event) appendTo(b []byte, class string) []byte {
	b = append(b, '[')
	b = append(b, class...)
	b = appendQuoted(b, "type", e.typ)
	b = appendBool(b, "bubbles", e.bubbles)
	return appendBool(b, "cancelable", e.cancelable)
}

// appendQuoted appends ` name="value"`; AIR does not escape the value.
func appendQuoted(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, `="`...)
	b = append(b, value...)
	return append(b, '"')
}

// appendBool appends ` name=true` or ` name=false`.
func appendBool(b []byte, name string, v bool) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, '=')
	return strconv.AppendBool(b, v)
}

// appendInt appends ` name=123`.
func appendInt(b []byte, name string, v int) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, '=')
	return strconv.AppendInt(b, int64(v), 10)
}
