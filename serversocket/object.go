package serversocket

import (
	"errors"
	"sync"

	"github.com/airsock/airsock/amf"
)

// AIR's flash.net.ObjectEncoding: the AMF version of readObject and
// writeObject.
const (
	ObjectEncodingAMF0    uint = 0
	ObjectEncodingAMF3    uint = 3
	ObjectEncodingDefault      = ObjectEncodingAMF3
)

// ObjectEncoding returns ObjectEncodingAMF3 (the default) or
// ObjectEncodingAMF0, the version ReadObject decodes.
func (d *DataInput) ObjectEncoding() uint { return objectEncoding(d.amf0) }

// SetObjectEncoding sets the version ReadObject decodes; another value
// than ObjectEncodingAMF0 and ObjectEncodingAMF3 is an ArgumentError #2008.
func (d *DataInput) SetObjectEncoding(v uint) error {
	amf0, err := parseObjectEncoding(v)
	if err == nil {
		d.amf0 = amf0
	}
	return err
}

// ObjectEncoding returns the version WriteObject encodes.
func (d *DataOutput) ObjectEncoding() uint { return objectEncoding(d.amf0) }

// SetObjectEncoding sets the version WriteObject encodes, as DataInput's.
func (d *DataOutput) SetObjectEncoding(v uint) error {
	amf0, err := parseObjectEncoding(v)
	if err == nil {
		d.amf0 = amf0
	}
	return err
}

func objectEncoding(amf0 bool) uint {
	if amf0 {
		return ObjectEncodingAMF0
	}
	return ObjectEncodingAMF3
}

func parseObjectEncoding(v uint) (amf0 bool, err error) {
	switch v {
	case ObjectEncodingAMF0:
		return true, nil
	case ObjectEncodingAMF3:
		return false, nil
	}
	return false, errNotAccepted("objectEncoding")
}

// decoders and encoders are reused across sockets: a socket holds none.
var (
	decoders = sync.Pool{New: func() any { return amf.NewDecoder() }}
	encoders = sync.Pool{New: func() any { return &objectWriter{enc: amf.NewEncoder()} }}
)

// objectWriter is an encoder with the buffer it encodes into.
type objectWriter struct {
	enc *amf.Encoder
	buf []byte
}

// objectScan is a socket's scan of an object whose bytes have not all
// arrived (amf.Scanner), from the stream offset from; partial says the
// scan has found the object there incomplete and goes on with more bytes.
type objectScan struct {
	amf.Scanner
	from    int64
	partial bool
}

// objectScanner is implemented by inputs that keep ReadObject's scan
// between calls: a Socket's.
type objectScanner interface {
	objectScanner() *objectScan
	scanning() bool
}

// objectScanner returns the socket's scan, starting at the first unread
// byte: a scan left from an object that other reads have consumed since
// starts again.
func (in *socketInput) objectScanner() *objectScan {
	x := (*Socket)(in).x()
	if x.scan == nil {
		x.scan = &objectScan{from: x.consumed}
	}
	if x.scan.from != x.consumed {
		x.scan.reset()
		x.scan.from = x.consumed
	}
	return x.scan
}

// scanning reports whether a scan of a partial object at the first unread
// byte is under way.
func (in *socketInput) scanning() bool {
	x := (*Socket)(in).x()
	return x.scan != nil && x.scan.partial && x.scan.from == x.consumed
}

func (sc *objectScan) reset() {
	sc.Reset()
	sc.partial = false
}

// scan finds the end of the AMF 3 object b starts with, keeping where it
// got to, when the input can keep a scan: ok says to decode b[:n] (n is 0
// when the scan cannot tell and the decoder must find out); otherwise err
// is ReadObject's error.
func (d *DataInput) scan(b []byte) (n int, ok bool, err error) {
	in, can := d.src.(objectScanner)
	if !can || d.amf0 {
		return 0, true, nil
	}
	sc := in.objectScanner()
	n, err = sc.Scan(b)
	switch {
	case errors.Is(err, amf.ErrTruncated):
		sc.partial = true
		return 0, false, d.partial() // the scan goes on with the next bytes
	case errors.Is(err, amf.ErrUnscannable):
		sc.reset()
		return 0, true, nil
	case err != nil:
		sc.reset()
		return 0, false, &RangeError{ErrorID: IDOutOfBounds, Message: msgOutOfBounds, Err: err}
	}
	sc.reset()
	return n, true, nil
}

// midScan reports whether the input keeps a scan of a partial object at
// its first unread byte.
func (d *DataInput) midScan() bool {
	in, can := d.src.(objectScanner)
	return can && in.scanning()
}

