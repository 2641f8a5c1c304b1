package amf

import (
	"errors"
	"unicode/utf8"
)

// ErrUnscannable says a Scanner met an externalizable class whose body it
// cannot measure (its length is the class's own business): only decoding
// it tells where the value ends.
var ErrUnscannable = errors.New("amf: an externalizable body the scanner cannot measure")

// Scanner finds where one AMF 3 value ends, in input that arrives in
// pieces, in time linear in the value's length: it keeps where it got to
// between calls, so a value trickled in many small reads is not decoded
// again from its start at each (Decode would have to be). It checks the
// structure (markers, references, nesting, Limits) but builds nothing;
// decode the value once Scan has found its end. Flex's collections
// (ArrayCollection, ArrayList, ObjectProxy) are measured; another
// externalizable class is ErrUnscannable. One goroutine at a time.
type Scanner struct {
	Limits Limits

	pos      int
	stack    []scanFrame
	nstrs    int      // the string table's length
	measured []uint64 // a bit per string: it names one of measuredClasses
	traits   []scanTraits
	elements int
	done     bool
	examined int // input bytes read, retries included: the work, for the tests
}

// scanTraits are the traits an object's body follows, in 4 bytes (a
// hostile value may define one per 3 bytes of input): the sealed count
// (below 2^25) shifted by 2, then the dynamic and external bits.
type scanTraits uint32

const (
	traitsDynamic  scanTraits = 1
	traitsExternal scanTraits = 2 // a measured Flex collection: one value
)

func (t scanTraits) sealed() int { return int(t >> 2) }

// scanFrame is a container being scanned.
type scanFrame struct {
	kind    uint8
	n       int        // values still to come (dense, sealed, values), or names (names)
	dynamic bool       // an object's dynamic members follow its sealed ones
	traits  scanTraits // names: the traits being read
}

const (
	frameAssocKey   = iota // an array's associative part: a key next
	frameAssocValue        // the value of the key just read
	frameDense             // an array's dense part: n values
	frameSealed            // an object's sealed values: n, then dynamic ones if dynamic
	frameDynKey            // an object's dynamic members: a name next
	frameDynValue          // the value of the name just read
	frameValues            // n values: a vector's, a dictionary's keys and values, a collection's body
	frameNames             // inline traits: n sealed member names still to come, one a step
)

// measuredClasses are the externalizable classes whose body is one value.
var measuredClasses = map[string]bool{
	"flex.messaging.io.ArrayCollection": true,
	"flex.messaging.io.ArrayList":       true,
	"flex.messaging.io.ObjectProxy":     true,
}

// Reset readies the scanner for a new value. It keeps its tables' room
// for the next value, unless a large one grew them past keptEntries: a
// scanner kept per connection then holds little between values.
func (s *Scanner) Reset() {
	s.pos, s.elements, s.done, s.nstrs = 0, 0, false, 0
	s.stack, s.measured, s.traits = trim(s.stack), trim(s.measured), trim(s.traits)
}

const keptEntries = 64

func trim[T any](s []T) []T {
	if cap(s) > keptEntries {
		return nil
	}
	return s[:0]
}

// Scan looks for the end of the value that data starts with. data is the
// input from the value's first byte, as much as has arrived: each call
// after an ErrTruncated passes at least what the last one did (more bytes
// behind the same ones). It returns the value's length once the value is
// complete, ErrTruncated while it is not, or the first fault (a
// *SyntaxError, a *LimitError, ErrUnscannable), after which only Reset
// helps.
func (s *Scanner) Scan(data []byte) (int, error) {
	for !s.done {
		if err := s.step(data); err != nil {
			return 0, err
		}
	}
	return s.pos, nil
}

// step consumes one token: a key, or a value (whole if it is a scalar, its
// header if it is a container). A token that the input ends inside is
// consumed not at all, so that the next call starts it again.
func (s *Scanner) step(data []byte) error {
	pos, nstrs, ntraits := s.pos, s.nstrs, len(s.traits)
	err := s.token(data)
	if err != nil {
		s.pos, s.nstrs, s.traits = pos, nstrs, s.traits[:ntraits]
	}
	return err
}

