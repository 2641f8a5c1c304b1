package amf

import (
	"reflect"
	"time"
)

// special reports whether t is one of the types that value's type switch
// gives a form of its own: a field or element of one of them goes through
// value; the others are written from their reflect.Value without boxing
// them into an interface (which would allocate for every number, string
// and slice of a struct).
func special(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String:
		return t == xmlType || t == xmlDocumentType
	case reflect.Slice:
		switch t {
		case bytesType, int32sType, uint32sType, float64sType, anysType:
			return true
		}
	case reflect.Struct:
		return t == undefinedType
	}
	return false
}

var (
	undefinedType   = reflect.TypeFor[Undefined]()
	xmlType         = reflect.TypeFor[XML]()
	xmlDocumentType = reflect.TypeFor[XMLDocument]()
	bytesType       = reflect.TypeFor[[]byte]()
	int32sType      = reflect.TypeFor[[]int32]()
	uint32sType     = reflect.TypeFor[[]uint32]()
	float64sType    = reflect.TypeFor[[]float64]()
	anysType        = reflect.TypeFor[[]any]()

	arrayType        = reflect.TypeFor[*Array]()
	mapType          = reflect.TypeFor[map[string]any]()
	objectType       = reflect.TypeFor[*Object]()
	objectVectorType = reflect.TypeFor[*ObjectVector]()
	dictionaryType   = reflect.TypeFor[*Dictionary]()
)

// pointerIdentity is the identity of v, a non-nil pointer, or none for a
// pointer to a value of zero size.
func pointerIdentity(v reflect.Value) identity {
	if v.Type().Elem().Size() == 0 {
		return identity{}
	}
	return identity{p: v.UnsafePointer(), t: v.Type()}
}

var timeType = reflect.TypeFor[time.Time]()

// scalar writes v if it is of a boolean or numeric kind (named types
// too), and reports whether it was.
func (e *Encoder) scalar(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			e.buf = append(e.buf, markerTrue)
		} else {
			e.buf = append(e.buf, markerFalse)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.integer(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.unsigned(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.double(v.Float())
	default:
		return false
	}
	return true
}

// field writes v, a struct field or a slice element.
func (e *Encoder) field(v reflect.Value) error {
	t := v.Type()
	if t.PkgPath() != "" && t.Kind() != reflect.Struct && t.Kind() != reflect.Pointer {
		// A program's named number, string or slice may be a registered
		// Externalizable; structs and pointers are asked below.
		if c := e.class(t); c != nil {
			return e.instance(c, v, identity{})
		}
	}
	if e.scalar(v) {
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		if !special(t) {
			e.buf = append(e.buf, markerString)
			return e.str(v.String())
		}
	case reflect.Slice:
		if !special(t) && e.class(t) == nil && t.Elem().Kind() != reflect.Uint8 {
			if v.IsNil() {
				e.buf = append(e.buf, markerNull)
				return nil
			}
			return e.list(v, identity{p: v.UnsafePointer(), n: v.Len(), t: t})
		}
	case reflect.Struct:
		if t == timeType && v.CanAddr() {
			e.date(*v.Addr().Interface().(*time.Time))
			return nil
		}
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, markerNull)
			return nil
		}
		if c := e.class(t.Elem()); c != nil {
			return e.instance(c, v.Elem(), pointerIdentity(v))
		}
	}
	return e.value(v.Interface())
}
