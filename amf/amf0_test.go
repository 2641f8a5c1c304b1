package amf

import (
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestAMF0Bytes: the AMF 0 specification's encodings, both ways, and the
// switch to AMF 3 for what AMF 0 cannot say.
func TestAMF0Bytes(t *testing.T) {
	one := "3ff0000000000000"
	for _, c := range []struct {
		name string
		v    any
		hex  string
		back any // what decoding gives, if not v
	}{
		{"number", 1.0, "00" + one, nil},
		{"integer", 1, "00" + one, 1.0},
		{"true", true, "0101", nil},
		{"string", "hi", "0200026869", nil},
		{"null", nil, "05", nil},
		{"undefined", Undefined{}, "06", nil},
		{"object", map[string]any{"a": 1.0}, "03" + "000161" + "00" + one + "000009", nil},
		{"strict array", []any{1.0}, "0a00000001" + "00" + one, nil},
		{"date", time.UnixMilli(1).UTC(), "0b" + one + "0000", nil},
		{"xml document", XMLDocument("<a/>"), "0f000000043c612f3e", nil},
		{"typed object", &Point{X: 1, Label: "p"}, "10000a" + hex.EncodeToString([]byte("test.Point")) +
			"000158" + "00" + one + "000159" + "000000000000000000" + "00056c6162656c" + "02000170" + "000009", nil},
		{"ecma array", &Array{Dense: []any{1.0}, Assoc: map[string]any{"k": true}}, "0800000002" + "000130" + "00" + one +
			"00016b" + "0101" + "000009", nil},
		{"byte array through AMF 3", []byte{7}, "11" + "0c0307", nil},
		{"vector through AMF 3", []int32{1}, "11" + "0d0300" + "00000001", nil},
	} {
		got, err := Marshal0(c.v)
		if err != nil || hex.EncodeToString(got) != c.hex {
			t.Errorf("%s: Marshal0 = %x, %v; want %s", c.name, got, err, c.hex)
			continue
		}
		want := c.back
		if want == nil {
			want = c.v
		}
		v, err := Unmarshal0(got)
		if err != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("%s: Unmarshal0(%x) = %#v, %v; want %#v", c.name, got, v, err, want)
		}
	}
}

// TestAMF0References: a map met twice is sent once and then as reference
// 0, and decodes to one map; a cycle survives.
func TestAMF0References(t *testing.T) {
	m := map[string]any{}
	m["self"] = m
	b, err := Marshal0([]any{m, m})
	if err != nil {
		t.Fatal(err)
	}
	// strict array (index 0), m (index 1) with self -> reference 1, then reference 1.
	if want := "0a00000002" + "03" + "000473656c66" + "070001" + "000009" + "070001"; hex.EncodeToString(b) != want {
		t.Errorf("%x, want %s", b, want)
	}
	v, err := Unmarshal0(b)
	if err != nil {
		t.Fatal(err)
	}
	s := v.([]any)
	g := s[0].(map[string]any)
	if reflect.ValueOf(s[1]).UnsafePointer() != reflect.ValueOf(g).UnsafePointer() ||
		reflect.ValueOf(g["self"]).UnsafePointer() != reflect.ValueOf(g).UnsafePointer() {
		t.Error("the shared, self-holding map came back as copies")
	}
}

// TestAMF0ArrayKeyCollision: an *Array whose associative part has a key
// that is also a dense index cannot be sent as an AMF 0 ECMA array (the
// two would be one member there, and one value lost): an error, found by
// the review; a key past the dense part is fine.
func TestAMF0ArrayKeyCollision(t *testing.T) {
	var ue *UnsupportedTypeError
	if _, err := Marshal0(&Array{Dense: []any{1.0}, Assoc: map[string]any{"0": 2.0}}); !errors.As(err, &ue) {
		t.Errorf("Dense[0] beside Assoc[\"0\"]: %v, want an UnsupportedTypeError", err)
	}
	b, err := Marshal0(&Array{Dense: []any{1.0}, Assoc: map[string]any{"1x": 2.0, "5": 3.0}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Unmarshal0(b)
	if a, ok := v.(*Array); err != nil || !ok || len(a.Dense) != 1 || a.Assoc["5"] != 3.0 || a.Assoc["1x"] != 2.0 {
		t.Errorf("round trip: %#v, %v", v, err)
	}
}

// TestAMF0ECMACountSkipsEmptyKey: an ECMA array's count is the members
// written; a "" key, which cannot be written (its name is the end marker),
// is not counted.
func TestAMF0ECMACountSkipsEmptyKey(t *testing.T) {
	b, err := Marshal0(&Array{Dense: []any{1}, Assoc: map[string]any{"": 2, "a": 3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 5 || b[0] != 0x08 || b[1] != 0 || b[2] != 0 || b[3] != 0 || b[4] != 2 {
		t.Fatalf("% x: want an ECMA array of count 2", b)
	}
}
