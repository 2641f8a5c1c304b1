package serversocket

// The event types ServerSocket and Socket dispatch. Each embeds Event and
// overrides Clone and String; their own fields are plain data that the
// dispatching socket fills in before each dispatch.

// ProgressEvent reports input: Socket dispatches it as SocketData with
// BytesLoaded set to the number of new bytes and BytesTotal 0. Bytes a
// listener leaves unread stay available for the next one.
type ProgressEvent struct {
	Event
	BytesLoaded int // bytes that arrived since the last SocketData
	BytesTotal  int // always 0 for sockets: the total is not known
}

// NewProgressEvent returns a ProgressEvent of type typ. Callable on any
// goroutine.
func NewProgressEvent(typ string, bubbles, cancelable bool, bytesLoaded, bytesTotal int) *ProgressEvent {
	e := &ProgressEvent{BytesLoaded: bytesLoaded, BytesTotal: bytesTotal}
	e.Init(typ, bubbles, cancelable)
	return e
}

// Clone returns a new ProgressEvent with e's type, flags and byte counts and
// no dispatch state.
func (e *ProgressEvent) Clone() Eventer {
	return &ProgressEvent{Event: *e.clone(), BytesLoaded: e.BytesLoaded, BytesTotal: e.BytesTotal}
}

// String formats e as AIR does: [ProgressEvent type="socketData"
// bubbles=false cancelable=false bytesLoaded=5 bytesTotal=0].
func (e *ProgressEvent) String() string {
	b := e.appendTo(nil, "ProgressEvent")
	b = appendInt(b, "bytesLoaded", e.BytesLoaded)
	b = appendInt(b, "bytesTotal", e.BytesTotal)
	return string(append(b, ']'))
}

// OutputProgressEvent reports output draining to the kernel: Socket
// dispatches it as OutputProgress; BytesPending reaches 0 once everything
// written has been sent.
type OutputProgressEvent struct {
	Event
	BytesPending int // bytes written but not yet handed to the kernel
	BytesTotal   int // bytes already sent plus BytesPending, as AIR defines it
}

// NewOutputProgressEvent returns an OutputProgressEvent of type typ.
// Callable on any goroutine.
func NewOutputProgressEvent(typ string, bubbles, cancelable bool, bytesPending, bytesTotal int) *OutputProgressEvent {
	e := &OutputProgressEvent{BytesPending: bytesPending, BytesTotal: bytesTotal}
	e.Init(typ, bubbles, cancelable)
	return e
}

// Clone returns a new OutputProgressEvent with e's type, flags and byte
// counts and no dispatch state.
func (e *OutputProgressEvent) Clone() Eventer {
	return &OutputProgressEvent{Event: *e.clone(), BytesPending: e.BytesPending, BytesTotal: e.BytesTotal}
}

// String formats e as AIR does: [OutputProgressEvent type="outputProgress"
// bubbles=false cancelable=false bytesPending=0 bytesTotal=10].
func (e *OutputProgressEvent) String() string {
	b := e.appendTo(nil, "OutputProgressEvent")
	b = appendInt(b, "bytesPending", e.BytesPending)
	b = appendInt(b, "bytesTotal", e.BytesTotal)
	return string(append(b, ']'))
}

// IOErrorEvent reports an I/O failure, dispatched as IOErrorType (for
// example a failed connect: ErrorID IDSocketError). If nobody listens for
// it, it goes to the uncaught-error handler (see SetUncaughtErrorHandler).
type IOErrorEvent struct {
	Event
	Text    string // AIR's text: "Error #2031: Socket Error. ..."
	ErrorID int    // the runtime's error number, e.g. IDSocketError
}

// NewIOErrorEvent returns an IOErrorEvent of type typ. Callable on any
// goroutine.
func NewIOErrorEvent(typ string, bubbles, cancelable bool, text string, errorID int) *IOErrorEvent {
	e := &IOErrorEvent{Text: text, ErrorID: errorID}
	e.Init(typ, bubbles, cancelable)
	return e
}

