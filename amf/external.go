package amf

import "reflect"

// Externalizable is a class that writes and reads its own body, as AS3's
// flash.utils.IExternalizable: the encoder sends the class name and then
// whatever WriteExternal writes; the decoder makes a new value of the
// registered type and lets ReadExternal read the same. The methods have
// pointer receivers (ReadExternal fills the value) and run on the
// encoding or decoding goroutine.
type Externalizable interface {
	WriteExternal(out DataOutput) error
	ReadExternal(in DataInput) error
}

var externalizableType = reflect.TypeFor[Externalizable]()

// DataOutput is AS3's IDataOutput as an Externalizable sees it: the
// writes append to the value being encoded (big-endian, as AS3's default),
// and WriteObject shares the value's reference tables.
type DataOutput interface {
	WriteBoolean(v bool)
	WriteByte(v byte) error // always nil: io.ByteWriter's form
	WriteShort(v int16)
	WriteInt(v int32)
	WriteUnsignedInt(v uint32)
	WriteFloat(v float32)
	WriteDouble(v float64)
	WriteUTF(s string) error // a 16-bit length, then the bytes: an error past 65,535 bytes
	WriteUTFBytes(s string)
	WriteBytes(b []byte)
	WriteObject(v any) error
}

// DataInput is AS3's IDataInput as an Externalizable sees it: reads from
// the value being decoded; past its end they return ErrTruncated.
type DataInput interface {
	ReadBoolean() (bool, error)
	ReadByte() (byte, error)
	ReadShort() (int16, error)
	ReadUnsignedShort() (uint16, error)
	ReadInt() (int32, error)
	ReadUnsignedInt() (uint32, error)
	ReadFloat() (float32, error)
	ReadDouble() (float64, error)
	ReadUTF() (string, error)
	ReadUTFBytes(n int) (string, error)
	ReadBytes(n int) ([]byte, error)
	ReadObject() (any, error)
}

// ArrayCollection is Flex's flex.messaging.io.ArrayCollection
// (mx.collections.ArrayCollection on the client): an externalizable
// wrapper whose body is one Array, its source.
type ArrayCollection []any

// WriteExternal writes the source array.
func (a *ArrayCollection) WriteExternal(out DataOutput) error { return out.WriteObject([]any(*a)) }

// ReadExternal reads the source array (dense; an associative part is
// dropped).
func (a *ArrayCollection) ReadExternal(in DataInput) error {
	src, err := readSource(in)
	*a = src
	return err
}

// ArrayList is Flex's flex.messaging.io.ArrayList (mx.collections.ArrayList),
// the same body as ArrayCollection.
type ArrayList []any

// WriteExternal writes the source array.
func (a *ArrayList) WriteExternal(out DataOutput) error { return out.WriteObject([]any(*a)) }

// ReadExternal reads the source array.
func (a *ArrayList) ReadExternal(in DataInput) error {
	src, err := readSource(in)
	*a = src
	return err
}

// readSource reads a collection's source: an Array, or null.
func readSource(in DataInput) ([]any, error) {
	v, err := in.ReadObject()
	switch s := v.(type) {
	case []any:
		return s, err
	case *Array:
		return s.Dense, err
	case nil:
		return nil, err
	}
	if err == nil {
		err = &SyntaxError{Msg: "a collection's source is not an Array"}
	}
	return nil, err
}

// ObjectProxy is Flex's flex.messaging.io.ObjectProxy
// (mx.utils.ObjectProxy): an externalizable wrapper around one object.
type ObjectProxy struct {
	Object any
}

// WriteExternal writes the proxied object.
func (p *ObjectProxy) WriteExternal(out DataOutput) error { return out.WriteObject(p.Object) }

// ReadExternal reads the proxied object.
func (p *ObjectProxy) ReadExternal(in DataInput) error {
	v, err := in.ReadObject()
	p.Object = v
	return err
}