// partial is ReadObject's error for an object not all in: an EOFError, or,
// when the input already holds all the connection may (loop.Conn's
// InboundLimit: reading has paused), a RangeError wrapping an
// amf.LimitError "MaxInbound", since the rest cannot come.
func (d *DataInput) partial() error {
	if in, ok := d.src.(interface{ inputLimit() (int, bool) }); ok {
		if limit, full := in.inputLimit(); full {
			return &RangeError{ErrorID: IDOutOfBounds, Message: msgOutOfBounds,
				Err: &amf.LimitError{Offset: limit, Limit: "MaxInbound", Value: limit}}
		}
	}
	return errEOF()
}

// inputLimit reports the connection's InboundLimit and whether the unread
// input has reached it.
func (in *socketInput) inputLimit() (int, bool) {
	c := in.conn.Load()
	if c == nil {
		return 0, false
	}
	limit := c.InboundLimit()
	return limit, c.InboundBuffered() >= limit
}

// ReadObject decodes one object in the ObjectEncoding (AMF 3 by default)
// from the input, as AIR's readObject: class aliases resolve through
// amf.DefaultRegistry (amf.RegisterClassAlias, AIR's registerClassAlias),
// and the Go types are the amf package's. It is atomic: when the input
// holds only part of an object the result is an EOFError and nothing is
// consumed, so a socketData listener may loop
//
//	for s.BytesAvailable() > 0 {
//		v, err := s.ReadObject()
//		if err != nil { break } // an EOFError: the rest comes with a later socketData
//		...
//	}
//
// Malformed input, or an object beyond amf's default Limits (nesting,
// elements), is a RangeError #2006 wrapping the amf error, with nothing
// consumed: the stream cannot be resynchronised, so close the socket. So
// is an object larger than the input the socket may hold (MaxInbound, 64
// KiB by default), once that much is in: ReserveInbound and read again
// for larger objects, or close. The
// object does not alias the input. An object that arrives in many small
// pieces costs time linear in its length: the socket keeps an amf.Scanner
// between calls and decodes the object once it is all in (an AMF 0
// object, or one of an externalizable class other than Flex's
// collections, is decoded again from its start at each call instead,
// within the input bound, MaxInbound). Loop goroutine only, as every read.
func (d *DataInput) ReadObject() (any, error) {
	if err := d.open(); err != nil {
		return nil, err
	}
	b, err := d.peek(0)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, errEOF()
	}
	if d.amf0 || !d.midScan() {
		// An object that arrived whole is decoded at once; only one that
		// did not is scanned, below, as its pieces arrive.
		v, n, err := d.decode(b)
		if !errors.Is(err, amf.ErrTruncated) || d.amf0 {
			return d.decoded(v, n, err)
		}
	}
	end, ok, err := d.scan(b)
	if !ok {
		return nil, err
	}
	if end > 0 {
		b = b[:end]
	}
	return d.decoded(d.decode(b))
}

// decode decodes the object b starts with in the ObjectEncoding.
func (d *DataInput) decode(b []byte) (v any, n int, err error) {
	dec := decoders.Get().(*amf.Decoder)
	if d.amf0 {
		v, n, err = dec.DecodeAMF0(b)
	} else {
		v, n, err = dec.Decode(b)
	}
	decoders.Put(dec)
	return v, n, err
}

// decoded is ReadObject's result for what decode returned: the object,
// consumed; or an EOFError or RangeError, nothing consumed.
func (d *DataInput) decoded(v any, n int, err error) (any, error) {
	switch {
	case errors.Is(err, amf.ErrTruncated):
		return nil, d.partial()
	case err != nil:
		return nil, &RangeError{ErrorID: IDOutOfBounds, Message: msgOutOfBounds, Err: err}
	}
	return v, d.discard(n)
}

// WriteObject encodes v in the ObjectEncoding (AMF 3 by default) into the
// output, as AIR's writeObject, with fresh reference tables (the amf
// package's doc has the Go types). A value amf cannot encode is an
// ArgumentError #2004 wrapping its error, and nothing is written. Safe
// from any goroutine, like the other writes: the object goes out whole.
// Primitives and strings allocate nothing.
func (d *DataOutput) WriteObject(v any) error {
	w := encoders.Get().(*objectWriter)
	var err error
	if d.amf0 {
		w.buf, err = w.enc.EncodeAMF0(w.buf[:0], v)
	} else {
		w.buf, err = w.enc.Encode(w.buf[:0], v)
	}
	if err == nil {
		d.lock()
		err = d.write(w.buf)
		d.unlock()
	} else {
		err = errInvalidParameter(err)
	}
	if cap(w.buf) > 64<<10 {
		w.buf = nil // one large object: not kept in the pool
	}
	encoders.Put(w)
	return err
}
