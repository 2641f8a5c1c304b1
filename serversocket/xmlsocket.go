package serversocket

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/airsock/airsock/loop"
)

// DefaultXMLMessageMax is the default bound on one XMLSocket message: one
// byte less than the engine's default MaxInbound, so that a message and its
// terminating 0 fit the input a connection may hold.
const DefaultXMLMessageMax = 64<<10 - 1

// XMLSocket is AIR's flash.net.XMLSocket: a connection that carries text
// messages (XML documents, in AIR's apps), each ended by a 0 byte. Send
// appends the 0; each message received is a DataEvent "data" with its text
// (without the 0). Its events: connect once connected (on the client
// side), data, close when the peer or the OS closes it (never for Close),
// and ioError / securityError as Socket's.
//
// On a server, NewXMLSocketFor reads the same messages from an accepted
// Socket (an airsock extension: AIR's servers get a plain Socket). One
// message is at most MaxMessageSize bytes (DefaultXMLMessageMax, 64 KiB
// less one); a longer one is an ioError and closes the connection, as
// bad input closes only its own connection.
//
// Send, Close, Connected and the properties are safe from any goroutine;
// the events are dispatched on the connection's loop goroutine.
type XMLSocket struct {
	EventDispatcher
	sock    *Socket
	maxSize atomic.Int64
	scanned int       // unread input already searched for a 0; loop goroutine
	event   DataEvent // reused for each message; loop goroutine
}

// NewXMLSocket returns an unconnected XMLSocket on the default engine
// (DefaultEngine). Any goroutine.
func NewXMLSocket() (*XMLSocket, error) {
	e, err := DefaultEngine()
	if err != nil {
		return nil, err
	}
	return NewXMLSocketOn(e), nil
}

// NewXMLSocketOn returns an unconnected XMLSocket on engine e. Any goroutine.
func NewXMLSocketOn(e *loop.Engine) *XMLSocket {
	x := newXMLSocket(NewSocketOn(e))
	x.sock.AddEventListener(Connect, x.onConnect, 0)
	return x
}

// NewXMLSocketFor reads and writes XMLSocket messages over s, a connected
// socket (one a ServerSocket accepted, typically): from then on s's input
// is the XMLSocket's, and its events are the XMLSocket's too (data, close,
// ioError). Call it on s's loop goroutine: in the ServerSocket's connect
// listener, or later (in a socketData listener that looked at the first
// bytes, say); input already buffered then is dispatched once the current
// listener has returned, so that the listeners added right after this
// call hear it.
func NewXMLSocketFor(s *Socket) *XMLSocket {
	x := newXMLSocket(s)
	x.reserve()
	if c := s.conn.Load(); c != nil && s.BytesAvailable() > 0 {
		c.Run(func(*loop.Conn) { x.onData(nil) })
	}
	return x
}

func newXMLSocket(s *Socket) *XMLSocket {
	x := &XMLSocket{sock: s}
	x.EventDispatcher.target = x
	x.maxSize.Store(DefaultXMLMessageMax)
	x.event.Init(Data, false, false)
	s.AddEventListener(SocketData, x.onData, 0)
	for _, typ := range []string{Close, IOErrorType, SecurityErrorType} {
		s.AddEventListener(typ, x.forward, 0)
	}
	return x
}

// Connect connects to host:port, as Socket.Connect (the same errors; the
// Timeout bounds it); connect follows, or ioError or securityError. Any
// goroutine.
func (x *XMLSocket) Connect(host string, port int) error { return x.sock.Connect(host, port) }

// Connected reports whether the socket is connected. Any goroutine.
func (x *XMLSocket) Connected() bool { return x.sock.Connected() }

// Timeout returns the connect timeout in milliseconds (default 20000).
// Any goroutine.
func (x *XMLSocket) Timeout() int { return x.sock.Timeout() }

// SetTimeout sets the connect timeout in milliseconds for later Connects.
// Any goroutine.
func (x *XMLSocket) SetTimeout(ms int) { x.sock.SetTimeout(ms) }

// MaxMessageSize returns the bound on one message received, in bytes
// without its 0. Any goroutine.
func (x *XMLSocket) MaxMessageSize() int { return int(x.maxSize.Load()) }

// SetMaxMessageSize sets the bound on one message received (at least 1).
// Past DefaultXMLMessageMax it reserves the room with ReserveInbound once
// connected, and returns that reservation's error (the engine's
// InboundBudget may have no room). Call it on the loop goroutine once
// connected (in the connect listener), or before Connect.
func (x *XMLSocket) SetMaxMessageSize(n int) error {
	if n < 1 {
		return errOutOfBounds()
	}
	x.maxSize.Store(int64(n))
	if x.sock.Connected() {
		return x.reserve()
	}
	return nil
}

// reserve makes room for a message beyond the default input bound.
func (x *XMLSocket) reserve() error {
	if n := x.MaxMessageSize(); n > DefaultXMLMessageMax {
		return x.sock.ReserveInbound(n + 1)
	}
	return nil
}

