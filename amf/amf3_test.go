package amf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSpecIntegers: the U29 boundaries of the AMF 3 specification (1.3.1:
// one byte to 0x7F, two to 0x3FFF, three to 0x1FFFFF, four to 0x1FFFFFFF)
// and the 29-bit two's complement of negative integers, both ways; beyond
// the range an integer is sent as a double.
func TestSpecIntegers(t *testing.T) {
	for _, c := range []struct {
		n   int
		hex string
	}{
		{0, "0400"}, {1, "0401"}, {127, "047f"}, {128, "048100"}, {16383, "04ff7f"}, {16384, "04818000"},
		{2097151, "04ffff7f"}, {2097152, "0480c08000"}, {268435455, "04bfffffff"}, {-1, "04ffffffff"},
		{-268435456, "04c0808000"},
	} {
		got, err := Marshal(c.n)
		if err != nil || hex.EncodeToString(got) != c.hex {
			t.Errorf("Marshal(%d) = %x, %v; want %s", c.n, got, err, c.hex)
		}
		v, err := Unmarshal(mustHex(t, c.hex))
		if err != nil || v != c.n {
			t.Errorf("Unmarshal(%s) = %#v, %v; want %d", c.hex, v, err, c.n)
		}
	}
	for _, n := range []int64{268435456, -268435457, math.MaxInt64} {
		got, _ := Marshal(n)
		if got[0] != markerDouble || math.Float64frombits(beUint64(got[1:])) != float64(n) {
			t.Errorf("Marshal(%d) = %x, want a double", n, got)
		}
	}
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}

// TestSpecBytes: values whose encoding the specification fixes byte for
// byte: the markers of undefined, null, false and true, a double, strings
// (with "" never a reference and a repeated string a reference), an
// anonymous object, a dense array, a Date, a ByteArray and vectors.
func TestSpecBytes(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		hex  string
	}{
		{"undefined", Undefined{}, "00"},
		{"null", nil, "01"},
		{"false", false, "02"},
		{"true", true, "03"},
		{"double 1.5", 1.5, "053ff8000000000000"},
		{"empty string", "", "0601"},
		{"hello", "hello", "060b68656c6c6f"},
		// An array of "hello", "hello", "": the second is reference 0,
		// "" is inline again.
		{"string reference", []any{"hello", "hello", ""}, "090701" + "060b68656c6c6f" + "0600" + "0601"},
		// {a: 1}: anonymous dynamic traits (0x0b: inline, traits inline,
		// dynamic, 0 sealed), class "", member a, end.
		{"anonymous object", map[string]any{"a": 1}, "0a0b01" + "0361" + "0401" + "01"},
		{"dense array", []any{1, 2}, "090501" + "0401" + "0402"},
		{"date", time.UnixMilli(1).UTC(), "0801" + "3ff0000000000000"},
		{"byte array", []byte{1, 2, 3}, "0c07010203"},
		{"vector int", []int32{-1, 2}, "0d0500" + "ffffffff" + "00000002"},
		{"vector uint", []uint32{1}, "0e0300" + "00000001"},
		{"vector double", []float64{1.5}, "0f0300" + "3ff8000000000000"},
		{"xml", XML("<a/>"), "0b093c612f3e"},
		{"xml document", XMLDocument("<a/>"), "07093c612f3e"},
	} {
		got, err := Marshal(c.v)
		if err != nil || hex.EncodeToString(got) != c.hex {
			t.Errorf("%s: Marshal = %x, %v; want %s", c.name, got, err, c.hex)
			continue
		}
		v, err := Unmarshal(got)
		if err != nil || !reflect.DeepEqual(v, c.v) {
			t.Errorf("%s: Unmarshal(%x) = %#v, %v; want %#v", c.name, got, v, err, c.v)
		}
	}
}

// Point is a typed class for the tests, registered as "test.Point".
type Point struct {
	X, Y  float64
	Label string `amf:"label"`
	Skip  int    `amf:"-"`
}

