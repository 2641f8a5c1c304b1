package serversocket

import (
	"bytes"
	"errors"
	"io"
	"math"
)

// inbound is what DataInput reads from: a connection's input buffer. The
// loop's Conn satisfies it; tests use an in-memory fake.
type inbound interface {
	// InboundBuffered returns the number of unread bytes.
	InboundBuffered() int
	// Peek returns the first n unread bytes as one contiguous slice, without
	// copying when it can; it is valid until the next call on the buffer.
	// It returns (nil, io.ErrShortBuffer) if fewer than n are buffered, and
	// all unread bytes if n <= 0.
	Peek(n int) ([]byte, error)
	// Discard consumes the first n unread bytes.
	Discard(n int) (int, error)
}

// DataInput is AIR's IDataInput over a connection's input buffer: typed
// reads in the byte order Endian names (BigEndian by default). Socket embeds
// it; without a connection every read is an IOError #2002, as on a closed
// AIR socket.
//
// Not enough input is an EOFError #2030. Fixed-size reads are atomic: on
// error nothing is consumed. The fixed-size reads allocate nothing.
// A DataInput belongs to its socket's loop goroutine: call all its methods
// there (from listeners, typically), never concurrently.
type DataInput struct {
	src   inbound
	order byteOrder // the zero value is BigEndian
	amf0  bool      // ObjectEncoding is AMF0; the zero value is AMF3
}

// Endian returns BigEndian or LittleEndian, the byte order of the reads.
func (d *DataInput) Endian() string { return d.order.String() }

// SetEndian sets the byte order of the reads to BigEndian or LittleEndian;
// any other value is an ArgumentError #2008 and changes nothing.
func (d *DataInput) SetEndian(endian string) error {
	order, err := parseEndian(endian)
	if err != nil {
		return err
	}
	d.order = order
	return nil
}

// BytesAvailable returns the number of unread input bytes; 0 without a
// connection.
func (d *DataInput) BytesAvailable() int {
	if d.src == nil {
		return 0
	}
	return d.src.InboundBuffered()
}

// ReadBoolean reads one byte: false if it is 0, true otherwise.
func (d *DataInput) ReadBoolean() (bool, error) {
	b, err := d.peek(1)
	if err != nil {
		return false, err
	}
	v := b[0] != 0
	return v, d.discard(1)
}

// ReadSignedByte reads one byte as a signed value, -128..127. It is AIR's
// readByte: go vet reserves the name ReadByte for io.ByteReader's unsigned
// (byte, error), and keeping AIR's meaning matters more than its name.
func (d *DataInput) ReadSignedByte() (int8, error) {
	v, err := d.ReadUnsignedByte()
	return int8(v), err
}

// ReadUnsignedByte reads one byte, 0..255.
func (d *DataInput) ReadUnsignedByte() (uint8, error) {
	b, err := d.peek(1)
	if err != nil {
		return 0, err
	}
	v := b[0]
	return v, d.discard(1)
}

// ReadShort reads a signed 16-bit integer.
func (d *DataInput) ReadShort() (int16, error) {
	v, err := d.ReadUnsignedShort()
	return int16(v), err
}

// ReadUnsignedShort reads an unsigned 16-bit integer.
func (d *DataInput) ReadUnsignedShort() (uint16, error) {
	b, err := d.peek(2)
	if err != nil {
		return 0, err
	}
	v := d.order.Uint16(b)
	return v, d.discard(2)
}

// ReadInt reads a signed 32-bit integer.
func (d *DataInput) ReadInt() (int32, error) {
	v, err := d.ReadUnsignedInt()
	return int32(v), err
}

// ReadUnsignedInt reads an unsigned 32-bit integer.
func (d *DataInput) ReadUnsignedInt() (uint32, error) {
	b, err := d.peek(4)
	if err != nil {
		return 0, err
	}
	v := d.order.Uint32(b)
	return v, d.discard(4)
}

// ReadFloat reads an IEEE 754 single-precision number.
func (d *DataInput) ReadFloat() (float32, error) {
	v, err := d.ReadUnsignedInt()
	return math.Float32frombits(v), err
}

// ReadDouble reads an IEEE 754 double-precision number.
func (d *DataInput) ReadDouble() (float64, error) {
	b, err := d.peek(8)
	if err != nil {
		return 0, err
	}
	v := d.order.Uint64(b)
	return math.Float64frombits(v), d.discard(8)
}

