package amf

import (
	"encoding/binary"
	"math"
	"reflect"
	"slices"
)

// reflected encodes what the type switch of value did not name: values of
// registered classes, pointers, other slices and string-keyed maps, and
// named types of the basic kinds.
func (e *Encoder) reflected(v reflect.Value) error {
	if !v.IsValid() {
		e.buf = append(e.buf, markerNull)
		return nil
	}
	t := v.Type()
	if c := e.class(t); c != nil {
		return e.instance(c, v, identity{})
	}
	if e.scalar(v) {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, markerNull)
			return nil
		}
		if c := e.class(t.Elem()); c != nil {
			return e.instance(c, v.Elem(), pointerIdentity(v))
		}
		return e.value(v.Elem().Interface())
	case reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, markerNull)
			return nil
		}
		return e.value(v.Elem().Interface())
	case reflect.String:
		e.buf = append(e.buf, markerString)
		return e.str(v.String())
	case reflect.Slice:
		if v.IsNil() {
			e.buf = append(e.buf, markerNull)
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return e.byteArray(v.Bytes())
		}
		return e.list(v, identity{p: v.UnsafePointer(), n: v.Len(), t: t})
	case reflect.Array:
		return e.list(v, identity{})
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			break
		}
		if v.IsNil() {
			e.buf = append(e.buf, markerNull)
			return nil
		}
		return e.stringMap(v)
	}
	return &UnsupportedTypeError{Type: t.String()}
}

// list writes a slice or array of any element type as a dense Array.
func (e *Encoder) list(v reflect.Value, id identity) error {
	if v.Len() == 0 {
		id = identity{}
	}
	if done, err := e.open(markerArray, id); done {
		return err
	}
	defer e.leave()
	if err := e.inline(v.Len()); err != nil {
		return err
	}
	e.buf = append(e.buf, 0x01) // no associative part
	for i := range v.Len() {
		if err := e.field(v.Index(i)); err != nil {
			return err
		}
	}
	return nil
}

// stringMap writes a map with string keys as an anonymous object.
func (e *Encoder) stringMap(v reflect.Value) error {
	if done, err := e.open(markerObject, identity{p: v.UnsafePointer(), t: v.Type()}); done {
		return err
	}
	defer e.leave()
	if err := e.traitsOf(anonymousTraits); err != nil {
		return err
	}
	if err := e.sortedMembers(v, false); err != nil {
		return err
	}
	e.buf = append(e.buf, 0x01)
	return nil
}

// sortedMembers writes the members of m, a map with string keys, sorted by
// key (empty keys left out: they would end the list), as AMF 3's or, if
// amf0, AMF 0's names and values.
func (e *Encoder) sortedMembers(m reflect.Value, amf0 bool) error {
	base := len(e.keys)
	for it := m.MapRange(); it.Next(); {
		if k := it.Key().String(); k != "" {
			e.keys = append(e.keys, k)
		}
	}
	end := len(e.keys)
	slices.Sort(e.keys[base:end])
	defer e.dropKeys(base)
	for i := base; i < end; i++ {
		k := e.keys[i] // by index: a nested map's keys may move e.keys
		v := m.MapIndex(reflect.ValueOf(k).Convert(m.Type().Key())).Interface()
		var err error
		if amf0 {
			err = e.member0(k, v)
		} else {
			err = e.member(k, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// instance writes v, a value of registered class c, as a typed object:
// its sealed fields, or its own body if externalizable.
func (e *Encoder) instance(c *class, v reflect.Value, id identity) error {
	if done, err := e.open(markerObject, id); done {
		return err
	}
	defer e.leave()
	if err := e.traitsOf(c.traits); err != nil {
		return err
	}
	if c.external {
		p := v
		if v.CanAddr() {
			p = v.Addr()
		} else {
			p = reflect.New(c.typ)
			p.Elem().Set(v)
		}
		return p.Interface().(Externalizable).WriteExternal(output{e})
	}
	for _, i := range c.fields {
		if err := e.field(v.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

// output is an Encoder as an Externalizable's DataOutput.
type output struct{ e *Encoder }

func (o output) WriteBoolean(v bool) {
	if v {
		o.e.buf = append(o.e.buf, 1)
	} else {
		o.e.buf = append(o.e.buf, 0)
	}
}

func (o output) WriteByte(v byte) error    { o.e.buf = append(o.e.buf, v); return nil }
func (o output) WriteShort(v int16)        { o.e.buf = binary.BigEndian.AppendUint16(o.e.buf, uint16(v)) }
func (o output) WriteInt(v int32)          { o.e.buf = binary.BigEndian.AppendUint32(o.e.buf, uint32(v)) }
func (o output) WriteUnsignedInt(v uint32) { o.e.buf = binary.BigEndian.AppendUint32(o.e.buf, v) }
func (o output) WriteFloat(v float32) {
	o.e.buf = binary.BigEndian.AppendUint32(o.e.buf, math.Float32bits(v))
}
func (o output) WriteDouble(v float64) {
	o.e.buf = binary.BigEndian.AppendUint64(o.e.buf, math.Float64bits(v))
}
func (o output) WriteUTFBytes(s string) { o.e.buf = append(o.e.buf, s...) }
func (o output) WriteBytes(b []byte)    { o.e.buf = append(o.e.buf, b...) }

func (o output) WriteUTF(s string) error {
	if len(s) > math.MaxUint16 {
		return o.keep(&UnsupportedTypeError{Type: "a WriteUTF string of more than 65,535 bytes"})
	}
	o.e.buf = binary.BigEndian.AppendUint16(o.e.buf, uint16(len(s)))
	o.e.buf = append(o.e.buf, s...)
	return nil
}

func (o output) WriteObject(v any) error { return o.keep(o.e.value(v)) }

// keep makes err the Encode's own, whatever WriteExternal does with it:
// the bytes written are no value.
func (o output) keep(err error) error {
	if err != nil && o.e.err == nil {
		o.e.err = err
	}
	return err
}