func init() {
	if err := RegisterClassAlias("test.Point", Point{}); err != nil {
		panic(err)
	}
}

// TestRoundTrip: every Go type of the mapping comes back as itself.
func TestRoundTrip(t *testing.T) {
	when := time.Date(2026, 12, 2, 3, 4, 5, 6e6, time.UTC)
	for _, v := range []any{
		Undefined{}, nil, true, false, 0, -5, maxInt29, minInt29, 3.25, math.Inf(-1), "héllo wörld", XML("<x a='1'/>"),
		XMLDocument("<doc/>"), when, []byte{}, []byte("bytes"), []any{}, []any{1, "two", 3.5, nil, Undefined{}},
		&Array{Dense: []any{1}, Assoc: map[string]any{"k": "v"}}, map[string]any{}, map[string]any{"a": []any{map[string]any{"b": true}}},
		[]int32{math.MinInt32, 0, math.MaxInt32}, []uint32{0, math.MaxUint32}, []float64{0, -0.5},
		&ObjectVector{Class: "test.Point", Fixed: true, Items: []any{&Point{X: 1, Y: 2, Label: "p"}}},
		&ObjectVector{Items: []any{"a", 1}},
		&Dictionary{Weak: true, Entries: []Entry{{Key: &Point{X: 1}, Value: "point"}, {Key: 2, Value: []any{}}}},
		&Point{X: 1.5, Y: -2, Label: "origin"},
		&Object{Traits: &Traits{Class: "unknown.Class", Sealed: []string{"a", "b"}, Dynamic: true}, Sealed: []any{1, "x"},
			Dynamic: []Member{{"z", true}, {"y", nil}}},
		&ArrayCollection{1, "two"},
		&ObjectProxy{Object: map[string]any{"k": 1}},
	} {
		b, err := Marshal(v)
		if err != nil {
			t.Errorf("Marshal(%#v): %v", v, err)
			continue
		}
		got, err := Unmarshal(b)
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Errorf("round trip of %#v: %#v, %v (bytes %x)", v, got, err, b)
		}
	}
}

// TestReferencesRestored: a value met twice is sent as a reference and
// decodes to one Go value; cycles through maps, arrays, objects and typed
// objects decode to cycles.
func TestReferencesRestored(t *testing.T) {
	shared := []any{"s"}
	b, err := Marshal([]any{shared, shared})
	if err != nil {
		t.Fatal(err)
	}
	// outer array (index 0), shared (index 1), then a reference to 1.
	if want := "090501" + "090301" + "060373" + "0902"; hex.EncodeToString(b) != want {
		t.Errorf("shared array: %x, want %s", b, want)
	}
	v, _ := Unmarshal(b)
	outer := v.([]any)
	if &outer[0].([]any)[0] != &outer[1].([]any)[0] {
		t.Error("the shared array decoded as two arrays")
	}

	m := map[string]any{"name": "m"}
	m["self"] = m
	a := []any{nil, m}
	a[0] = a // an array holding itself (the slice header aliases its array)
	o := &Object{Traits: &Traits{Class: "c.C", Sealed: []string{"me"}}, Sealed: []any{nil}}
	o.Sealed[0] = o
	type Node struct {
		Next *Node
		Name string
	}
	if err := RegisterClassAlias("test.Node", Node{}); err != nil {
		t.Fatal(err)
	}
	n1, n2 := &Node{Name: "1"}, &Node{Name: "2"}
	n1.Next, n2.Next = n2, n1
	b, err = Marshal([]any{a, o, n1})
	if err != nil {
		t.Fatal(err)
	}
	v, err = Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	top := v.([]any)
	ga := top[0].([]any)
	if &ga[0].([]any)[0] != &ga[0] {
		t.Error("the self-holding array lost its cycle")
	}
	gm := ga[1].(map[string]any)
	if reflect.ValueOf(gm["self"]).UnsafePointer() != reflect.ValueOf(gm).UnsafePointer() || gm["name"] != "m" {
		t.Errorf("the self-holding map lost its cycle: %v", gm)
	}
	if g := top[1].(*Object); g.Sealed[0] != g {
		t.Error("the self-holding object lost its cycle")
	}
	if g := top[2].(*Node); g.Next.Next != g || g.Name != "1" || g.Next.Name != "2" {
		t.Errorf("the typed cycle came back as %+v", g)
	}
}

