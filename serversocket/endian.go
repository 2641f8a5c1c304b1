package serversocket

import "encoding/binary"

// Byte orders for DataInput and DataOutput, AIR's flash.utils.Endian values.
const (
	BigEndian    = "bigEndian"    // most significant byte first; the default
	LittleEndian = "littleEndian" // least significant byte first
)

// parseEndian maps an Endian value to its byte order. Anything else is
// AIR's ArgumentError #2008 for the parameter "type".
func parseEndian(s string) (byteOrder, error) {
	switch s {
	case BigEndian:
		return byteOrder{}, nil
	case LittleEndian:
		return byteOrder{little: true}, nil
	}
	return byteOrder{}, errNotAccepted("type")
}

// byteOrder is a byte order as DataInput and DataOutput keep it: one
// byte rather than a binary.ByteOrder interface value, and calls to the
// concrete binary.BigEndian or binary.LittleEndian that the compiler can
// inline, where an interface call per value would cost more than the
// conversion itself. It implements binary.ByteOrder.
type byteOrder struct{ little bool }

var _ binary.ByteOrder = byteOrder{}

func (o byteOrder) Uint16(b []byte) uint16 {
	if o.little {
		return binary.LittleEndian.Uint16(b)
	}
	return binary.BigEndian.Uint16(b)
}

func (o byteOrder) Uint32(b []byte) uint32 {
	if o.little {
		return binary.LittleEndian.Uint32(b)
	}
	return binary.BigEndian.Uint32(b)
}

func (o byteOrder) Uint64(b []byte) uint64 {
	if o.little {
		return binary.LittleEndian.Uint64(b)
	}
	return binary.BigEndian.Uint64(b)
}

func (o byteOrder) PutUint16(b []byte, v uint16) {
	if o.little {
		binary.LittleEndian.PutUint16(b, v)
	} else {
		binary.BigEndian.PutUint16(b, v)
	}
}

func (o byteOrder) PutUint32(b []byte, v uint32) {
	if o.little {
		binary.LittleEndian.PutUint32(b, v)
	} else {
		binary.BigEndian.PutUint32(b, v)
	}
}

func (o byteOrder) PutUint64(b []byte, v uint64) {
	if o.little {
		binary.LittleEndian.PutUint64(b, v)
	} else {
		binary.BigEndian.PutUint64(b, v)
	}
}

// String returns the Endian value, BigEndian or LittleEndian: the inverse
// of parseEndian.
func (o byteOrder) String() string {
	if o.little {
		return LittleEndian
	}
	return BigEndian
}
