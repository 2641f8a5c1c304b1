package serversocket

import (
	"io"
	"math"

	"golang.org/x/text/encoding"
)

// outbound is what DataOutput writes to: a connection's output buffer. The
// loop's Conn satisfies it; tests use an in-memory fake. If it also
// implements io.StringWriter, strings are written without a copy.
type outbound interface {
	Write(p []byte) (int, error)
}

// maxUTFLength is the longest body WriteUTF can announce in its 16-bit
// prefix.
const maxUTFLength = 65535

// DataOutput is AIR's IDataOutput over a connection's output buffer: typed
// writes in the byte order Endian names (BigEndian by default). Writes only
// buffer; the socket sends the buffer when it flushes. Socket embeds it;
// without a connection every write is an IOError #2002.
//
// A write that fails its argument checks writes nothing. The fixed-size
// writes allocate nothing. A Socket's DataOutput is safe from any goroutine:
// the socket's lock is held across each typed write, so concurrent writes
// never interleave within a value (or a WriteUTF's prefix and body).
type DataOutput struct {
	dst     outbound
	order   byteOrder // the zero value is BigEndian
	amf0    bool      // ObjectEncoding is AMF0; the zero value is AMF3
	scratch [8]byte   // encodes fixed-size values; a field so it never escapes per call
}

// Endian returns BigEndian or LittleEndian, the byte order of the writes.
func (d *DataOutput) Endian() string { return d.order.String() }

// SetEndian sets the byte order of the writes to BigEndian or LittleEndian;
// any other value is an ArgumentError #2008 and changes nothing.
func (d *DataOutput) SetEndian(endian string) error {
	order, err := parseEndian(endian)
	if err != nil {
		return err
	}
	d.order = order
	return nil
}

// WriteBoolean writes one byte: 1 for true, 0 for false.
func (d *DataOutput) WriteBoolean(v bool) error {
	d.lock()
	defer d.unlock()
	d.scratch[0] = 0
	if v {
		d.scratch[0] = 1
	}
	return d.write(d.scratch[:1])
}

// WriteByte writes one byte. AIR's writeByte takes an int and keeps its low
// 8 bits; go vet requires io.ByteWriter's WriteByte(byte), and byte(v) keeps
// the same low 8 bits.
func (d *DataOutput) WriteByte(v byte) error {
	d.lock()
	defer d.unlock()
	d.scratch[0] = v
	return d.write(d.scratch[:1])
}

// WriteShort writes the low 16 bits of v. It takes an int because AIR has no
// writeUnsignedShort: 65535 and -1 both write 0xFFFF.
func (d *DataOutput) WriteShort(v int) error {
	d.lock()
	defer d.unlock()
	return d.writeShort(v)
}

func (d *DataOutput) writeShort(v int) error {
	d.order.PutUint16(d.scratch[:2], uint16(v))
	return d.write(d.scratch[:2])
}

// WriteInt writes a signed 32-bit integer.
func (d *DataOutput) WriteInt(v int32) error { return d.WriteUnsignedInt(uint32(v)) }

// WriteUnsignedInt writes an unsigned 32-bit integer.
func (d *DataOutput) WriteUnsignedInt(v uint32) error {
	d.lock()
	defer d.unlock()
	d.order.PutUint32(d.scratch[:4], v)
	return d.write(d.scratch[:4])
}

// WriteFloat writes an IEEE 754 single-precision number.
func (d *DataOutput) WriteFloat(v float32) error { return d.WriteUnsignedInt(math.Float32bits(v)) }

// WriteDouble writes an IEEE 754 double-precision number.
func (d *DataOutput) WriteDouble(v float64) error {
	d.lock()
	defer d.unlock()
	d.order.PutUint64(d.scratch[:8], math.Float64bits(v))
	return d.write(d.scratch[:8])
}

// WriteBytes writes length bytes of src starting at offset; length 0 means
// the rest of src. As in AVM2, an offset past the end of src is treated as
// the end (so with length 0 nothing is written), and a length reaching past
// the end is a RangeError #2006; negative values are RangeErrors too. On
// error nothing is written.
func (d *DataOutput) WriteBytes(src []byte, offset, length int) error {
	d.lock()
	defer d.unlock()
	if d.dst == nil {
		return errInvalidSocket(nil)
	}
	if offset < 0 || length < 0 {
		return errOutOfBounds()
	}
	offset = min(offset, len(src))
	if length == 0 {
		length = len(src) - offset
	}
	if length > len(src)-offset {
		return errOutOfBounds()
	}
	if length == 0 {
		return nil
	}
	return d.write(src[offset : offset+length])
}

// WriteUTF writes s with an unsigned 16-bit length prefix, the form ReadUTF
// reads. A string over 65535 bytes is a RangeError #2006 and writes nothing.
// Go strings are written as the bytes they hold (UTF-8 by convention).
func (d *DataOutput) WriteUTF(s string) error {
	if d.dst == nil {
		return errInvalidSocket(nil)
	}
	if len(s) > maxUTFLength {
		return errOutOfBounds()
	}
	d.lock()
	defer d.unlock()
	if err := d.writeShort(len(s)); err != nil {
		return err
	}
	return d.writeString(s)
}

// WriteUTFBytes writes the bytes of s with no length prefix.
func (d *DataOutput) WriteUTFBytes(s string) error {
	if d.dst == nil {
		return errInvalidSocket(nil)
	}
	d.lock()
	defer d.unlock()
	return d.writeString(s)
}

// WriteMultiByte writes s encoded in charset, an IANA label such as
// "shift_jis", "gb2312", "iso-8859-1" or "windows-1252"; for UTF-8 it is
// WriteUTFBytes. A character the charset cannot represent (and invalid
// UTF-8 in s) is written as the ASCII substitute byte 0x1A: AIR also writes a
// substitute rather than failing. An unknown charset is an ArgumentError
// #2008 and writes nothing.
func (d *DataOutput) WriteMultiByte(s, charset string) error {
	if d.dst == nil {
		return errInvalidSocket(nil)
	}
	enc, err := lookupCharset(charset)
	if err != nil {
		return err
	}
	var b []byte
	if !isUTF8(enc) {
		if b, err = encoding.ReplaceUnsupported(enc.NewEncoder()).Bytes([]byte(s)); err != nil {
			return errInvalidParameter(err)
		}
	}
	d.lock()
	defer d.unlock()
	if b == nil {
		return d.writeString(s)
	}
	return d.write(b)
}

// lock and unlock guard a whole typed write (the shared scratch array and
// a WriteUTF's prefix with its body) when the sink is a Socket's, which
// goroutines share: its lock. Other sinks are not shared.
func (d *DataOutput) lock() {
	if o, ok := d.dst.(*socketOutput); ok {
		o.lock()
	}
}

func (d *DataOutput) unlock() {
	if o, ok := d.dst.(*socketOutput); ok {
		o.unlock()
	}
}

// write hands p to the output buffer.
func (d *DataOutput) write(p []byte) error {
	if d.dst == nil {
		return errInvalidSocket(nil)
	}
	if _, err := d.dst.Write(p); err != nil {
		return errInvalidSocket(err)
	}
	return nil
}

// writeString hands s to the output buffer, without copying it if the buffer
// takes strings.
func (d *DataOutput) writeString(s string) error {
	if len(s) == 0 {
		return nil
	}
	if sw, ok := d.dst.(io.StringWriter); ok {
		if _, err := sw.WriteString(s); err != nil {
			return errInvalidSocket(err)
		}
		return nil
	}
	return d.write([]byte(s))
}
