package amf

import (
	"encoding/binary"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// AMF 3 markers.
const (
	markerUndefined    = 0x00
	markerNull         = 0x01
	markerFalse        = 0x02
	markerTrue         = 0x03
	markerInteger      = 0x04
	markerDouble       = 0x05
	markerString       = 0x06
	markerXMLDocument  = 0x07
	markerDate         = 0x08
	markerArray        = 0x09
	markerObject       = 0x0a
	markerXML          = 0x0b
	markerByteArray    = 0x0c
	markerVectorInt    = 0x0d
	markerVectorUint   = 0x0e
	markerVectorDouble = 0x0f
	markerVectorObject = 0x10
	markerDictionary   = 0x11
)

// The range of AMF 3's integer (29-bit two's complement) and of a U29.
const (
	minInt29 = -1 << 28
	maxInt29 = 1<<28 - 1
	maxU29   = 1<<29 - 1
	// maxInline is the most a U29 length with its flag bit can say.
	maxInline = maxU29 >> 1
)

// Encoder writes AMF values. The zero value is not ready: use
// NewEncoder. One goroutine at a time.
type Encoder struct {
	reg     *Registry
	buf     []byte
	strings index[string]
	objects index[identity]
	traits  index[*Traits]
	nobj    int // complex values written so far: the next object index
	depth   int
	err     error // the first error of an Externalizable's writes

	objects0 index[identity] // AMF 0's reference table
	nobj0    int

	keys []string // maps' keys being sorted, nested maps' behind their parents'

	classes  [8]cachedClass // the registry's answers for the types met last
	nclasses int
	classGen uint64 // the registry's generation they are of
}

// cachedClass is a type and its registered class (nil: none).
type cachedClass struct {
	t reflect.Type
	c *class
}

// class returns the class registered for t, from the encoder's cache of
// the last types while the registry has not changed: a struct's fields
// ask for the same few types again and again.
func (e *Encoder) class(t reflect.Type) *class {
	if gen := e.reg.gen.Load(); gen != e.classGen {
		e.classGen, e.nclasses = gen, 0
	}
	for i := range e.nclasses {
		if e.classes[i].t == t {
			return e.classes[i].c
		}
	}
	c := e.reg.ofType(t)
	if e.nclasses < len(e.classes) {
		e.classes[e.nclasses] = cachedClass{t, c}
		e.nclasses++
	}
	return c
}

// identity is a reference-typed Go value as the object table knows it:
// its address, its type (a struct and its first field share an address)
// and for slices its length (two slices of one array are different
// values). A value of zero size has none: every one of them may sit at the
// same address, so none is sent by reference.
type identity struct {
	p unsafe.Pointer
	n int
	t reflect.Type
}

// anonymousTraits are the traits of every map[string]any: anonymous,
// dynamic, no sealed members; sent once, then by reference.
var anonymousTraits = &Traits{Dynamic: true}

// NewEncoder returns an encoder that resolves class aliases with
// DefaultRegistry.
func NewEncoder() *Encoder { return &Encoder{reg: DefaultRegistry} }

// SetRegistry makes the encoder use r for class aliases.
func (e *Encoder) SetRegistry(r *Registry) { e.reg, e.nclasses = r, 0 }

// Marshal returns v in AMF 3 (see the package doc for the Go types).
// Any goroutine.
func Marshal(v any) ([]byte, error) { return NewEncoder().Encode(nil, v) }

// Encode appends v in AMF 3 to dst, with fresh reference tables (one
// writeObject), and returns the extended buffer. On an error it returns
// dst as it was.
func (e *Encoder) Encode(dst []byte, v any) ([]byte, error) {
	e.reset(dst)
	return e.finish(dst, e.value(v))
}

// finish returns what an Encode wrote, or dst and the error.
func (e *Encoder) finish(dst []byte, err error) ([]byte, error) {
	if err == nil {
		err = e.err
	}
	out := e.buf
	e.buf = nil
	if err != nil {
		return dst, err
	}
	return out, nil
}

func (e *Encoder) reset(dst []byte) {
	e.buf = dst
	e.strings.reset()
	e.objects.reset()
	e.traits.reset()
	e.objects0.reset()
	e.nobj, e.nobj0, e.depth, e.err = 0, 0, 0, nil
}

func (e *Encoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, markerNull)
	case Undefined:
		e.buf = append(e.buf, markerUndefined)
	case bool:
		if x {
			e.buf = append(e.buf, markerTrue)
		} else {
			e.buf = append(e.buf, markerFalse)
		}
	case int:
		e.integer(int64(x))
	case int8:
		e.integer(int64(x))
	case int16:
		e.integer(int64(x))
	case int32:
		e.integer(int64(x))
	case int64:
		e.integer(x)
	case uint:
		e.unsigned(uint64(x))
	case uint8:
		e.integer(int64(x))
	case uint16:
		e.integer(int64(x))
	case uint32:
		e.integer(int64(x))
	case uint64:
		e.unsigned(x)
	case float64:
		e.double(x)
	case float32:
		e.double(float64(x))
	case string:
		e.buf = append(e.buf, markerString)
		return e.str(x)
	case XML:
		return e.xml(markerXML, string(x))
	case XMLDocument:
		return e.xml(markerXMLDocument, string(x))
	case time.Time:
		e.date(x)
	case []byte:
		return e.byteArray(x)
	case []any:
		return e.array(x, nil, identityOfSlice(x, anysType))
	case *Array:
		if x == nil {
			e.buf = append(e.buf, markerNull)
			return nil
		}
		return e.array(x.Dense, x.Assoc, identity{p: unsafe.Pointer(x), t: arrayType})
	case map[string]any:
		return e.anonymous(x)
	case *Object:
		return e.object(x)
	case []int32:
		return e.vectorInt(x)
	case []uint32:
		return e.vectorUint(x)
	case []float64:
		return e.vectorDouble(x)
	case *ObjectVector:
		return e.vectorObject(x)
	case *Dictionary:
		return e.dictionary(x)
	default:
		return e.reflected(reflect.ValueOf(v))
	}
	return nil
}

