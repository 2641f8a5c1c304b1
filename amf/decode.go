package amf

import (
	"encoding/binary"
	"math"
	"reflect"
	"time"
	"unicode/utf8"
)

// Decoder reads AMF values. The zero value is not ready: use NewDecoder.
// One goroutine at a time.
type Decoder struct {
	// Limits bound each value decoded; set them before Decode.
	Limits Limits

	reg      *Registry
	data     []byte
	pos      int
	strings  []string
	objects  []any
	traits   []decodedTraits
	depth    int
	elements int
	objects0 []any // AMF 0's reference table

	// converted holds what assign made of a decoded array or map for a
	// typed field, by the source's identity and the field's type: a
	// value referenced again is converted once (its copies shared, its
	// cycles kept), not once per reference.
	converted map[identity]reflect.Value

	intern map[string]string // short table strings kept across values

	reuse     bool             // SetReuse
	spareMaps []map[string]any // emptied maps for the next value's objects
	madeMaps  []map[string]any // the current value's, spare at the next Decode
}

// decodedTraits are traits read from the input with the class they name
// here, if registered.
type decodedTraits struct {
	t *Traits
	c *class
}

// NewDecoder returns a decoder that resolves class aliases with
// DefaultRegistry, with the default Limits.
func NewDecoder() *Decoder { return &Decoder{reg: DefaultRegistry} }

// SetRegistry makes the decoder use r for class aliases.
func (d *Decoder) SetRegistry(r *Registry) { d.reg = r }

// Unmarshal decodes the one AMF 3 value that data holds, with the default
// Limits; bytes after it are an error. Any goroutine.
func Unmarshal(data []byte) (any, error) {
	v, n, err := NewDecoder().Decode(data)
	if err == nil && n != len(data) {
		err = &SyntaxError{Offset: n, Msg: "bytes after the value"}
	}
	return v, err
}

// Decode reads one AMF 3 value from the start of data, with fresh
// reference tables, and returns it with the bytes it took. On an error it
// returns nil and 0: ErrTruncated if data ends inside the value (the
// caller may wait for more and decode again), a *SyntaxError or
// *LimitError otherwise. The value never aliases data.
func (d *Decoder) Decode(data []byte) (v any, n int, err error) {
	d.recycle()
	d.reset(data)
	v, err = d.value()
	n = d.pos
	d.release()
	if err != nil {
		return nil, 0, err
	}
	return v, n, nil
}

// release lets the value's graph, strings and input go with the caller: a
// pooled decoder pins none of them but the short strings it keeps (at most
// internKept of internMax bytes).
func (d *Decoder) release() {
	d.data = nil
	clear(d.objects)
	clear(d.objects0)
	clear(d.strings)
	clear(d.traits)
	clear(d.converted)
}

func (d *Decoder) reset(data []byte) {
	d.data, d.pos = data, 0
	d.resetAMF3()
	d.objects0 = d.objects0[:0]
	d.depth, d.elements = 0, 0
}

func (d *Decoder) resetAMF3() {
	clear(d.strings)
	clear(d.objects)
	d.strings, d.objects, d.traits = d.strings[:0], d.objects[:0], d.traits[:0]
}

func (d *Decoder) syntax(msg string) error { return &SyntaxError{Offset: d.pos, Msg: msg} }

func (d *Decoder) byte() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, ErrTruncated
	}
	b := d.data[d.pos]
	d.pos++
	return b, nil
}

