package amf

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
)

func (d *Decoder) object() (any, error) {
	u, err := d.u29()
	if err != nil {
		return nil, err
	}
	if u&1 == 0 {
		return d.ref(int(u >> 1))
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	dt, err := d.traitsOf(u)
	if err != nil {
		return nil, err
	}
	return d.instance(dt)
}

// traitsOf reads the traits that an object's header u announces: a
// reference to traits read before, an externalizable class, or inline
// traits; the latter two join the traits table.
func (d *Decoder) traitsOf(u uint32) (decodedTraits, error) {
	if u&2 == 0 {
		i := int(u >> 2)
		if i >= len(d.traits) {
			return decodedTraits{}, d.syntax("reference to traits not yet read")
		}
		return d.traits[i], nil
	}
	alias, err := d.str()
	if err != nil {
		return decodedTraits{}, err
	}
	external, dynamic, n := u&4 != 0, u&8 != 0, int(u>>4)
	var c *class
	if alias != "" {
		if c = d.reg.alias(alias); c != nil && c.external != external {
			c = nil
		}
	}
	var t *Traits
	switch {
	case external:
		t = &Traits{Class: alias, Externalizable: true}
	case alias == "" && n == 0 && dynamic:
		t = anonymousTraits // an anonymous object: a map, whose traits nobody sees
	default:
		if err := d.fits(n, 1); err != nil {
			return decodedTraits{}, err
		}
		if err := d.count(n); err != nil {
			return decodedTraits{}, err
		}
		if t, err = d.sealedNames(alias, dynamic, n, c); err != nil {
			return decodedTraits{}, err
		}
	}
	dt := decodedTraits{t: t, c: c}
	d.traits = append(d.traits, dt)
	return dt, nil
}

// sealedNames reads inline traits' n sealed names. When they are the
// registered class's own (the usual case: the class was sent by the code
// that registered it), its traits serve, and nothing is allocated: a
// decoded struct does not show its traits.
func (d *Decoder) sealedNames(alias string, dynamic bool, n int, c *class) (*Traits, error) {
	var names []string
	same := c != nil && !dynamic && n == len(c.traits.Sealed)
	for i := range n {
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		if same && name == c.traits.Sealed[i] {
			continue
		}
		if names == nil {
			names = make([]string, i, n)
			copy(names, c.traitsNames(i))
			same = false
		}
		names = append(names, name)
	}
	if same {
		return c.traits, nil
	}
	if names == nil {
		names = []string{}
	}
	return &Traits{Class: alias, Sealed: names, Dynamic: dynamic}, nil
}

// instance reads an object's body after its traits: into a new value of
// the registered class, a map for an anonymous dynamic object, or an
// *Object. The value joins the object table before its members are read,
// so that they may refer to it.
func (d *Decoder) instance(dt decodedTraits) (any, error) {
	t, c := dt.t, dt.c
	if err := d.count(len(t.Sealed)); err != nil { // this object's sealed values
		return nil, err
	}
	switch {
	case t.Externalizable:
		if c == nil {
			return nil, d.syntax(fmt.Sprintf("externalizable class %q is not registered: its body cannot be read", t.Class))
		}
		p := reflect.New(c.typ)
		v := p.Interface()
		d.keep(v)
		if err := v.(Externalizable).ReadExternal(input{d}); err != nil {
			return nil, err
		}
		return v, nil
	case c != nil:
		p := reflect.New(c.typ)
		v := p.Interface()
		d.keep(v)
		for _, name := range t.Sealed {
			x, err := d.value()
			if err != nil {
				return nil, err
			}
			if i, ok := c.byName[name]; ok {
				if err := d.assign(p.Elem().Field(i), x, 0); err != nil {
					return nil, &FieldError{Class: t.Class, Field: name, Value: fmt.Sprintf("%T", x), Type: c.typ.Field(i).Type.String()}
				}
			}
		}
		return v, d.dynamic(t, func(string, any) {}) // members the Go type has no field for are dropped
	case t.Class == "" && len(t.Sealed) == 0:
		m := d.newMap()
		d.keep(m)
		return m, d.dynamic(t, func(k string, v any) { m[k] = v })
	}
	o := &Object{Traits: t, Sealed: make([]any, len(t.Sealed))}
	d.keep(o)
	for i := range o.Sealed {
		x, err := d.value()
		if err != nil {
			return nil, err
		}
		o.Sealed[i] = x
	}
	return o, d.dynamic(t, func(k string, v any) { o.Dynamic = append(o.Dynamic, Member{k, v}) })
}

// dynamic reads a dynamic object's members, up to the empty name, into
// put.
func (d *Decoder) dynamic(t *Traits, put func(string, any)) error {
	if !t.Dynamic {
		return nil
	}
	for {
		k, err := d.str()
		if err != nil || k == "" {
			return err
		}
		if err := d.count(1); err != nil {
			return err
		}
		v, err := d.value()
		if err != nil {
			return err
		}
		put(k, v)
	}
}

// assign sets dst, a field of a registered struct, from a decoded value:
// as it is when it fits (the value a pointer points to, for a field that
// holds a registered class by value), else converted between numbers, into
// typed slices and maps element by element, or from a string type to a
// string. A decoded array or map is converted once per field type, its
// elements counted against MaxElements and its nesting against MaxDepth:
// references to it share the copy, and a cycle stays one.
func (d *Decoder) assign(dst reflect.Value, v any, depth int) error {
	if v == nil || v == (Undefined{}) {
		dst.SetZero()
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Type().AssignableTo(dst.Type()) {
		dst.Set(rv)
		return nil
	}
	if rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().Type().AssignableTo(dst.Type()) {
		dst.Set(rv.Elem())
		return nil
	}
	switch dst.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n, ok := integral(v); ok && !dst.OverflowInt(n) {
			dst.SetInt(n)
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n, ok := integral(v); ok && n >= 0 && !dst.OverflowUint(uint64(n)) {
			dst.SetUint(uint64(n))
			return nil
		}
	case reflect.Float32, reflect.Float64:
		switch x := v.(type) {
		case int:
			dst.SetFloat(float64(x))
			return nil
		case float64:
			dst.SetFloat(x)
			return nil
		}
	case reflect.Slice:
		if src, ok := v.([]any); ok {
			return d.convert(dst, identityOfSlice(src, dst.Type()), len(src), depth, func(c reflect.Value) error {
				for i, x := range src {
					if err := d.assign(c.Index(i), x, depth+1); err != nil {
						return err
					}
				}
				return nil
			})
		}
	case reflect.Map:
		if src, ok := v.(map[string]any); ok && dst.Type().Key().Kind() == reflect.String {
			id := identity{p: rv.UnsafePointer(), t: dst.Type()}
			return d.convert(dst, id, len(src), depth, func(c reflect.Value) error {
				for k, x := range src {
					e := reflect.New(dst.Type().Elem()).Elem()
					if err := d.assign(e, x, depth+1); err != nil {
						return err
					}
					c.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), e)
				}
				return nil
			})
		}
	}
	if rv.Kind() == dst.Kind() && rv.Type().ConvertibleTo(dst.Type()) {
		dst.Set(rv.Convert(dst.Type())) // XML into a string field, say
		return nil
	}
	return fmt.Errorf("cannot assign %T to %v", v, dst.Type())
}