// date writes t as a Date, inline (a time.Time has no identity to
// reference), taking an object index.
func (e *Encoder) date(t time.Time) {
	e.nobj++
	e.buf = append(e.buf, markerDate, 0x01)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(float64(t.UnixMilli())))
}

// integer writes n as an AMF 3 integer, or as a double outside 29 bits.
func (e *Encoder) integer(n int64) {
	if n < minInt29 || n > maxInt29 {
		e.double(float64(n))
		return
	}
	e.buf = append(e.buf, markerInteger)
	e.u29(uint32(n) & maxU29)
}

func (e *Encoder) unsigned(n uint64) {
	if n > maxInt29 {
		e.double(float64(n))
		return
	}
	e.integer(int64(n))
}

func (e *Encoder) double(f float64) {
	e.buf = append(e.buf, markerDouble)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
}

// u29 appends AMF 3's variable-length unsigned 29-bit integer: 7 bits a
// byte with a continuation bit, all 8 bits of a fourth byte.
func (e *Encoder) u29(v uint32) {
	switch {
	case v < 1<<7:
		e.buf = append(e.buf, byte(v))
	case v < 1<<14:
		e.buf = append(e.buf, byte(v>>7)|0x80, byte(v&0x7f))
	case v < 1<<21:
		e.buf = append(e.buf, byte(v>>14)|0x80, byte(v>>7)|0x80, byte(v&0x7f))
	default:
		e.buf = append(e.buf, byte(v>>22)|0x80, byte(v>>15)|0x80, byte(v>>8)|0x80, byte(v))
	}
}

// inline writes a U29 header of an inline value of length n: n<<1 | 1.
func (e *Encoder) inline(n int) error {
	if n > maxInline {
		return &UnsupportedTypeError{Type: "a value of more than 2^28-1 bytes or elements"}
	}
	e.u29(uint32(n)<<1 | 1)
	return nil
}

// validUTF8 is s, or s with U+FFFD for each byte sequence that is not
// UTF-8: AMF strings are UTF-8, and a decoder (this package's too)
// refuses others, so the encoder writes what Go's own conversions would.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// str writes a UTF-8-vr: a reference to an earlier occurrence, or the
// string, which later ones may reference ("" never is).
func (e *Encoder) str(s string) error {
	if s == "" {
		e.buf = append(e.buf, 0x01)
		return nil
	}
	if i, ok := e.strings.get(s); ok {
		e.u29(uint32(i) << 1)
		return nil
	}
	text := validUTF8(s) // s stays the table's key: its references mean this text
	if err := e.inline(len(text)); err != nil {
		return err
	}
	e.strings.put(s, e.strings.len())
	e.buf = append(e.buf, text...)
	return nil
}