func (d *Decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.data)-d.pos {
		return nil, ErrTruncated
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

// fits reports ErrTruncated unless n items of at least size bytes each
// could still be in the input: no count is trusted for an allocation.
func (d *Decoder) fits(n, size int) error {
	if n > (len(d.data)-d.pos)/size {
		return ErrTruncated
	}
	return nil
}

// count adds n elements to the value's budget.
func (d *Decoder) count(n int) error {
	if d.elements += n; d.elements > d.Limits.elements() {
		return &LimitError{Offset: d.pos, Limit: "MaxElements", Value: d.Limits.elements()}
	}
	return nil
}

func (d *Decoder) enter() error {
	if d.depth++; d.depth > d.Limits.depth() {
		return &LimitError{Offset: d.pos, Limit: "MaxDepth", Value: d.Limits.depth()}
	}
	return nil
}

func (d *Decoder) leave() { d.depth-- }

func (d *Decoder) u29() (uint32, error) {
	var v uint32
	for i := range 3 {
		b, err := d.byte()
		if err != nil {
			return 0, err
		}
		if b < 0x80 {
			return v<<7 | uint32(b), nil
		}
		v = v<<7 | uint32(b&0x7f)
		_ = i
	}
	b, err := d.byte()
	if err != nil {
		return 0, err
	}
	return v<<8 | uint32(b), nil
}

// header reads a U29 whose low bit tells an inline value (the rest is a
// length or count) from a reference (the rest is an index).
func (d *Decoder) header() (n int, inline bool, err error) {
	u, err := d.u29()
	return int(u >> 1), u&1 == 1, err
}

// ref returns the complex value at index i of the object table.
func (d *Decoder) ref(i int) (any, error) {
	if i >= len(d.objects) {
		return nil, d.syntax("reference to an object not yet read")
	}
	return d.objects[i], nil
}

// keep adds v to the object table and returns its index.
func (d *Decoder) keep(v any) int {
	d.objects = append(d.objects, v)
	return len(d.objects) - 1
}

func (d *Decoder) value() (any, error) {
	m, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch m {
	case markerUndefined:
		return Undefined{}, nil
	case markerNull:
		return nil, nil
	case markerFalse:
		return false, nil
	case markerTrue:
		return true, nil
	case markerInteger:
		u, err := d.u29()
		if err != nil {
			return nil, err
		}
		return int(int32(u<<3) >> 3), nil // sign-extend 29 bits
	case markerDouble:
		return d.float64()
	case markerString:
		return d.str()
	case markerXMLDocument, markerXML:
		return d.xml(m)
	case markerDate:
		return d.date()
	case markerArray:
		return d.array()
	case markerObject:
		return d.object()
	case markerByteArray:
		return d.byteArray()
	case markerVectorInt, markerVectorUint, markerVectorDouble:
		return d.numberVector(m)
	case markerVectorObject:
		return d.objectVector()
	case markerDictionary:
		return d.dictionary()
	}
	d.pos--
	return nil, d.syntax("unknown AMF 3 marker")
}

func (d *Decoder) float64() (float64, error) {
	b, err := d.take(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
}

// utf8 returns the next n bytes as a string, if valid UTF-8.
func (d *Decoder) utf8(n int) (string, error) {
	b, err := d.take(n)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		d.pos -= n
		return "", d.syntax("invalid UTF-8 in a string")
	}
	return string(b), nil
}

// str reads a UTF-8-vr, a string or a reference to one.
func (d *Decoder) str() (string, error) {
	n, inline, err := d.header()
	if err != nil {
		return "", err
	}
	if !inline {
		if n >= len(d.strings) {
			return "", d.syntax("reference to a string not yet read")
		}
		return d.strings[n], nil
	}
	var s string
	if n <= internMax {
		s, err = d.interned(n)
	} else {
		s, err = d.utf8(n)
	}
	if err != nil || s == "" {
		return s, err
	}
	d.strings = append(d.strings, s)
	return s, nil
}

// Short strings of the string table (member and class names, mostly, the
// same in every message) are kept by the decoder across values, up to
// internKept of them, so that a stream of objects does not allocate their
// names again for each.
const (
	internMax  = 32
	internKept = 256
)

// interned returns the next n bytes as a string, the one kept from an
// earlier value if it has the same text.
func (d *Decoder) interned(n int) (string, error) {
	b, err := d.take(n)
	if err != nil {
		return "", err
	}
	if s, ok := d.intern[string(b)]; ok { // the lookup does not allocate
		return s, nil
	}
	if !utf8.Valid(b) {
		d.pos -= n
		return "", d.syntax("invalid UTF-8 in a string")
	}
	s := string(b)
	if len(d.intern) < internKept {
		if d.intern == nil {
			d.intern = make(map[string]string)
		}
		d.intern[s] = s
	}
	return s, nil
}

func (d *Decoder) xml(marker byte) (any, error) {
	n, inline, err := d.header()
	if err != nil {
		return nil, err
	}
	if !inline {
		return d.ref(n)
	}
	s, err := d.utf8(n)
	if err != nil {
		return nil, err
	}
	var v any = XML(s)
	if marker == markerXMLDocument {
		v = XMLDocument(s)
	}
	d.keep(v)
	return v, nil
}

// date reads a Date: an invalid one (NaN, or beyond time.Time) is the
// zero time.Time.
func (d *Decoder) date() (any, error) {
	n, inline, err := d.header()
	if err != nil {
		return nil, err
	}
	if !inline {
		return d.ref(n)
	}
	ms, err := d.float64()
	if err != nil {
		return nil, err
	}
	var v any = timeOfMillis(ms) // boxed once
	d.keep(v)
	return v, nil
}

func timeOfMillis(ms float64) time.Time {
	if math.IsNaN(ms) || math.Abs(ms) > 8.64e15 { // AS3's Date range: ±100,000,000 days
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}

func (d *Decoder) array() (any, error) {
	n, inline, err := d.header()
	if err != nil {
		return nil, err
	}
	if !inline {
		return d.ref(n)
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	idx := d.keep(nil)
	var arr *Array
	for {
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		if k == "" {
			break
		}
		if arr == nil {
			arr = &Array{Assoc: map[string]any{}}
			d.objects[idx] = arr
		}
		if err := d.count(1); err != nil {
			return nil, err
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		arr.Assoc[k] = v
	}
	if err := d.fits(n, 1); err != nil {
		return nil, err
	}
	if err := d.count(n); err != nil {
		return nil, err
	}
	dense := make([]any, n)
	if arr != nil {
		arr.Dense = dense
	} else {
		d.objects[idx] = dense
	}
	for i := range dense {
		if dense[i], err = d.value(); err != nil {
			return nil, err
		}
	}
	if arr != nil {
		return arr, nil
	}
	return dense, nil
}

func (d *Decoder) byteArray() (any, error) {
	n, inline, err := d.header()
	if err != nil {
		return nil, err
	}
	if !inline {
		return d.ref(n)
	}
	b, err := d.take(n)
	if err != nil {
		return nil, err
	}
	var v any // boxed once, for the table and the caller
	if d.reuse {
		v = b[:len(b):len(b)] // the input's bytes (SetReuse): an append copies
	} else {
		v = append([]byte{}, b...)
	}
	d.keep(v)
	return v, nil
}

// vectorHeader reads a vector's or dictionary's count (or reference) and
// its flag byte (fixed, or weak keys).
func (d *Decoder) vectorHeader() (n int, ref any, flag bool, err error) {
	n, inline, err := d.header()
	if err != nil {
		return 0, nil, false, err
	}
	if !inline {
		ref, err = d.ref(n)
		return 0, ref, false, err
	}
	b, err := d.byte()
	return n, nil, b != 0, err
}

func (d *Decoder) numberVector(marker byte) (any, error) {
	n, ref, _, err := d.vectorHeader()
	if err != nil || ref != nil {
		return ref, err
	}
	size := 4
	if marker == markerVectorDouble {
		size = 8
	}
	b, err := d.take(n * size) // n < 2^28: no overflow
	if err != nil {
		return nil, err
	}
	if err := d.count(n); err != nil {
		return nil, err
	}
	var v any
	switch marker {
	case markerVectorInt:
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(binary.BigEndian.Uint32(b[4*i:]))
		}
		v = s
	case markerVectorUint:
		s := make([]uint32, n)
		for i := range s {
			s[i] = binary.BigEndian.Uint32(b[4*i:])
		}
		v = s
	default:
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
		}
		v = s
	}
	d.keep(v)
	return v, nil
}

func (d *Decoder) objectVector() (any, error) {
	n, ref, fixed, err := d.vectorHeader()
	if err != nil || ref != nil {
		return ref, err
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	v := &ObjectVector{Fixed: fixed}
	d.keep(v)
	if v.Class, err = d.str(); err != nil {
		return nil, err
	}
	if v.Class == "*" {
		v.Class = ""
	}
	if err := d.fits(n, 1); err != nil {
		return nil, err
	}
	if err := d.count(n); err != nil {
		return nil, err
	}
	v.Items = make([]any, n)
	for i := range v.Items {
		if v.Items[i], err = d.value(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (d *Decoder) dictionary() (any, error) {
	n, ref, weak, err := d.vectorHeader()
	if err != nil || ref != nil {
		return ref, err
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	if err := d.fits(n, 2); err != nil {
		return nil, err
	}
	if err := d.count(n); err != nil {
		return nil, err
	}
	v := &Dictionary{Weak: weak, Entries: make([]Entry, n)}
	d.keep(v)
	for i := range v.Entries {
		if v.Entries[i].Key, err = d.value(); err != nil {
			return nil, err
		}
		if v.Entries[i].Value, err = d.value(); err != nil {
			return nil, err
		}
	}
	return v, nil
}
