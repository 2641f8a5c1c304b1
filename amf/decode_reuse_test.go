package amf

import (
	"reflect"
	"testing"
)

// TestDecoderReuse: with SetReuse, the next Decode fills the maps of the
// last value's anonymous objects (nested ones too) again, emptied first,
// and decodes what it should; without it every value has maps of its own.
// A map that held more than reuseMapLen members is not kept.
func TestDecoderReuse(t *testing.T) {
	first, err := Marshal(map[string]any{"a": 1, "in": map[string]any{"x": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Marshal(map[string]any{"b": 2, "in": map[string]any{"z": true}})
	if err != nil {
		t.Fatal(err)
	}
	ptr := func(v any) uintptr { return uintptr(reflect.ValueOf(v).UnsafePointer()) }

	d := NewDecoder()
	d.SetReuse(true)
	v1, _, err := d.Decode(first)
	if err != nil {
		t.Fatal(err)
	}
	p1 := map[uintptr]bool{ptr(v1): true, ptr(v1.(map[string]any)["in"]): true}
	v2, _, err := d.Decode(second)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"b": 2, "in": map[string]any{"z": true}}; !reflect.DeepEqual(v2, want) {
		t.Fatalf("reused: %v, want %v", v2, want)
	}
	if !p1[ptr(v2)] || !p1[ptr(v2.(map[string]any)["in"])] {
		t.Error("the second value's maps are new: nothing was reused")
	}

	d.SetReuse(false)
	v3, _, _ := d.Decode(first)
	v4, _, _ := d.Decode(second)
	if ptr(v3) == ptr(v4) || !reflect.DeepEqual(v3, map[string]any{"a": 1, "in": map[string]any{"x": "y"}}) {
		t.Error("without reuse a value's maps were taken by the next")
	}

	big := map[string]any{}
	for i := range reuseMapLen + 1 {
		big[string(rune('a'+i%26))+string(rune('a'+i/26))] = i
	}
	b, err := Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	d.SetReuse(true)
	v5, _, _ := d.Decode(b)
	v6, _, _ := d.Decode(second)
	if ptr(v5) == ptr(v6) {
		t.Error("a map of more than reuseMapLen members was kept for reuse")
	}
}

// TestDecoderReuseAliasesBytes: with SetReuse a ByteArray is the input's
// bytes, capped so that an append cannot write over what follows; without
// it, a copy.
func TestDecoderReuseAliasesBytes(t *testing.T) {
	in, err := Marshal([]any{[]byte("abc"), "after"})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder()
	d.SetReuse(true)
	v, _, err := d.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	b := v.([]any)[0].([]byte)
	if string(b) != "abc" || cap(b) != len(b) {
		t.Fatalf("%q, cap %d", b, cap(b))
	}
	_ = append(b, 'X')
	if v2, _, err := NewDecoder().Decode(in); err != nil || !reflect.DeepEqual(v2, []any{[]byte("abc"), "after"}) {
		t.Fatalf("an append to the aliased bytes changed the input: %v, %v", v2, err)
	}
	in[len(in)-len("after")-2-3] = 'z' // the ByteArray's first byte
	if b[0] != 'z' {
		t.Error("with reuse the ByteArray is a copy")
	}
	d.SetReuse(false)
	v, _, _ = d.Decode(in)
	c := v.([]any)[0].([]byte)
	in[len(in)-len("after")-2-3] = 'q'
	if c[0] == 'q' {
		t.Error("without reuse the ByteArray aliases the input")
	}
}