// xml writes an XML or XMLDocument: a complex value that takes an object
// index but has no identity here, so it is always inline.
func (e *Encoder) xml(marker byte, s string) error {
	s = validUTF8(s)
	e.nobj++
	e.buf = append(e.buf, marker)
	if err := e.inline(len(s)); err != nil {
		return err
	}
	e.buf = append(e.buf, s...)
	return nil
}

// seen writes a reference and returns true if id was written before;
// otherwise it gives id the next object index. An identity without an
// address (an empty slice) only takes the index.
func (e *Encoder) seen(id identity) bool {
	if id.p != nil {
		if i, ok := e.objects.get(id); ok {
			e.u29(uint32(i) << 1)
			return true
		}
		e.objects.put(id, e.nobj)
	}
	e.nobj++
	return false
}

func identityOfSlice[T any](s []T, t reflect.Type) identity {
	if len(s) == 0 {
		return identity{}
	}
	return identity{p: unsafe.Pointer(unsafe.SliceData(s)), n: len(s), t: t}
}

func (e *Encoder) byteArray(b []byte) error {
	if b == nil {
		e.buf = append(e.buf, markerNull)
		return nil
	}
	e.buf = append(e.buf, markerByteArray)
	if e.seen(identityOfSlice(b, bytesType)) {
		return nil
	}
	if err := e.inline(len(b)); err != nil {
		return err
	}
	e.buf = append(e.buf, b...)
	return nil
}

// open writes a complex value's marker and, if it was written before, its
// reference (done); otherwise it enters the value, for which the caller
// defers leave.
func (e *Encoder) open(marker byte, id identity) (done bool, err error) {
	e.buf = append(e.buf, marker)
	if e.seen(id) {
		return true, nil
	}
	if err := e.enter(); err != nil {
		return true, err
	}
	return false, nil
}

// member writes one name and value of an object or an associative part.
func (e *Encoder) member(name string, v any) error {
	if err := e.str(name); err != nil {
		return err
	}
	return e.value(v)
}

// enter and leave bound the nesting, against a stack overflow on a deep
// (necessarily acyclic: cycles are references) graph.
func (e *Encoder) enter() error {
	if e.depth++; e.depth > DefaultMaxDepth {
		return &LimitError{Offset: len(e.buf), Limit: "MaxDepth", Value: DefaultMaxDepth}
	}
	return nil
}

func (e *Encoder) leave() { e.depth-- }

func (e *Encoder) array(dense []any, assoc map[string]any, id identity) error {
	if dense == nil && assoc == nil && id.p == nil {
		e.buf = append(e.buf, markerNull)
		return nil
	}
	if done, err := e.open(markerArray, id); done {
		return err
	}
	defer e.leave()
	if err := e.inline(len(dense)); err != nil {
		return err
	}
	if err := e.members(assoc); err != nil {
		return err
	}
	for _, v := range dense {
		if err := e.value(v); err != nil {
			return err
		}
	}
	return nil
}

// members writes m's keys (sorted, for stable bytes) and values, then the
// empty string that ends them.
func (e *Encoder) members(m map[string]any) error {
	if len(m) > 0 {
		base := len(e.keys)
		for k := range m {
			if k != "" { // an empty name would end the list: AS3 cannot send one either
				e.keys = append(e.keys, k)
			}
		}
		end := len(e.keys)
		slices.Sort(e.keys[base:end])
		defer e.dropKeys(base)
		for i := base; i < end; i++ {
			k := e.keys[i] // by index: a nested map's keys may move e.keys
			if err := e.member(k, m[k]); err != nil {
				return err
			}
		}
	}
	e.buf = append(e.buf, 0x01)
	return nil
}

// dropKeys ends a map's turn in the shared buffer of sorted keys (nested
// maps stack theirs behind).
func (e *Encoder) dropKeys(base int) {
	clear(e.keys[base:])
	e.keys = e.keys[:base]
}

func (e *Encoder) anonymous(m map[string]any) error {
	if m == nil {
		e.buf = append(e.buf, markerNull)
		return nil
	}
	if done, err := e.open(markerObject, identity{p: reflect.ValueOf(m).UnsafePointer(), t: mapType}); done {
		return err
	}
	defer e.leave()
	if err := e.traitsOf(anonymousTraits); err != nil {
		return err
	}
	return e.members(m)
}