// Send sends v's text and a 0 byte: v's own if it is a string, XML text
// (amf.XML, amf.XMLDocument or any string type), its String method's
// if it has one, else fmt's %v, as AIR sends an object's toString(). Text
// holding a 0 byte is an ArgumentError #2004 (it would end the message
// early) and sends nothing; not connected, an IOError #2002. The message
// is flushed at once. Any goroutine.
func (x *XMLSocket) Send(v any) error {
	var text string
	switch t := v.(type) {
	case string:
		text = t
	case fmt.Stringer:
		text = t.String()
	default:
		text = fmt.Sprint(v) // a string type prints as its text
	}
	if strings.IndexByte(text, 0) >= 0 {
		return errInvalidParameter(errors.New("an XMLSocket message cannot hold a 0 byte"))
	}
	if !x.sock.Connected() {
		return errInvalidSocket(errNotConnected)
	}
	if err := x.sock.writeMessage(text); err != nil {
		return err
	}
	return x.sock.Flush()
}

// Close closes the connection; no close event follows. Any goroutine.
func (x *XMLSocket) Close() error { return x.sock.Close() }

// onConnect forwards connect, after reserving a larger message's room.
func (x *XMLSocket) onConnect(Eventer) {
	x.scanned = 0
	if err := x.reserve(); err != nil {
		x.fail(err.Error())
		return
	}
	x.DispatchEvent(NewEvent(Connect, false, false))
}

// forward re-dispatches the socket's close, ioError and securityError as
// the XMLSocket's.
func (x *XMLSocket) forward(e Eventer) { x.DispatchEvent(e.Clone()) }

// onData dispatches each complete message of the input, and fails a
// message longer than the bound. Each byte is searched once: what was
// searched without finding a 0 is remembered, so a message trickled in
// small pieces costs its length, not its length squared.
func (x *XMLSocket) onData(Eventer) {
	for x.sock.Connected() {
		b, err := x.sock.Peek(0)
		if err != nil || len(b) <= x.scanned {
			return
		}
		i := bytes.IndexByte(b[x.scanned:], 0)
		max := x.MaxMessageSize()
		if i < 0 {
			x.scanned = len(b)
			switch {
			case len(b) > max:
				x.fail(fmt.Sprintf("Error #2031: Socket Error. An XMLSocket message of more than %d bytes.", max))
			case x.inputFull():
				// The engine's MaxInbound is below the bound: no more input
				// can come, so the message cannot end.
				x.fail(fmt.Sprintf("Error #2031: Socket Error. An XMLSocket message of more than %d bytes, the input this connection may hold.", len(b)-1))
			}
			return
		}
		end := x.scanned + i
		if end > max {
			x.fail(fmt.Sprintf("Error #2031: Socket Error. An XMLSocket message of %d bytes, more than %d.", end, max))
			return
		}
		x.event.Data = string(b[:end])
		x.sock.Discard(end + 1)
		x.scanned = 0
		x.DispatchEvent(&x.event)
		x.event.Data = ""
	}
}

// inputFull reports whether the unread input is all the connection may
// hold (socketInput.inputLimit, which ReadObject asks too).
func (x *XMLSocket) inputFull() bool {
	_, full := (*socketInput)(x.sock).inputLimit()
	return full
}

// fail reports bad input as an ioError and closes the connection.
func (x *XMLSocket) fail(text string) {
	x.sock.Close()
	x.DispatchEvent(NewIOErrorEvent(IOErrorType, false, false, text, IDSocketError))
}

// DataEvent is AIR's flash.events.DataEvent: a message of text, here an
// XMLSocket's. An XMLSocket reuses one for each message; a listener keeps
// its Data (a string, safe to keep) or a Clone.
type DataEvent struct {
	Event
	Data string
}

// NewDataEvent returns a DataEvent of type typ carrying data. Any
// goroutine.
func NewDataEvent(typ string, bubbles, cancelable bool, data string) *DataEvent {
	e := &DataEvent{Data: data}
	e.Init(typ, bubbles, cancelable)
	return e
}

// Clone returns a new DataEvent with e's type, flags and data, without
// dispatch state. Call it on the dispatching goroutine.
func (e *DataEvent) Clone() Eventer { return &DataEvent{Event: *e.clone(), Data: e.Data} }

// String formats e as AIR's toString does, less eventPhase:
// [DataEvent type="data" bubbles=false cancelable=false data="<a/>"].
func (e *DataEvent) String() string {
	b := e.appendTo(nil, "DataEvent")
	b = appendQuoted(b, "data", e.Data)
	return string(append(b, ']'))
}

// nul ends an XMLSocket message.
var nul = [1]byte{0}

// writeMessage appends text and its 0 to the output as one write: a
// concurrent Send cannot land between them.
func (s *Socket) writeMessage(text string) error {
	d := &s.DataOutput
	d.lock()
	defer d.unlock()
	if err := d.writeString(text); err != nil {
		return err
	}
	return d.write(nul[:])
}