// TestTraitsAndStringsReferenced: a second object of a class sends its
// traits by reference, and its member names are not repeated.
func TestTraitsAndStringsReferenced(t *testing.T) {
	one, _ := Marshal([]any{&Point{X: 1}})
	two, _ := Marshal([]any{&Point{X: 1}, &Point{X: 2}})
	// The second object: marker, traits reference 0 (0x01), three values.
	if extra := len(two) - len(one); extra != 1+1+9+9+2 {
		t.Errorf("the second Point took %d bytes (%x), want 22: marker, traits reference, two doubles, an empty string", extra, two)
	}
	v, err := Unmarshal(two)
	if err != nil {
		t.Fatal(err)
	}
	if p := v.([]any)[1].(*Point); p.X != 2 {
		t.Errorf("second point %+v", p)
	}
}

// TestHostileInput: lengths and counts are never trusted, references are
// checked, nesting and elements are bounded; input ending early is
// ErrTruncated at every cut.
func TestHostileInput(t *testing.T) {
	for _, c := range []struct {
		name string
		hex  string
		want any // error value or type
	}{
		{"huge array count", "09bfffffff01", ErrTruncated},
		{"huge string", "06bfffffff", ErrTruncated},
		{"huge vector", "0fbfffffff00", ErrTruncated},
		{"huge dictionary", "11bfffffff00", ErrTruncated},
		{"huge sealed count", "0a" + "bfffff73" + "01", ErrTruncated},
		{"object reference to nothing", "0a02", &SyntaxError{}},
		{"string reference to nothing", "0602", &SyntaxError{}},
		{"traits reference to nothing", "0a05", &SyntaxError{}},
		{"unknown marker", "12", &SyntaxError{}},
		{"invalid UTF-8", "0603ff", &SyntaxError{}},
		{"unregistered externalizable", "0a07" + "0378", &SyntaxError{}},
	} {
		_, _, err := NewDecoder().Decode(mustHex(t, c.hex))
		switch w := c.want.(type) {
		case error:
			if se := new(SyntaxError); errors.As(w, &se) {
				if !errors.As(err, &se) {
					t.Errorf("%s: %v, want a SyntaxError", c.name, err)
				}
			} else if !errors.Is(err, w) {
				t.Errorf("%s: %v, want %v", c.name, err, w)
			}
		}
	}

	// Nesting: 200 arrays in each other against MaxDepth 128.
	deep := bytes.Repeat([]byte{markerArray, 0x03, 0x01}, 200)
	deep = append(deep, markerNull)
	var le *LimitError
	if _, _, err := NewDecoder().Decode(deep); !errors.As(err, &le) || le.Limit != "MaxDepth" {
		t.Errorf("200 nested arrays: %v, want a MaxDepth LimitError", err)
	}
	// Elements: 1,000 nulls against MaxElements 999.
	many := append([]byte{markerArray}, 0x8f, 0x51, 0x01) // 1,000 << 1 | 1 = 0x7d1
	many = append(many, bytes.Repeat([]byte{markerNull}, 1000)...)
	d := NewDecoder()
	d.Limits.MaxElements = 999
	if _, _, err := d.Decode(many); !errors.As(err, &le) || le.Limit != "MaxElements" {
		t.Errorf("1,000 elements: %v, want a MaxElements LimitError", err)
	}
	d.Limits.MaxElements = 1000
	if v, _, err := d.Decode(many); err != nil || len(v.([]any)) != 1000 {
		t.Errorf("1,000 elements within the bound: %v", err)
	}

	// Every cut of a rich value is ErrTruncated, consuming nothing.
	full, err := Marshal([]any{&Point{X: 1, Label: "l"}, map[string]any{"k": []byte("v")}, time.UnixMilli(5).UTC(),
		&Dictionary{Entries: []Entry{{1, 2}}}, []float64{1}, &ObjectVector{Items: []any{"x"}}, XML("<a/>"), &ArrayCollection{1}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range full {
		if v, n, err := NewDecoder().Decode(full[:i]); err != ErrTruncated || n != 0 || v != nil {
			t.Fatalf("cut at %d of %d: %v, %d, %v; want ErrTruncated, 0, nil", i, len(full), v, n, err)
		}
	}
	if _, n, err := NewDecoder().Decode(append(full, 0x01)); err != nil || n != len(full) {
		t.Errorf("the value with a byte behind it: %d, %v; want %d", n, err, len(full))
	}
}

// TestEncodeNoAllocs: primitives and strings encoded into a reused buffer
// allocate nothing (strings after their first use fill the string table).
func TestEncodeNoAllocs(t *testing.T) {
	e := NewEncoder()
	buf := make([]byte, 0, 256)
	values := []any{nil, true, 42, -7, 3.5, "a string", int64(1 << 40), Undefined{}}
	for _, v := range values {
		buf, _ = e.Encode(buf[:0], v)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, v := range values {
			buf, _ = e.Encode(buf[:0], v)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round of primitives and strings, want 0", allocs)
	}
}

// TestUnsupported: a Go value with no AMF form is an error, not a panic.
func TestUnsupported(t *testing.T) {
	type unregistered struct{ A int }
	for _, v := range []any{make(chan int), func() {}, unregistered{1}, map[int]string{1: "x"}} {
		var ue *UnsupportedTypeError
		if _, err := Marshal(v); !errors.As(err, &ue) {
			t.Errorf("Marshal(%T): %v, want an UnsupportedTypeError", v, err)
		}
	}
}

// TestManyReferences: past the encoder's linear tables (32 entries) the
// references still point right: 100 distinct strings and 100 shared maps,
// each met twice, and again with a fresh value on the same encoder.
func TestManyReferences(t *testing.T) {
	e := NewEncoder()
	for round := range 2 {
		var v []any
		maps := make([]map[string]any, 100)
		for i := range maps {
			maps[i] = map[string]any{"i": i}
		}
		for i := range 100 {
			v = append(v, "s"+string(rune('a'+i%26))+string(rune('a'+i/26)), maps[i])
		}
		v = append(v, v...) // everything again: references
		b, err := e.Encode(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(b)
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Fatalf("round %d: %v", round, err)
		}
		g := got.([]any)
		if reflect.ValueOf(g[1]).UnsafePointer() != reflect.ValueOf(g[201]).UnsafePointer() {
			t.Errorf("round %d: the shared map decoded twice", round)
		}
	}
}

// TestRegisterAgainSeenByEncoder: an encoder that has cached a type's
// class sees the type registered again under another alias (the
// registry's generation changes).
func TestRegisterAgainSeenByEncoder(t *testing.T) {
	type Cached struct{ A int }
	r := NewRegistry()
	if err := r.Register("first.Alias", Cached{}); err != nil {
		t.Fatal(err)
	}
	e := NewEncoder()
	e.SetRegistry(r)
	b1, _ := e.Encode(nil, &Cached{1})
	if err := r.Register("second.Alias", Cached{}); err != nil {
		t.Fatal(err)
	}
	b2, _ := e.Encode(nil, &Cached{1})
	if !bytes.Contains(b1, []byte("first.Alias")) || !bytes.Contains(b2, []byte("second.Alias")) {
		t.Errorf("encodings %q then %q: the second registration was not seen", b1, b2)
	}
}
