package amf

import (
	"encoding/binary"
	"math"
	"reflect"
	"strconv"
	"time"
	"unsafe"
)

// AMF 0 markers.
const (
	amf0Number      = 0x00
	amf0Boolean     = 0x01
	amf0String      = 0x02
	amf0Object      = 0x03
	amf0MovieClip   = 0x04
	amf0Null        = 0x05
	amf0Undefined   = 0x06
	amf0Reference   = 0x07
	amf0ECMAArray   = 0x08
	amf0ObjectEnd   = 0x09
	amf0StrictArray = 0x0a
	amf0Date        = 0x0b
	amf0LongString  = 0x0c
	amf0Unsupported = 0x0d
	amf0RecordSet   = 0x0e
	amf0XMLDocument = 0x0f
	amf0TypedObject = 0x10
	amf0AVMPlus     = 0x11
)

// EncodeAMF0 appends v in AMF 0 to dst (objectEncoding 0), with a fresh
// reference table. Numbers are doubles, as AMF 0 has no integer; a value
// AMF 0 cannot express (a ByteArray, XML, a Vector, a Dictionary, an
// Externalizable) is sent as AMF 0's switch to AMF 3 followed by it in
// AMF 3, with fresh AMF 3 tables, as the specification has it.
func (e *Encoder) EncodeAMF0(dst []byte, v any) ([]byte, error) {
	e.reset(dst)
	return e.finish(dst, e.value0(v))
}

func (e *Encoder) value0(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, amf0Null)
	case Undefined:
		e.buf = append(e.buf, amf0Undefined)
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		e.buf = append(e.buf, amf0Boolean, b)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		f, _ := number(reflect.ValueOf(x))
		e.number0(f)
	case string:
		e.string0(x)
	case XMLDocument:
		s := validUTF8(string(x))
		e.buf = append(e.buf, amf0XMLDocument)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(len(s)))
		e.buf = append(e.buf, s...)
	case time.Time:
		e.buf = append(e.buf, amf0Date)
		e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(float64(x.UnixMilli())))
		e.buf = append(e.buf, 0, 0) // time zone: reserved, 0
	case []any:
		return e.strict0(reflect.ValueOf(x), identityOfSlice(x, anysType))
	case *Array:
		if x == nil {
			e.buf = append(e.buf, amf0Null)
			return nil
		}
		return e.ecma0(x)
	case map[string]any:
		if x == nil {
			e.buf = append(e.buf, amf0Null)
			return nil
		}
		return e.map0(reflect.ValueOf(x))
	case *Object:
		if x == nil {
			e.buf = append(e.buf, amf0Null)
			return nil
		}
		if x.Traits != nil && x.Traits.Externalizable {
			return e.switch3(v) // which refuses it: no Go type to write its body
		}
		return e.object0(x)
	case []byte, XML, []int32, []uint32, []float64, *ObjectVector, *Dictionary:
		return e.switch3(v)
	default:
		return e.reflected0(reflect.ValueOf(v))
	}
	return nil
}

// number returns v, of a numeric kind, as a float64.
func number(v reflect.Value) (float64, bool) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return 0, false
}

func (e *Encoder) number0(f float64) {
	e.buf = append(e.buf, amf0Number)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

// string0 writes a string, long (32-bit length) past 65,535 bytes.
func (e *Encoder) string0(s string) {
	s = validUTF8(s)
	if len(s) > math.MaxUint16 {
		e.buf = append(e.buf, amf0LongString)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(len(s)))
	} else {
		e.buf = append(e.buf, amf0String)
		e.buf = binary.BigEndian.AppendUint16(e.buf, uint16(len(s)))
	}
	e.buf = append(e.buf, s...)
}

// key0 writes a member name (UTF-8 with a 16-bit length).
func (e *Encoder) key0(s string) error {
	s = validUTF8(s)
	if len(s) > math.MaxUint16 {
		return &UnsupportedTypeError{Type: "an AMF 0 member name of more than 65,535 bytes"}
	}
	e.buf = binary.BigEndian.AppendUint16(e.buf, uint16(len(s)))
	e.buf = append(e.buf, s...)
	return nil
}

// member0 writes one name and value of an AMF 0 object.
func (e *Encoder) member0(name string, v any) error {
	if err := e.key0(name); err != nil {
		return err
	}
	return e.value0(v)
}

func (e *Encoder) end0() { e.buf = append(e.buf, 0, 0, amf0ObjectEnd) }

// seen0 writes an AMF 0 reference and returns true if id was written
// before; otherwise id takes the next index of AMF 0's table.
func (e *Encoder) seen0(id identity) bool {
	if id.p != nil {
		if i, ok := e.objects0.get(id); ok && i <= math.MaxUint16 {
			e.buf = append(e.buf, amf0Reference)
			e.buf = binary.BigEndian.AppendUint16(e.buf, uint16(i))
			return true
		}
		e.objects0.put(id, e.nobj0)
	}
	e.nobj0++
	return false
}

// switch3 writes v in AMF 3 behind AMF 0's switch marker.
func (e *Encoder) switch3(v any) error {
	e.buf = append(e.buf, amf0AVMPlus)
	e.strings.reset()
	e.objects.reset()
	e.traits.reset()
	e.nobj = 0
	return e.value(v)
}