func (s *Scanner) token(data []byte) error {
	if len(s.stack) == 0 {
		return s.value(data)
	}
	f := &s.stack[len(s.stack)-1]
	switch f.kind {
	case frameNames:
		if _, err := s.str(data); err != nil {
			return err
		}
		if f.n--; f.n > 0 {
			return nil
		}
		t := f.traits
		s.stack = s.stack[:len(s.stack)-1]
		if err := s.count(t.sealed()); err != nil { // the names, as Decode counts them
			return err
		}
		s.traits = append(s.traits, t)
		return s.body(t, s.pos)
	case frameAssocKey, frameDynKey:
		empty, err := s.str(data)
		if err != nil {
			return err
		}
		switch {
		case !empty && f.kind == frameAssocKey:
			f.kind = frameAssocValue
			return s.count(1)
		case !empty:
			f.kind = frameDynValue
			return s.count(1)
		case f.kind == frameAssocKey:
			f.kind = frameDense
			if f.n == 0 {
				s.pop()
			}
		default:
			s.pop()
		}
		return nil
	}
	return s.value(data)
}

// complete moves on after a value ended: its container's next part, or the
// end of the whole.
func (s *Scanner) complete() {
	for {
		if len(s.stack) == 0 {
			s.done = true
			return
		}
		f := &s.stack[len(s.stack)-1]
		switch f.kind {
		case frameAssocValue:
			f.kind = frameAssocKey
			return
		case frameDynValue:
			f.kind = frameDynKey
			return
		}
		if f.n--; f.n > 0 {
			return
		}
		if f.kind == frameSealed && f.dynamic {
			f.kind = frameDynKey
			return
		}
		s.stack = s.stack[:len(s.stack)-1] // ended: the parent's value is complete
	}
}

// pop ends the top container, which completes its parent's value.
func (s *Scanner) pop() {
	s.stack = s.stack[:len(s.stack)-1]
	s.complete()
}

// push starts a container, adding elements to the budget as Decode
// counts them; one with nothing to come completes at once.
func (s *Scanner) push(f scanFrame, pos, elements int) error {
	if len(s.stack) >= s.Limits.depth() {
		return &LimitError{Offset: pos, Limit: "MaxDepth", Value: s.Limits.depth()}
	}
	if err := s.count(elements); err != nil {
		return err
	}
	if f.n == 0 && f.kind != frameAssocKey {
		if f.kind != frameSealed || !f.dynamic {
			s.complete()
			return nil
		}
		f.kind = frameDynKey
	}
	s.stack = append(s.stack, f)
	return nil
}

func (s *Scanner) count(n int) error {
	if s.elements += n; s.elements > s.Limits.elements() {
		return &LimitError{Offset: s.pos, Limit: "MaxElements", Value: s.Limits.elements()}
	}
	return nil
}

func (s *Scanner) syntax(msg string) error { return &SyntaxError{Offset: s.pos, Msg: msg} }

func (s *Scanner) byte(data []byte) (byte, error) {
	if s.pos >= len(data) {
		return 0, ErrTruncated
	}
	s.pos++
	s.examined++
	return data[s.pos-1], nil
}

func (s *Scanner) skip(data []byte, n int) error {
	if n < 0 || n > len(data)-s.pos {
		return ErrTruncated
	}
	s.pos += n
	s.examined += n
	return nil
}

func (s *Scanner) u29(data []byte) (uint32, error) {
	var v uint32
	for range 3 {
		b, err := s.byte(data)
		if err != nil {
			return 0, err
		}
		if b < 0x80 {
			return v<<7 | uint32(b), nil
		}
		v = v<<7 | uint32(b&0x7f)
	}
	b, err := s.byte(data)
	return v<<8 | uint32(b), err
}

// header reads a U29 with its inline flag; a reference has nothing behind
// it (the scanner does not keep the object table: a reference's target
// does not change where the value ends, and Decode checks it).
func (s *Scanner) header(data []byte) (n int, inline bool, err error) {
	u, err := s.u29(data)
	return int(u >> 1), u&1 == 1, err
}

// str skips a UTF-8-vr, keeping inline strings in the table; it reports
// whether the string is empty.
func (s *Scanner) str(data []byte) (empty bool, err error) {
	_, empty, err = s.strMeasured(data)
	return empty, err
}

