package amf

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// The AMF 0 half of the cross-check with npm's packages (node_test.go has
// the AMF 3 half and the helpers used here): amfcheck.js's encode0 and
// decode0 modes, answered by amfjs, and by @astronautlabs/amf for a
// top-level XMLDocument or XML. What they cannot do (testdata/node/README.md)
// is logged, not failed.

// amf0Values are the values checked both ways: every AMF 0 marker both
// sides can express, strings at the 16-bit bound, references, and the
// switch to AMF 3 for what AMF 0 lacks.
func amf0Values() []any {
	shared := map[string]any{"shared": true}
	outer := map[string]any{"in": map[string]any{"deep": 1.0}}
	self := map[string]any{"name": "self"}
	self["self"] = self
	twenty := make([]any, 20)
	for i := range twenty {
		twenty[i] = float64(i)
	}
	return []any{
		0.0, 1.5, -2.25, math.Copysign(0, -1), 1e300, math.Inf(-1), 65536.0, // number
		true, false,
		"", "hello", "héllo wörld ✓",
		strings.Repeat("x", 65535),           // the longest short string
		strings.Repeat("é", 32768),           // 65536 bytes: a long string
		strings.Repeat("long string ", 6000), // 72000 bytes
		map[string]any{}, map[string]any{"a": 1.0, "b": "x", "c": []any{true}, "d": map[string]any{"e": nil}},
		nil, Undefined{},
		[]any{shared, shared},        // amfjs cannot decode this reference (README),
		[]any{outer, outer, "after"}, // nor most others; this one it can
		self,                         // a cycle
		&Array{Dense: []any{1.0, "two"}, Assoc: map[string]any{"key": "value", "n": nil}},
		&Array{Assoc: map[string]any{"only": 1.0}}, &Array{Dense: []any{Undefined{}}},
		[]any{}, []any{1.0, "two", nil, Undefined{}, []any{"nested"}, time.UnixMilli(5).UTC()}, twenty,
		time.UnixMilli(1700000000123).UTC(), time.UnixMilli(-1000).UTC(),
		&Point{X: 1, Y: -2.5, Label: "p"},
		// members out of order: Go keeps an *Object's order, which the bytes show
		&Object{Traits: &Traits{Class: "game.Item", Dynamic: true}, Dynamic: []Member{{"power", 9.0}, {"name", "sword"}}},
		XMLDocument("<doc a='1'/>"), XMLDocument("<d>é</d>"),
		// behind the switch to AMF 3
		[]byte{0, 1, 2, 255}, XML("<a b='1'/>"), []int32{1, -1}, &Dictionary{Entries: []Entry{{Key: "k", Value: 1}}},
		[]any{[]byte{7}, map[string]any{"v": []uint32{4294967295}}},
	}
}

// tagger0 tags a value as encode0 and decode0 spell AMF 0 (tag spells AMF
// 3, and still does behind the switch): []any is a strict array, *Array an
// ECMA array, an object's members are name/value pairs in the order Go
// writes them, and with refs a map, slice or pointer met again is a ref to
// its first occurrence, so that Node writes the reference Go writes.
type tagger0 struct {
	refs bool
	ids  map[any]string
}

func tag0(v any, refs bool) map[string]any {
	g := &tagger0{refs: refs, ids: map[any]string{}}
	return g.tag(v)
}

// shareable0 is v's identity in Go's AMF 0 reference table, if it has one.
func shareable0(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return reflect.ValueOf(x).UnsafePointer(), x != nil
	case []any:
		return struct {
			p unsafe.Pointer
			n int
		}{unsafe.Pointer(unsafe.SliceData(x)), len(x)}, len(x) > 0
	case *Array, *Object, *Point:
		return v, !reflect.ValueOf(v).IsNil()
	}
	return nil, false
}

func (g *tagger0) tag(v any) map[string]any {
	k, ok := shareable0(v)
	if !ok {
		return g.spell(v)
	}
	if id, seen := g.ids[k]; seen {
		if !g.refs {
			panic("tag0: a cycle cannot be spelled out without refs")
		}
		return map[string]any{"t": "ref", "id": id}
	}
	id := fmt.Sprintf("r%d", len(g.ids)+1)
	g.ids[k] = id // before the members: they may refer to it
	if !g.refs {
		defer delete(g.ids, k) // spelled out wherever met again; kept while inside, to catch a cycle
	}
	m := g.spell(v)
	if g.refs {
		m["id"] = id
	}
	return m
}

func (g *tagger0) spell(v any) map[string]any {
	list := func(xs []any) []any {
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = g.tag(x)
		}
		return out
	}
	sorted := func(m map[string]any) []any { // as Go writes a map: sorted by key
		out := []any{}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, []any{k, g.tag(m[k])})
		}
		return out
	}
	switch x := v.(type) {
	case float64:
		if x == 0 && math.Signbit(x) {
			return map[string]any{"t": "double", "v": "-0"}
		}
	case []any:
		return map[string]any{"t": "array", "dense": list(x), "assoc": map[string]any{}}
	case *Array:
		return map[string]any{"t": "ecma-array", "dense": list(x.Dense), "assoc": sorted(x.Assoc)}
	case map[string]any:
		return map[string]any{"t": "object", "class": "", "sealed": []any{}, "dynamic": sorted(x)}
	case *Object:
		members := []any{}
		for i, n := range x.Traits.Sealed {
			members = append(members, []any{n, g.tag(x.Sealed[i])})
		}
		for _, m := range x.Dynamic {
			members = append(members, []any{m.Name, g.tag(m.Value)})
		}
		return map[string]any{"t": "object", "class": x.Traits.Class, "sealed": []any{}, "dynamic": members}
	case *Point:
		m := tag(x) // its fields are scalars: tag spells them as AMF 0 does
		m["sealed"], m["dynamic"] = []any{}, m["sealed"]
		return m
	}
	return tag(v)
}