// Clone returns a new IOErrorEvent with e's type, flags, text and ID and no
// dispatch state.
func (e *IOErrorEvent) Clone() Eventer {
	return &IOErrorEvent{Event: *e.clone(), Text: e.Text, ErrorID: e.ErrorID}
}

// String formats e as AIR does (less eventPhase, see Event.String):
// [IOErrorEvent type="ioError" bubbles=false cancelable=false
// text="Error #2031: Socket Error." errorID=2031].
func (e *IOErrorEvent) String() string {
	b := e.appendTo(nil, "IOErrorEvent")
	b = appendQuoted(b, "text", e.Text)
	b = appendInt(b, "errorID", e.ErrorID)
	return string(append(b, ']'))
}

// SecurityErrorEvent reports an operation refused for safety, dispatched as
// SecurityErrorType. Like IOErrorEvent it goes to the uncaught-error handler
// when nobody listens for it.
type SecurityErrorEvent struct {
	Event
	Text    string // AIR's text: "Error #2048: Security sandbox violation: ..."
	ErrorID int    // the runtime's error number
}

// NewSecurityErrorEvent returns a SecurityErrorEvent of type typ. Callable
// on any goroutine.
func NewSecurityErrorEvent(typ string, bubbles, cancelable bool, text string, errorID int) *SecurityErrorEvent {
	e := &SecurityErrorEvent{Text: text, ErrorID: errorID}
	e.Init(typ, bubbles, cancelable)
	return e
}

// Clone returns a new SecurityErrorEvent with e's type, flags, text and ID
// and no dispatch state.
func (e *SecurityErrorEvent) Clone() Eventer {
	return &SecurityErrorEvent{Event: *e.clone(), Text: e.Text, ErrorID: e.ErrorID}
}

// String formats e as AIR does (less eventPhase, see Event.String):
// [SecurityErrorEvent type="securityError" bubbles=false cancelable=false
// text="..." errorID=2048].
func (e *SecurityErrorEvent) String() string {
	b := e.appendTo(nil, "SecurityErrorEvent")
	b = appendQuoted(b, "text", e.Text)
	b = appendInt(b, "errorID", e.ErrorID)
	return string(append(b, ']'))
}

// ServerSocketConnectEvent announces an accepted connection: ServerSocket
// dispatches it as Connect with Socket set to the new connection, whose
// listeners the handler adds before it returns. Like the socket events, the
// value is reused (one per loop): a listener keeps e.Socket, not e.
type ServerSocketConnectEvent struct {
	Event
	Socket *Socket // the accepted connection
}

// NewServerSocketConnectEvent returns a ServerSocketConnectEvent of type typ
// carrying socket. Callable on any goroutine.
func NewServerSocketConnectEvent(typ string, bubbles, cancelable bool, socket *Socket) *ServerSocketConnectEvent {
	e := &ServerSocketConnectEvent{Socket: socket}
	e.Init(typ, bubbles, cancelable)
	return e
}

// Clone returns a new ServerSocketConnectEvent with e's type, flags and
// Socket (the same connection, not a copy) and no dispatch state.
func (e *ServerSocketConnectEvent) Clone() Eventer {
	return &ServerSocketConnectEvent{Event: *e.clone(), Socket: e.Socket}
}

// String formats e as AIR does: [ServerSocketConnectEvent type="connect"
// bubbles=false cancelable=false socket=[object Socket]], or socket=null
// when Socket is nil.
func (e *ServerSocketConnectEvent) String() string {
	b := e.appendTo(nil, "ServerSocketConnectEvent")
	sock := "[object Socket]"
	if e.Socket == nil {
		sock = "null"
	}
	b = append(b, " socket="...)
	b = append(b, sock...)
	return string(append(b, ']'))
}
