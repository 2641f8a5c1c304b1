package amf

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strconv"
)

// DecodeAMF0 reads one AMF 0 value from the start of data, as Decode does
// AMF 3 (the same errors, Limits and consuming nothing on an error).
// Numbers decode as float64 (AMF 0 has no integer); an ECMA array as
// *Array, its keys "0".."n-1" as its dense part (a strict array as
// []any); an anonymous object as map[string]any, a typed one as the
// registered type or an *Object with dynamic members; the switch to AMF 3
// as the AMF 3 value behind it, with fresh AMF 3 tables.
func (d *Decoder) DecodeAMF0(data []byte) (v any, n int, err error) {
	d.recycle()
	d.reset(data)
	v, err = d.value0()
	n = d.pos
	d.release()
	if err != nil {
		return nil, 0, err
	}
	return v, n, nil
}

// Unmarshal0 decodes the one AMF 0 value data holds. Any goroutine.
func Unmarshal0(data []byte) (any, error) {
	v, n, err := NewDecoder().DecodeAMF0(data)
	if err == nil && n != len(data) {
		err = &SyntaxError{Offset: n, Msg: "bytes after the value"}
	}
	return v, err
}

// Marshal0 returns v in AMF 0 (Encoder.EncodeAMF0). Any goroutine.
func Marshal0(v any) ([]byte, error) { return NewEncoder().EncodeAMF0(nil, v) }

func (d *Decoder) u16() (int, error) {
	b, err := d.take(2)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b)), nil
}

func (d *Decoder) u32() (int, error) {
	b, err := d.take(4)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint32(b)), nil
}

// string0 reads a UTF-8 string with a 16-bit (or, long, 32-bit) length.
func (d *Decoder) string0(long bool) (string, error) {
	var n int
	var err error
	if long {
		n, err = d.u32()
	} else {
		n, err = d.u16()
	}
	if err != nil {
		return "", err
	}
	return d.utf8(n)
}

func (d *Decoder) keep0(v any) int {
	d.objects0 = append(d.objects0, v)
	return len(d.objects0) - 1
}

func (d *Decoder) value0() (any, error) {
	m, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch m {
	case amf0Number:
		return d.float64()
	case amf0Boolean:
		b, err := d.byte()
		return b != 0, err
	case amf0String:
		return d.string0(false)
	case amf0LongString:
		return d.string0(true)
	case amf0XMLDocument:
		s, err := d.string0(true)
		if err != nil {
			return nil, err
		}
		return XMLDocument(s), nil
	case amf0Null:
		return nil, nil
	case amf0Undefined, amf0Unsupported:
		return Undefined{}, nil
	case amf0Reference:
		i, err := d.u16()
		if err != nil {
			return nil, err
		}
		if i >= len(d.objects0) {
			return nil, d.syntax("reference to an object not yet read")
		}
		return d.objects0[i], nil
	case amf0Date:
		ms, err := d.float64()
		if err != nil {
			return nil, err
		}
		if _, err := d.take(2); err != nil { // the time zone, reserved
			return nil, err
		}
		return timeOfMillis(ms), nil
	case amf0Object:
		return d.object0("")
	case amf0TypedObject:
		class, err := d.string0(false)
		if err != nil {
			return nil, err
		}
		return d.object0(class)
	case amf0ECMAArray:
		if _, err := d.u32(); err != nil { // a count, only a hint: the members end with the end marker
			return nil, err
		}
		return d.ecma0()
	case amf0StrictArray:
		return d.strict0()
	case amf0AVMPlus:
		d.resetAMF3()
		return d.value()
	}
	d.pos--
	if m == amf0MovieClip || m == amf0RecordSet {
		return nil, d.syntax("reserved AMF 0 marker")
	}
	return nil, d.syntax("unknown AMF 0 marker")
}

// members0 reads names and values up to the empty name and end marker.
func (d *Decoder) members0(put func(string, any) error) error {
	for {
		k, err := d.string0(false)
		if err != nil {
			return err
		}
		if k == "" {
			m, err := d.byte()
			if err != nil {
				return err
			}
			if m != amf0ObjectEnd {
				d.pos--
				return d.syntax("an empty member name not followed by the object end marker")
			}
			return nil
		}
		if err := d.count(1); err != nil {
			return err
		}
		v, err := d.value0()
		if err != nil {
			return err
		}
		if err := put(k, v); err != nil {
			return err
		}
	}
}

func (d *Decoder) object0(class string) (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	if class == "" {
		m := d.newMap()
		d.keep0(m)
		return m, d.members0(func(k string, v any) error { m[k] = v; return nil })
	}
	if c := d.reg.alias(class); c != nil && !c.external {
		p := reflect.New(c.typ)
		v := p.Interface()
		d.keep0(v)
		return v, d.members0(func(k string, x any) error {
			if i, ok := c.byName[k]; ok {
				if err := d.assign(p.Elem().Field(i), x, 0); err != nil {
					return &FieldError{Class: class, Field: k, Value: fmt.Sprintf("%T", x), Type: c.typ.Field(i).Type.String()}
				}
			}
			return nil
		})
	}
	o := &Object{Traits: &Traits{Class: class, Dynamic: true}}
	d.keep0(o)
	return o, d.members0(func(k string, v any) error { o.Dynamic = append(o.Dynamic, Member{k, v}); return nil })
}

func (d *Decoder) ecma0() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	a := &Array{Assoc: map[string]any{}}
	d.keep0(a)
	err := d.members0(func(k string, v any) error { a.Assoc[k] = v; return nil })
	if err != nil {
		return nil, err
	}
	// The dense part: the keys 0, 1, ... for as long as they run.
	for i := 0; ; i++ {
		k := strconv.Itoa(i)
		v, ok := a.Assoc[k]
		if !ok {
			break
		}
		a.Dense = append(a.Dense, v)
		delete(a.Assoc, k)
	}
	if len(a.Assoc) == 0 {
		a.Assoc = nil
	}
	return a, nil
}

func (d *Decoder) strict0() (any, error) {
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	if err := d.fits(n, 1); err != nil {
		return nil, err
	}
	if err := d.count(n); err != nil {
		return nil, err
	}
	s := make([]any, n)
	d.keep0(s)
	for i := range s {
		if s[i], err = d.value0(); err != nil {
			return nil, err
		}
	}
	return s, nil
}