// convert sets dst to the conversion of the source id names, made by fill
// the first time (and kept before fill runs, for the cycles through it).
func (d *Decoder) convert(dst reflect.Value, id identity, n, depth int, fill func(reflect.Value) error) error {
	if c, ok := d.converted[id]; ok && id.p != nil {
		dst.Set(c)
		return nil
	}
	if depth >= d.Limits.depth() {
		return &LimitError{Offset: d.pos, Limit: "MaxDepth", Value: d.Limits.depth()}
	}
	if err := d.count(n); err != nil {
		return err
	}
	var c reflect.Value
	if dst.Kind() == reflect.Slice {
		c = reflect.MakeSlice(dst.Type(), n, n)
	} else {
		c = reflect.MakeMapWithSize(dst.Type(), n)
	}
	if id.p != nil {
		if d.converted == nil {
			d.converted = map[identity]reflect.Value{}
		}
		d.converted[id] = c
	}
	if err := fill(c); err != nil {
		return err
	}
	dst.Set(c)
	return nil
}

// integral returns a decoded number as an int64 if it is a whole one.
func integral(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x), true
		}
	}
	return 0, false
}

// input is a Decoder as an Externalizable's DataInput.
type input struct{ d *Decoder }

func (in input) ReadBoolean() (bool, error) {
	b, err := in.d.byte()
	return b != 0, err
}

func (in input) ReadByte() (byte, error) { return in.d.byte() }

func (in input) ReadShort() (int16, error) {
	n, err := in.ReadUnsignedShort()
	return int16(n), err
}

func (in input) ReadUnsignedShort() (uint16, error) {
	b, err := in.d.take(2)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(b), nil
}

func (in input) ReadInt() (int32, error) {
	n, err := in.ReadUnsignedInt()
	return int32(n), err
}

func (in input) ReadUnsignedInt() (uint32, error) {
	b, err := in.d.take(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

func (in input) ReadFloat() (float32, error) {
	n, err := in.ReadUnsignedInt()
	return math.Float32frombits(n), err
}

func (in input) ReadDouble() (float64, error) { return in.d.float64() }

func (in input) ReadUTF() (string, error) {
	n, err := in.ReadUnsignedShort()
	if err != nil {
		return "", err
	}
	return in.d.utf8(int(n))
}

func (in input) ReadUTFBytes(n int) (string, error) { return in.d.utf8(n) }

func (in input) ReadBytes(n int) ([]byte, error) {
	b, err := in.d.take(n)
	if err != nil {
		return nil, err
	}
	return append([]byte{}, b...), nil
}

func (in input) ReadObject() (any, error) { return in.d.value() }