// ReadBytes reads length bytes (0: all available) into dst starting at
// offset and returns dst extended to cover them. Like AIR's ByteArray, dst
// grows as needed (append-style: the result may share dst's array or be a
// new one) and a gap between len(dst) and offset is filled with zeros.
// More than BytesAvailable is an EOFError; a negative offset or length is a
// RangeError #2006. On error dst is returned unchanged and nothing is
// consumed.
func (d *DataInput) ReadBytes(dst []byte, offset, length int) ([]byte, error) {
	if err := d.open(); err != nil {
		return dst, err
	}
	if offset < 0 || length < 0 {
		return dst, errOutOfBounds()
	}
	avail := d.src.InboundBuffered()
	if length == 0 {
		length = avail
	}
	if length > avail {
		return dst, errEOF()
	}
	if length == 0 {
		return dst, nil
	}
	if offset > math.MaxInt-length {
		return dst, errOutOfBounds()
	}
	b, err := d.peek(length)
	if err != nil {
		return dst, err
	}
	end := offset + length
	out := dst
	if end > len(out) {
		n := len(out)
		out = append(out, make([]byte, end-n)...) // zeroed growth; no allocation when cap suffices
	}
	copy(out[offset:end], b)
	if err := d.discard(length); err != nil {
		return dst, err
	}
	return out, nil
}

// ReadUTF reads a string written by WriteUTF: an unsigned 16-bit length, then
// that many bytes of UTF-8 read as ReadUTFBytes does. As in AVM2, the length
// prefix is consumed before the body is found short: with fewer body bytes
// than the prefix announces, the result is an EOFError and only the two
// prefix bytes are gone.
func (d *DataInput) ReadUTF() (string, error) {
	n, err := d.ReadUnsignedShort()
	if err != nil {
		return "", err
	}
	return d.ReadUTFBytes(int(n))
}

// ReadUTFBytes reads length bytes of UTF-8 and returns them as a string,
// following AVM2: a leading UTF-8 byte order mark is dropped and the string
// ends at the first NUL byte, while all length bytes are consumed either
// way. Invalid UTF-8 is kept as it is. Fewer than length bytes available is
// an EOFError with nothing consumed; a negative length is a RangeError.
func (d *DataInput) ReadUTFBytes(length int) (string, error) {
	if err := d.open(); err != nil {
		return "", err
	}
	if length < 0 {
		return "", errOutOfBounds()
	}
	if length == 0 {
		return "", nil
	}
	b, err := d.peek(length)
	if err != nil {
		return "", err
	}
	s := utf8Text(b)
	return s, d.discard(length)
}

// ReadMultiByte reads length bytes encoded in charset, an IANA label such as
// "shift_jis", "gb2312", "iso-8859-1" or "windows-1252", and returns them as
// a UTF-8 string. For UTF-8 it behaves as ReadUTFBytes; other charsets are
// decoded whole (bytes that are invalid in the charset become U+FFFD).
// An unknown charset is an ArgumentError #2008 (see lookupCharset for why it
// is not AIR's silent fallback). Errors consume nothing.
func (d *DataInput) ReadMultiByte(length int, charset string) (string, error) {
	if err := d.open(); err != nil {
		return "", err
	}
	if length < 0 {
		return "", errOutOfBounds()
	}
	enc, err := lookupCharset(charset)
	if err != nil {
		return "", err
	}
	if isUTF8(enc) {
		return d.ReadUTFBytes(length)
	}
	if length == 0 {
		return "", nil
	}
	b, err := d.peek(length)
	if err != nil {
		return "", err
	}
	text, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return "", errInvalidParameter(err)
	}
	return string(text), d.discard(length)
}

// utf8Bom is the UTF-8 encoding of U+FEFF, which AVM2 skips at the start of
// ReadUTFBytes.
var utf8Bom = []byte{0xEF, 0xBB, 0xBF}

// utf8Text applies AVM2's ReadUTFBytes rules to b: drop a leading BOM, end
// at the first NUL.
func utf8Text(b []byte) string {
	b = bytes.TrimPrefix(b, utf8Bom)
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// open reports an IOError #2002 when there is no source or it has closed,
// so that reads of zero bytes fail on a closed socket as others do.
func (d *DataInput) open() error {
	if d.src == nil {
		return errInvalidSocket(nil)
	}
	if o, ok := d.src.(interface{ closed() error }); ok {
		if err := o.closed(); err != nil {
			return errInvalidSocket(err)
		}
	}
	return nil
}

// peek returns the first n unread bytes without consuming them, or an
// EOFError if fewer are available.
func (d *DataInput) peek(n int) ([]byte, error) {
	if d.src == nil {
		return nil, errInvalidSocket(nil)
	}
	b, err := d.src.Peek(n)
	if err != nil {
		if errors.Is(err, io.ErrShortBuffer) {
			return nil, errEOF()
		}
		return nil, errInvalidSocket(err)
	}
	if len(b) < n { // a buffer breaking Peek's contract must not make us index past b
		return nil, errEOF()
	}
	return b, nil
}

// discard consumes n bytes that peek has just returned.
func (d *DataInput) discard(n int) error {
	if _, err := d.src.Discard(n); err != nil {
		return errInvalidSocket(err)
	}
	return nil
}