// traitsOf writes an object's U29O header after its marker: a reference
// to traits sent before, or the traits.
func (e *Encoder) traitsOf(t *Traits) error {
	if i, ok := e.traits.get(t); ok {
		e.u29(uint32(i)<<2 | 0x01)
		return nil
	}
	e.traits.put(t, e.traits.len())
	if t.Externalizable {
		e.buf = append(e.buf, 0x07)
		return e.str(t.Class)
	}
	if len(t.Sealed) > maxU29>>4 {
		return &UnsupportedTypeError{Type: "traits with more than 2^25-1 sealed members"}
	}
	h := uint32(len(t.Sealed))<<4 | 0x03
	if t.Dynamic {
		h |= 0x08
	}
	e.u29(h)
	if err := e.str(t.Class); err != nil {
		return err
	}
	for _, n := range t.Sealed {
		if err := e.str(n); err != nil {
			return err
		}
	}
	return nil
}

func (e *Encoder) object(o *Object) error {
	if o == nil {
		e.buf = append(e.buf, markerNull)
		return nil
	}
	t := o.Traits
	if t == nil {
		t = anonymousTraits
	}
	if t.Externalizable {
		return &UnsupportedTypeError{Type: "an externalizable *Object (class " + t.Class + ": register a Go type for it)"}
	}
	if len(o.Sealed) != len(t.Sealed) {
		return &UnsupportedTypeError{Type: "an *Object whose sealed values do not match its traits"}
	}
	if done, err := e.open(markerObject, identity{p: unsafe.Pointer(o), t: objectType}); done {
		return err
	}
	defer e.leave()
	if err := e.traitsOf(t); err != nil {
		return err
	}
	for _, v := range o.Sealed {
		if err := e.value(v); err != nil {
			return err
		}
	}
	if !t.Dynamic {
		return nil
	}
	for _, m := range o.Dynamic {
		if m.Name == "" {
			continue
		}
		if err := e.member(m.Name, m.Value); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, 0x01)
	return nil
}

// vectorHeader writes a vector's marker, reference or count and fixed
// flag; done reports a reference.
func (e *Encoder) vectorHeader(marker byte, id identity, n int, fixed bool) (done bool, err error) {
	e.buf = append(e.buf, marker)
	if e.seen(id) {
		return true, nil
	}
	if err := e.inline(n); err != nil {
		return true, err
	}
	if fixed {
		e.buf = append(e.buf, 0x01)
	} else {
		e.buf = append(e.buf, 0x00)
	}
	return false, nil
}

func (e *Encoder) vectorInt(v []int32) error {
	if done, err := e.vectorHeader(markerVectorInt, identityOfSlice(v, int32sType), len(v), false); done {
		return err
	}
	for _, x := range v {
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(x))
	}
	return nil
}

func (e *Encoder) vectorUint(v []uint32) error {
	if done, err := e.vectorHeader(markerVectorUint, identityOfSlice(v, uint32sType), len(v), false); done {
		return err
	}
	for _, x := range v {
		e.buf = binary.BigEndian.AppendUint32(e.buf, x)
	}
	return nil
}

func (e *Encoder) vectorDouble(v []float64) error {
	if done, err := e.vectorHeader(markerVectorDouble, identityOfSlice(v, float64sType), len(v), false); done {
		return err
	}
	for _, x := range v {
		e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(x))
	}
	return nil
}

func (e *Encoder) vectorObject(v *ObjectVector) error {
	if v == nil {
		e.buf = append(e.buf, markerNull)
		return nil
	}
	if done, err := e.vectorHeader(markerVectorObject, identity{p: unsafe.Pointer(v), t: objectVectorType}, len(v.Items), v.Fixed); done {
		return err
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	class := v.Class
	if class == "" {
		class = "*"
	}
	if err := e.str(class); err != nil {
		return err
	}
	for _, x := range v.Items {
		if err := e.value(x); err != nil {
			return err
		}
	}
	return nil
}

func (e *Encoder) dictionary(d *Dictionary) error {
	if d == nil {
		e.buf = append(e.buf, markerNull)
		return nil
	}
	if done, err := e.vectorHeader(markerDictionary, identity{p: unsafe.Pointer(d), t: dictionaryType}, len(d.Entries), d.Weak); done {
		return err
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	for _, en := range d.Entries {
		if err := e.value(en.Key); err != nil {
			return err
		}
		if err := e.value(en.Value); err != nil {
			return err
		}
	}
	return nil
}