// strMeasured is str, also reporting whether the string names one of
// measuredClasses (all the scanner needs to know of a string's text).
func (s *Scanner) strMeasured(data []byte) (measured, empty bool, err error) {
	n, inline, err := s.header(data)
	if err != nil {
		return false, false, err
	}
	if !inline {
		if n >= s.nstrs {
			return false, false, s.syntax("reference to a string not yet read")
		}
		return s.measured[n/64]&(1<<(n%64)) != 0, false, nil
	}
	off := s.pos
	if err := s.skip(data, n); err != nil {
		return false, false, err
	}
	text := data[off : off+n]
	if !utf8.Valid(text) {
		s.pos = off
		return false, false, s.syntax("invalid UTF-8 in a string")
	}
	if n == 0 {
		return false, true, nil
	}
	measured = measuredClasses[string(text)] // no allocation: the compiler looks up without a copy
	i := s.nstrs
	s.nstrs++
	for len(s.measured) <= i/64 {
		s.measured = append(s.measured, 0)
	}
	if measured {
		s.measured[i/64] |= 1 << (i % 64)
	} else {
		s.measured[i/64] &^= 1 << (i % 64)
	}
	return measured, false, nil
}

// value scans one value: a scalar whole, a container's header (pushing it).
func (s *Scanner) value(data []byte) error {
	start := s.pos
	m, err := s.byte(data)
	if err != nil {
		return err
	}
	switch m {
	case markerUndefined, markerNull, markerFalse, markerTrue:
	case markerInteger:
		_, err = s.u29(data)
	case markerDouble:
		err = s.skip(data, 8)
	case markerString:
		_, err = s.str(data)
	case markerXMLDocument, markerXML, markerByteArray:
		n, inline, herr := s.header(data)
		if err = herr; err == nil && inline {
			err = s.skip(data, n)
		}
	case markerDate:
		_, inline, herr := s.header(data)
		if err = herr; err == nil && inline {
			err = s.skip(data, 8)
		}
	case markerVectorInt, markerVectorUint, markerVectorDouble:
		n, inline, herr := s.header(data)
		if err = herr; err == nil && inline {
			size := 4
			if m == markerVectorDouble {
				size = 8
			}
			if err = s.skip(data, 1+n*size); err == nil {
				err = s.count(n)
			}
		}
	case markerArray:
		n, inline, herr := s.header(data)
		if herr != nil || !inline {
			err = herr
			break
		}
		return s.push(scanFrame{kind: frameAssocKey, n: n}, start, n)
	case markerObject:
		return s.object(data, start)
	case markerVectorObject, markerDictionary:
		n, inline, herr := s.header(data)
		if herr != nil || !inline {
			err = herr
			break
		}
		if err := s.skip(data, 1); err != nil { // fixed, or weak keys
			return err
		}
		values := n
		if m == markerVectorObject {
			if _, err := s.str(data); err != nil { // the element type
				return err
			}
		} else {
			values = 2 * n // keys and values
		}
		return s.push(scanFrame{kind: frameValues, n: values}, start, n)
	default:
		s.pos = start
		return s.syntax("unknown AMF 3 marker")
	}
	if err != nil {
		return err
	}
	s.complete()
	return nil
}

// object scans an object's header and traits, and pushes its body.
func (s *Scanner) object(data []byte, start int) error {
	u, err := s.u29(data)
	if err != nil {
		return err
	}
	if u&1 == 0 {
		s.complete()
		return nil
	}
	var t scanTraits
	switch {
	case u&2 == 0:
		i := int(u >> 2)
		if i >= len(s.traits) {
			return s.syntax("reference to traits not yet read")
		}
		t = s.traits[i]
	case u&4 != 0:
		measured, _, err := s.strMeasured(data)
		if err != nil {
			return err
		}
		if !measured {
			return ErrUnscannable
		}
		t = traitsExternal
		s.traits = append(s.traits, t)
	default:
		sealed := int(u >> 4)
		t = scanTraits(sealed) << 2
		if u&8 != 0 {
			t |= traitsDynamic
		}
		if _, err := s.str(data); err != nil { // the class
			return err
		}
		if sealed > 0 { // the names, one a step: traits may be long
			if len(s.stack) >= s.Limits.depth() {
				return &LimitError{Offset: start, Limit: "MaxDepth", Value: s.Limits.depth()}
			}
			s.stack = append(s.stack, scanFrame{kind: frameNames, n: sealed, traits: t})
			return nil
		}
		s.traits = append(s.traits, t)
	}
	return s.body(t, start)
}

// body pushes an object's body: its sealed values (counted, as Decode
// counts them) and dynamic members, or a collection's one value.
func (s *Scanner) body(t scanTraits, pos int) error {
	if t&traitsExternal != 0 {
		return s.push(scanFrame{kind: frameValues, n: 1}, pos, 0)
	}
	return s.push(scanFrame{kind: frameSealed, n: t.sealed(), dynamic: t&traitsDynamic != 0}, pos, t.sealed())
}