// unpair turns the [name, value] lists of "dynamic" and "assoc" into JSON
// objects, as decode0 prints them: the Go→Node comparison does not look at
// member order (the bytes of the other direction do).
func unpair(g any) any {
	switch x := g.(type) {
	case []any:
		for i := range x {
			x[i] = unpair(x[i])
		}
	case map[string]any:
		for k, e := range x {
			if l, ok := e.([]any); ok && (k == "dynamic" || k == "assoc") {
				m := map[string]any{}
				for _, p := range l {
					p := p.([]any)
					m[p[0].(string)] = unpair(p[1])
				}
				x[k] = m
				continue
			}
			x[k] = unpair(e)
		}
	}
	return g
}

// TestNodeAMF0 checks Go's AMF 0 against Node's both ways: every value Go
// encodes decodes in Node to the same tagged value, and every value Node
// encodes decodes here to the Go value, in the bytes Go writes for it.
func TestNodeAMF0(t *testing.T) {
	installNode(t)
	vals := amf0Values()
	t.Run("NodeDecodesOurs", func(t *testing.T) {
		hexes := make([]string, len(vals))
		for i, v := range vals {
			b, err := Marshal0(v)
			if err != nil {
				t.Fatalf("Marshal0(%#v): %v", v, err)
			}
			hexes[i] = hex.EncodeToString(b)
		}
		var got []map[string]any
		nodeCheck(t, "decode0", hexes, &got)
		checked := 0
		for i, v := range vals {
			if got[i]["t"] == "error" {
				t.Logf("Node cannot decode %s: %v", short0(v, hexes[i]), got[i]["v"])
				continue
			}
			if isSelf0(v) {
				t.Errorf("Node decoded the cycle %s, which amfjs cannot: %v", hexes[i], got[i])
				continue
			}
			checked++
			g := unpair(resolveRefs(generic(t, got[i]), map[string]any{}))
			if want := unpair(generic(t, tag0(v, false))); !reflect.DeepEqual(g, want) {
				t.Errorf("%s: Node reads it as %v; want %v", short0(v, hexes[i]), g, want)
			}
		}
		// Node cannot decode 3 (README): a plain shared object, the cycle,
		// the empty strict array
		if checked < len(vals)-3 {
			t.Errorf("Node decoded only %d of %d values", checked, len(vals))
		}
	})
	t.Run("WeDecodeNodes", func(t *testing.T) {
		tagged := make([]map[string]any, len(vals))
		for i, v := range vals {
			tagged[i] = tag0(v, true)
		}
		var got []any
		nodeCheck(t, "encode0", tagged, &got)
		checked := 0
		for i, v := range vals {
			h, ok := got[i].(string)
			if !ok {
				t.Logf("Node cannot encode %s: %v", short0(v, ""), got[i])
				continue
			}
			checked++
			b, _ := hex.DecodeString(h)
			dv, err := Unmarshal0(b)
			if err != nil || !reflect.DeepEqual(dv, v) {
				t.Errorf("Node wrote %s, which decodes here to %#v, %v", short0(v, h), dv, err)
				continue
			}
			// Node was given Go's member order and references: the bytes must be Go's
			if ours, _ := Marshal0(v); !bytes.Equal(ours, b) {
				t.Errorf("%s: Node wrote %s, Go %x", short0(v, ""), h, ours)
			}
		}
		// Node cannot encode 5 (README): a strict array of 16 or more, a
		// non-ASCII XMLDocument, a vector, a Dictionary, the switch inside an array
		if checked < len(vals)-5 {
			t.Errorf("Node encoded only %d of %d values", checked, len(vals))
		}
		t.Logf("Node encoded %d of %d values, each byte for byte as Go does", checked, len(vals))
	})
}

// isSelf0 tells the cyclic map of amf0Values, which tag0 cannot spell out.
func isSelf0(v any) bool {
	m, ok := v.(map[string]any)
	return ok && m["self"] != nil
}

// short0 names v (and its hex) in a message without printing 70 kB.
func short0(v any, h string) string {
	s := "a map holding itself" // which %#v would print forever
	if !isSelf0(v) {
		s = fmt.Sprintf("%#v", v)
	}
	if len(s) > 100 {
		s = s[:80] + fmt.Sprintf("… (%d characters)", len(s))
	}
	if len(h) > 100 {
		h = h[:80] + fmt.Sprintf("… (%d bytes)", len(h)/2)
	}
	if h != "" {
		s += " (" + h + ")"
	}
	return s
}
