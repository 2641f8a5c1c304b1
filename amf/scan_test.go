package amf

import (
	"errors"
	"testing"
	"time"
	"unsafe"
)

// scanValues are values of every kind for the scanner's tests.
func scanValues() []any {
	shared := []any{"s"}
	return []any{
		nil, Undefined{}, true, 7, -1, 1 << 30, 2.5, "", "str", XML("<a/>"), XMLDocument("<d/>"), time.UnixMilli(9).UTC(),
		[]byte("bytes"), []any{}, []any{shared, shared, "s", "s"}, &Array{Dense: []any{1}, Assoc: map[string]any{"k": []any{}}},
		map[string]any{}, map[string]any{"a": map[string]any{"b": nil}}, &Point{X: 1, Label: "p"},
		[]any{&Point{X: 1}, &Point{X: 2}}, []int32{1, 2}, []uint32{}, []float64{1.5},
		&ObjectVector{Class: "test.Point", Items: []any{&Point{}}}, &Dictionary{Entries: []Entry{{1, "one"}, {"two", []any{2}}}},
		&Object{Traits: &Traits{Class: "u.U", Sealed: []string{"a"}, Dynamic: true}, Sealed: []any{1}, Dynamic: []Member{{"b", 2}}},
		&Object{Traits: &Traits{Class: "u.V", Sealed: []string{}}}, &ArrayCollection{1, "x"}, &ObjectProxy{Object: &ArrayList{2}},
	}
}

// TestScanFindsTheEnd: for every kind of value, Scan over its bytes fed
// one at a time says ErrTruncated until the last and then the value's
// length, as it does over all of them at once; the bytes behind the value
// are not taken.
func TestScanFindsTheEnd(t *testing.T) {
	for _, v := range scanValues() {
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, 0x01, 0x02) // the next value's bytes
		var s Scanner
		for i := 1; i <= len(b)-2; i++ {
			n, err := s.Scan(b[:i])
			if i < len(b)-2 {
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("%#v: after %d of %d bytes: %d, %v; want ErrTruncated", v, i, len(b)-2, n, err)
				}
				continue
			}
			if err != nil || n != len(b)-2 {
				t.Fatalf("%#v: %d, %v; want %d", v, n, err, len(b)-2)
			}
		}
		s.Reset()
		if n, err := s.Scan(b); err != nil || n != len(b)-2 {
			t.Errorf("%#v all at once: %d, %v; want %d", v, n, err, len(b)-2)
		}
	}
}

// TestScanFaults: the scanner refuses what Decode refuses for structure
// (unknown markers, references to strings and traits not read, invalid
// UTF-8, nesting beyond MaxDepth, elements beyond MaxElements) and says
// ErrUnscannable for an externalizable class it cannot measure.
func TestScanFaults(t *testing.T) {
	for _, c := range []struct {
		name string
		hex  string
		want error
	}{
		{"unknown marker", "12", &SyntaxError{}},
		{"string reference", "0602", &SyntaxError{}},
		{"traits reference", "0a05", &SyntaxError{}},
		{"invalid UTF-8", "0603ff", &SyntaxError{}},
		{"unmeasured externalizable", "0a070378", ErrUnscannable},
	} {
		var s Scanner
		_, err := s.Scan(mustHex(t, c.hex))
		var se *SyntaxError
		if _, isSyntax := c.want.(*SyntaxError); isSyntax && !errors.As(err, &se) || !isSyntax && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %T %v", c.name, err, c.want, c.want)
		}
	}
	deep := make([]byte, 0, 600)
	for range 200 {
		deep = append(deep, markerArray, 0x03, 0x01)
	}
	var s Scanner
	var le *LimitError
	if _, err := s.Scan(deep); !errors.As(err, &le) || le.Limit != "MaxDepth" {
		t.Errorf("200 nested arrays: %v, want a MaxDepth LimitError", err)
	}
	s = Scanner{Limits: Limits{MaxElements: 10}}
	if _, err := s.Scan(mustHex(t, "0917")); !errors.As(err, &le) || le.Limit != "MaxElements" { // 11 elements
		t.Errorf("11 elements against 10: %v, want a MaxElements LimitError", err)
	}
}

// FuzzScan: the scanner agrees with the decoder: where Decode finds a
// value of n bytes, Scan finds n too, fed all at once or in two pieces;
// where Scan finds n, Decode of those n bytes is never ErrTruncated.
func FuzzScan(f *testing.F) {
	for _, v := range scanValues() {
		b, _ := Marshal(v)
		f.Add(b, uint16(len(b)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		lim := Limits{MaxDepth: 32, MaxElements: 1 << 12}
		d := NewDecoder()
		d.Limits = lim
		_, dn, derr := d.Decode(data)
		s := Scanner{Limits: lim}
		sn, serr := s.Scan(data)
		if errors.Is(serr, ErrUnscannable) {
			return
		}
		if derr == nil && (serr != nil || sn != dn) {
			t.Fatalf("Decode took %d bytes; Scan %d, %v", dn, sn, serr)
		}
		if serr == nil {
			if _, n, err := d.Decode(data[:sn]); errors.Is(err, ErrTruncated) || err == nil && n != sn {
				t.Fatalf("Scan found %d bytes; Decode of them: %d, %v", sn, n, err)
			}
		}
		// In two pieces: the same answer.
		c := int(cut) % (len(data) + 1)
		s2 := Scanner{Limits: lim}
		if _, err := s2.Scan(data[:c]); err != nil && !errors.Is(err, ErrTruncated) {
			return // a fault in the first piece: the whole has it too, or a later one
		}
		n2, err2 := s2.Scan(data)
		if (err2 == nil) != (serr == nil) || n2 != sn {
			t.Fatalf("in pieces (%d, then all %d): %d, %v; at once: %d, %v", c, len(data), n2, err2, sn, serr)
		}
	})
}

// TestScanMemoryBound: what a scan holds while a hostile value is partial
// is bounded by its input: 64 KiB of objects with inline traits (one per
// 3 bytes, the most a value can define) and of one-byte strings (one per 2
// bytes) keep its tables under 100 KiB; Reset drops them.
func TestScanMemoryBound(t *testing.T) {
	for _, c := range []struct {
		name string
		item []byte
	}{
		{"traits", []byte{markerObject, 0x03, 0x01}}, // an object with inline traits: no sealed members, class ""
		{"strings", []byte{markerString, 0x03, 'x'}}, // a one-byte string, a new entry each time (the scanner does not dedupe)
	} {
		const items = 64 << 10 / 3 // more than 64 KiB holds: the value stays partial
		e := NewEncoder()
		e.u29(items<<1 | 1)
		in := append([]byte{markerArray}, e.buf...)
		in = append(in, 0x01) // no associative part
		for len(in) < 64<<10 {
			in = append(in, c.item...)
		}
		var s Scanner
		if _, err := s.Scan(in); !errors.Is(err, ErrTruncated) {
			t.Fatalf("%s: %v", c.name, err)
		}
		held := cap(s.traits)*4 + cap(s.measured)*8 + cap(s.stack)*int(unsafe.Sizeof(scanFrame{}))
		t.Logf("%s: %d traits, %d strings: %d bytes held", c.name, len(s.traits), s.nstrs, held)
		if held > 100<<10 {
			t.Errorf("%s: the scan holds %d bytes for a 64 KiB partial value", c.name, held)
		}
		s.Reset()
		if cap(s.traits) != 0 || cap(s.measured) != 0 {
			t.Errorf("%s: Reset kept %d traits' and %d words' room", c.name, cap(s.traits), cap(s.measured))
		}
	}
}