func (e *Encoder) strict0(v reflect.Value, id identity) error {
	if v.Kind() == reflect.Slice && v.IsNil() {
		e.buf = append(e.buf, amf0Null)
		return nil
	}
	if e.seen0(id) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	e.buf = append(e.buf, amf0StrictArray)
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(v.Len()))
	for i := range v.Len() {
		if err := e.value0(v.Index(i).Interface()); err != nil {
			return err
		}
	}
	return nil
}

// ecma0 writes an Array with an associative part as an ECMA array: the
// dense elements under their indices, then the keys, sorted. A key that
// names a dense index ("0" beside a dense element 0) is an error: AMF 0
// has one list of names, where the two would be one member.
func (e *Encoder) ecma0(a *Array) error {
	for k := range a.Assoc {
		if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(a.Dense) && strconv.Itoa(i) == k {
			return &UnsupportedTypeError{Type: "an *Array whose associative key " + strconv.Quote(k) + " is also a dense index (AMF 0)"}
		}
	}
	if e.seen0(identity{p: unsafe.Pointer(a), t: arrayType}) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	e.buf = append(e.buf, amf0ECMAArray)
	n := len(a.Dense) + len(a.Assoc)
	if _, ok := a.Assoc[""]; ok {
		n-- // members0 skips "": its name would be the end marker
	}
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(n))
	var num [20]byte
	for i, v := range a.Dense {
		if err := e.key0(string(strconv.AppendInt(num[:0], int64(i), 10))); err != nil {
			return err
		}
		if err := e.value0(v); err != nil {
			return err
		}
	}
	if err := e.members0(reflect.ValueOf(a.Assoc)); err != nil {
		return err
	}
	e.end0()
	return nil
}

func (e *Encoder) map0(m reflect.Value) error {
	if e.seen0(identity{p: m.UnsafePointer(), t: m.Type()}) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	e.buf = append(e.buf, amf0Object)
	if err := e.members0(m); err != nil {
		return err
	}
	e.end0()
	return nil
}

// members0 writes a string-keyed map's members, sorted by key.
func (e *Encoder) members0(m reflect.Value) error {
	if !m.IsValid() || m.Len() == 0 {
		return nil
	}
	return e.sortedMembers(m, true)
}

func (e *Encoder) object0(o *Object) error {
	if e.seen0(identity{p: unsafe.Pointer(o), t: objectType}) {
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	var names []string
	if o.Traits != nil {
		names = o.Traits.Sealed
	}
	if o.Traits != nil && o.Traits.Class != "" {
		e.buf = append(e.buf, amf0TypedObject)
		if err := e.key0(o.Traits.Class); err != nil {
			return err
		}
	} else {
		e.buf = append(e.buf, amf0Object)
	}
	for i, v := range o.Sealed {
		if i >= len(names) || names[i] == "" {
			continue
		}
		if err := e.member0(names[i], v); err != nil {
			return err
		}
	}
	for _, m := range o.Dynamic {
		if m.Name == "" {
			continue
		}
		if err := e.member0(m.Name, m.Value); err != nil {
			return err
		}
	}
	e.end0()
	return nil
}

// reflected0 is reflected for AMF 0.
func (e *Encoder) reflected0(v reflect.Value) error {
	if !v.IsValid() {
		e.buf = append(e.buf, amf0Null)
		return nil
	}
	t := v.Type()
	id := identity{}
	if t.Kind() == reflect.Pointer && !v.IsNil() {
		if c := e.class(t.Elem()); c != nil {
			id, v, t = pointerIdentity(v), v.Elem(), t.Elem()
		}
	}
	if c := e.class(t); c != nil {
		if c.external {
			return e.switch3(v.Interface())
		}
		if e.seen0(id) {
			return nil
		}
		if err := e.enter(); err != nil {
			return err
		}
		defer e.leave()
		e.buf = append(e.buf, amf0TypedObject)
		if err := e.key0(c.traits.Class); err != nil {
			return err
		}
		for k, i := range c.fields {
			if err := e.member0(c.traits.Sealed[k], v.Field(i).Interface()); err != nil {
				return err
			}
		}
		e.end0()
		return nil
	}
	if f, ok := number(v); ok {
		e.number0(f)
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, amf0Null)
			return nil
		}
		return e.value0(v.Elem().Interface())
	case reflect.Bool:
		return e.value0(v.Bool())
	case reflect.String:
		e.string0(v.String())
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return e.switch3(v.Interface())
		}
		id := identity{}
		if !v.IsNil() && v.Len() > 0 {
			id = identity{p: v.UnsafePointer(), n: v.Len(), t: t}
		}
		return e.strict0(v, id)
	case reflect.Array:
		return e.strict0(v, identity{})
	case reflect.Map:
		if t.Key().Kind() == reflect.String {
			if v.IsNil() {
				e.buf = append(e.buf, amf0Null)
				return nil
			}
			return e.map0(v)
		}
	}
	return &UnsupportedTypeError{Type: t.String()}
}
