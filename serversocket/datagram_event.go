package serversocket

import (
	"bytes"
	"errors"
	"io"
)

// Data is the type of the event a DatagramSocket dispatches for each
// received datagram (DatagramSocketDataEvent), AIR's
// DatagramSocketDataEvent.DATA.
const Data = "data"

// DatagramSocketDataEvent is AIR's flash.events.DatagramSocketDataEvent:
// one received datagram, dispatched by a DatagramSocket as Data.
//
// The socket reuses one event and one payload for all its datagrams, and
// the payload is the loop's memory, read in place with no copy: both are
// valid only while the listeners run. A listener that keeps the datagram
// keeps a Clone, or copies Data.Bytes(). After the dispatch, Data is
// detached from that memory, so that a payload kept by mistake cannot show
// the bytes of a later datagram: its reads fail with an IOError #2002 and
// Bytes returns nil, until the next datagram's dispatch reuses it.
//
// DstAddress is the address the datagram was sent to: on Linux, for a
// socket bound to "0.0.0.0" or "::", the one in its header (IP_PKTINFO,
// loop.Datagram.To); elsewhere, and for a socket bound to one address, the
// bound address. DstPort is the socket's port.
type DatagramSocketDataEvent struct {
	Event
	SrcAddress string        // the sender's IP address (an IPv4 sender as IPv4)
	SrcPort    int           // the sender's port
	DstAddress string        // the IP address the datagram was sent to (see above)
	DstPort    int           // the receiving socket's port
	Data       *DatagramData // the payload, valid during the dispatch (see above)
}

// NewDatagramSocketDataEvent returns a DatagramSocketDataEvent of type typ
// carrying data (which may be nil). Callable on any goroutine.
func NewDatagramSocketDataEvent(typ string, bubbles, cancelable bool, srcAddress string, srcPort int, dstAddress string, dstPort int, data *DatagramData) *DatagramSocketDataEvent {
	e := &DatagramSocketDataEvent{SrcAddress: srcAddress, SrcPort: srcPort, DstAddress: dstAddress, DstPort: dstPort, Data: data}
	e.Init(typ, bubbles, cancelable)
	return e
}

// Clone returns a new DatagramSocketDataEvent with e's type, flags and
// addresses, no dispatch state, and a copy of the payload (its bytes, read
// position and byte order) that stays valid after the dispatch: the way
// for a listener to keep a datagram. Call it on the dispatching goroutine.
func (e *DatagramSocketDataEvent) Clone() Eventer {
	return &DatagramSocketDataEvent{Event: *e.clone(), SrcAddress: e.SrcAddress, SrcPort: e.SrcPort,
		DstAddress: e.DstAddress, DstPort: e.DstPort, Data: e.Data.clone()}
}

// String formats e as AIR's toString does, less eventPhase (see
// Event.String) and the payload, whose bytes may be binary:
// [DatagramSocketDataEvent type="data" bubbles=false cancelable=false
// srcAddress="127.0.0.1" srcPort=5000 dstAddress="0.0.0.0" dstPort=6000].
func (e *DatagramSocketDataEvent) String() string {
	b := e.appendTo(nil, "DatagramSocketDataEvent")
	b = appendQuoted(b, "srcAddress", e.SrcAddress)
	b = appendInt(b, "srcPort", e.SrcPort)
	b = appendQuoted(b, "dstAddress", e.DstAddress)
	b = appendInt(b, "dstPort", e.DstPort)
	return string(append(b, ']'))
}

// DatagramData is a datagram's payload as AIR's event.data ByteArray offers
// it: the typed reads of DataInput (big-endian unless SetEndian says
// otherwise; each datagram starts big-endian, as each of AIR's ByteArrays
// does), Bytes for the Go code that wants the bytes themselves, and Length.
// Reads consume: BytesAvailable is what is left. A DatagramData belongs to
// the goroutine that dispatches its event; one of a socket's events is
// valid only during the dispatch (see DatagramSocketDataEvent).
type DatagramData struct {
	DataInput
	in datagramInput
}

// NewDatagramData returns a payload that reads b, which it does not copy
// and which stays the caller's. Callable on any goroutine.
func NewDatagramData(b []byte) *DatagramData {
	d := &DatagramData{}
	d.attach(b)
	return d
}

// Bytes returns the unread bytes without copying them: they are valid only
// during the dispatch (copy them to keep them). nil once detached. Call it
// on the dispatching goroutine.
func (d *DatagramData) Bytes() []byte {
	if !d.in.open {
		return nil
	}
	return d.in.b[d.in.off:]
}

// Length returns the datagram's length in bytes, read or not; 0 once
// detached. Call it on the dispatching goroutine.
func (d *DatagramData) Length() int { return len(d.in.b) }

// attach makes d read b from its start, big-endian.
func (d *DatagramData) attach(b []byte) {
	d.DataInput = DataInput{src: &d.in}
	d.in = datagramInput{b: b, open: true}
}

// detach ends d's hold on the memory it read.
func (d *DatagramData) detach() { d.in = datagramInput{} }

// clone returns a copy of d over a copy of its bytes; nil for nil.
func (d *DatagramData) clone() *DatagramData {
	if d == nil {
		return nil
	}
	c := &DatagramData{}
	c.attach(bytes.Clone(d.in.b))
	c.order = d.order
	c.in.off, c.in.open = d.in.off, d.in.open
	return c
}

// errDetached is the cause of the IOError of a read from a payload whose
// dispatch has ended.
var errDetached = errors.New("datagram payload read after its dispatch ended")

// datagramInput is DataInput's source over one datagram: its bytes and how
// many have been read.
type datagramInput struct {
	b    []byte
	off  int
	open bool // false once detached: reads fail instead of seeing other bytes
}

func (in *datagramInput) InboundBuffered() int { return len(in.b) - in.off }

func (in *datagramInput) Peek(n int) ([]byte, error) {
	if !in.open {
		return nil, errDetached
	}
	rest := in.b[in.off:]
	if n <= 0 {
		return rest, nil
	}
	if n > len(rest) {
		return nil, io.ErrShortBuffer
	}
	return rest[:n], nil
}

func (in *datagramInput) Discard(n int) (int, error) {
	if !in.open {
		return 0, errDetached
	}
	n = min(max(n, 0), len(in.b)-in.off)
	in.off += n
	return n, nil
}

// closed reports errDetached once the payload is detached, so that every
// read fails alike (DataInput.open).
func (in *datagramInput) closed() error {
	if !in.open {
		return errDetached
	}
	return nil
}
