package amf

import (
	"testing"
	"time"
)

// FuzzDecode: no input makes the decoder panic, and whatever it decodes
// encodes again into bytes that decode. Memory is bounded by the input's
// length (no count is trusted), so the fuzzer's own limit catches a
// regression there.
func FuzzDecode(f *testing.F) {
	for _, v := range []any{
		[]any{&Point{X: 1, Label: "l"}, map[string]any{"k": []byte("v"), "d": time.UnixMilli(5).UTC()}},
		&Dictionary{Entries: []Entry{{"k", []int32{1}}}}, &ObjectVector{Class: "test.Point", Items: []any{&Point{}}},
		&Array{Dense: []any{"a", "a"}, Assoc: map[string]any{"x": XML("<x/>")}}, &ArrayCollection{1.5, "s"},
		&Object{Traits: &Traits{Class: "u.U", Sealed: []string{"a"}, Dynamic: true}, Sealed: []any{1}, Dynamic: []Member{{"b", 2}}},
	} {
		b, err := Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if b0, err := NewEncoder().EncodeAMF0(nil, v); err == nil {
			f.Add(b0)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder()
		d.Limits = Limits{MaxDepth: 32, MaxElements: 1 << 12}
		for _, amf0 := range []bool{false, true} {
			var v any
			var err error
			if amf0 {
				v, _, err = d.DecodeAMF0(data)
			} else {
				v, _, err = d.Decode(data)
			}
			if err != nil {
				continue
			}
			b, err := NewEncoder().Encode(nil, v)
			if err != nil {
				t.Fatalf("decoded %#v (amf0 %v) but cannot encode it: %v", v, amf0, err)
			}
			if _, _, err := NewDecoder().Decode(b); err != nil {
				t.Fatalf("re-encoded %#v as %x, which does not decode: %v", v, b, err)
			}
		}
	})
}
