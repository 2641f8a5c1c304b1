package amf

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The cross-check against implementations not written here: npm's AMF 3
// packages, driven by testdata/node/amfcheck.js (its README has the
// tagged JSON contract and what each package gets wrong). The test
// installs them with testdata/node/install.sh and skips, saying why, when
// node, npm or the registry is missing.

// nodeCheck runs amfcheck.js in mode with in as its JSON input and decodes
// its JSON output into out.
func nodeCheck(t *testing.T, mode string, in, out any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join("testdata", "node", "amfcheck.js"), mode)
	cmd.Stdin = bytes.NewReader(b)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("amfcheck.js %s: %v\n%s", mode, err, stderr.String())
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatalf("amfcheck.js %s printed %q: %v", mode, res, err)
	}
}

// installNode installs the npm packages (npm ci: quick once they are in),
// or skips.
func installNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the cross-check with npm's AMF 3 packages is skipped")
	}
	out, err := exec.Command("sh", filepath.Join("testdata", "node", "install.sh")).CombinedOutput()
	if err != nil {
		t.Skipf("the npm packages could not be installed (%v): %s", err, strings.TrimSpace(string(out)))
	}
}

// tag is v as the contract's tagged JSON value.
func tag(v any) map[string]any {
	list := func(xs []any) []any {
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = tag(x)
		}
		return out
	}
	members := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, x := range m {
			out[k] = tag(x)
		}
		return out
	}
	switch x := v.(type) {
	case nil:
		return map[string]any{"t": "null"}
	case Undefined:
		return map[string]any{"t": "undefined"}
	case bool:
		return map[string]any{"t": "bool", "v": x}
	case int:
		return map[string]any{"t": "int", "v": x}
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return map[string]any{"t": "double", "v": fmt.Sprint(map[bool]string{true: "Infinity", false: "-Infinity"}[x > 0])}
		}
		return map[string]any{"t": "double", "v": x}
	case string:
		return map[string]any{"t": "string", "v": x}
	case XML:
		return map[string]any{"t": "xml", "v": string(x)}
	case XMLDocument:
		return map[string]any{"t": "xmldoc", "v": string(x)}
	case time.Time:
		return map[string]any{"t": "date", "v": x.UnixMilli()}
	case []byte:
		return map[string]any{"t": "bytearray", "v": hex.EncodeToString(x)}
	case []any:
		return map[string]any{"t": "array", "dense": list(x), "assoc": map[string]any{}}
	case *Array:
		return map[string]any{"t": "array", "dense": list(x.Dense), "assoc": members(x.Assoc)}
	case map[string]any:
		return map[string]any{"t": "object", "class": "", "sealed": []any{}, "dynamic": members(x)}
	case *Point:
		return map[string]any{"t": "object", "class": "test.Point", "dynamic": map[string]any{},
			"sealed": []any{[]any{"X", tag(x.X)}, []any{"Y", tag(x.Y)}, []any{"label", tag(x.Label)}}}
	case *Object:
		sealed := []any{}
		for i, n := range x.Traits.Sealed {
			sealed = append(sealed, []any{n, tag(x.Sealed[i])})
		}
		dyn := map[string]any{}
		for _, m := range x.Dynamic {
			dyn[m.Name] = tag(m.Value)
		}
		return map[string]any{"t": "object", "class": x.Traits.Class, "sealed": sealed, "dynamic": dyn}
	case []int32:
		return map[string]any{"t": "vector-int", "fixed": false, "v": x}
	case []uint32:
		return map[string]any{"t": "vector-uint", "fixed": false, "v": x}
	case []float64:
		return map[string]any{"t": "vector-double", "fixed": false, "v": x}
	case *Dictionary:
		entries := []any{}
		for _, e := range x.Entries {
			entries = append(entries, []any{tag(e.Key), tag(e.Value)})
		}
		return map[string]any{"t": "dictionary", "weak": x.Weak, "entries": entries}
	}
	panic(fmt.Sprintf("tag: %T", v))
}

// generic is a JSON value as encoding/json decodes it, for comparisons.
func generic(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var g any
	json.Unmarshal(b, &g)
	return g
}

// resolveRefs replaces the contract's {"t":"ref","id":...} by the value
// that carries that id (sharing is Node's way to show a reference; the
// tagged values compared here spell shared values out) and drops the ids.
func resolveRefs(g any, ids map[string]any) any {
	switch x := g.(type) {
	case []any:
		for i := range x {
			x[i] = resolveRefs(x[i], ids)
		}
	case map[string]any:
		if x["t"] == "ref" {
			return ids[fmt.Sprint(x["id"])]
		}
		if id, ok := x["id"]; ok {
			ids[fmt.Sprint(id)] = x
			delete(x, "id")
		}
		for k := range x {
			x[k] = resolveRefs(x[k], ids)
		}
	}
	return g
}

// crossValues are the values checked both ways: every marker the packages
// handle, references (a repeated string, a shared object, traits met
// twice), integers at the U29 and 29-bit bounds.
func crossValues() []any {
	shared := map[string]any{"shared": true}
	return []any{
		Undefined{}, nil, true, false, 0, 1, 127, 128, 16383, 16384, 2097151, 2097152, maxInt29, -1, minInt29,
		1.5, -0.25, 1e300, math.Inf(1), 268435456.0, "", "hello", "héllo wörld ✓", XML("<a b='1'>text</a>"),
		XMLDocument("<doc/>"), time.UnixMilli(1700000000123).UTC(), []byte{0, 1, 2, 255}, []any{},
		[]any{1, "two", nil, 3.5, []any{"nested"}}, &Array{Dense: []any{1}, Assoc: map[string]any{"key": "value"}},
		map[string]any{"a": 1, "b": "x", "c": []any{true}}, []any{"repeat", "repeat", map[string]any{"repeat": "repeat"}},
		[]any{shared, shared}, &Point{X: 1, Y: -2.5, Label: "p"}, []any{&Point{X: 1, Label: "a"}, &Point{X: 2, Label: "b"}},
		&Object{Traits: &Traits{Class: "game.Item", Sealed: []string{"name"}, Dynamic: true}, Sealed: []any{"sword"},
			Dynamic: []Member{{"power", 9}}},
		[]int32{0, 1, 2147483647}, []int32{-1, -2147483648}, []uint32{0, 4294967295}, []float64{0.5, -1e-300},
		&Dictionary{Entries: []Entry{{Key: "k", Value: 1}, {Key: 2, Value: "two"}}},
	}
}

// TestNodeDecodesOurs: every value Go encodes decodes in Node to the same
// tagged value (for values Node can decode at all: its README lists the
// ones it cannot, which are logged here).
func TestNodeDecodesOurs(t *testing.T) {
	installNode(t)
	vals := crossValues()
	hexes := make([]string, len(vals))
	for i, v := range vals {
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		hexes[i] = hex.EncodeToString(b)
	}
	var got []map[string]any
	nodeCheck(t, "decode", hexes, &got)
	checked := 0
	for i, v := range vals {
		if got[i]["t"] == "error" {
			t.Logf("Node cannot decode %#v (%s): %v", v, hexes[i], got[i]["v"])
			continue
		}
		checked++
		g := resolveRefs(generic(t, got[i]), map[string]any{})
		if want := generic(t, tag(v)); !reflect.DeepEqual(g, want) {
			t.Errorf("%#v: Go wrote %s, which Node reads as %v; want %v", v, hexes[i], g, want)
		}
	}
	if checked < len(vals)-3 {
		t.Errorf("Node decoded only %d of %d values", checked, len(vals))
	}
}

// TestWeDecodeNodes: every value Node encodes decodes here to the Go
// value; Node's bytes are also compared with ours (equal bytes are not
// required: an encoder may choose a double for an integral value or skip
// a reference, but both must decode to the same value).
func TestWeDecodeNodes(t *testing.T) {
	installNode(t)
	vals := crossValues()
	tagged := make([]map[string]any, len(vals))
	for i, v := range vals {
		tagged[i] = tag(v)
	}
	var got []any
	nodeCheck(t, "encode", tagged, &got)
	checked, same := 0, 0
	for i, v := range vals {
		h, ok := got[i].(string)
		if !ok {
			t.Logf("Node cannot encode %#v: %v", v, got[i])
			continue
		}
		checked++
		b, _ := hex.DecodeString(h)
		dv, err := Unmarshal(b)
		if err != nil || !reflect.DeepEqual(dv, v) {
			t.Errorf("Node wrote %#v as %s, which decodes here to %#v, %v", v, h, dv, err)
			continue
		}
		if ours, _ := Marshal(v); bytes.Equal(ours, b) {
			same++
		}
	}
	t.Logf("Node encoded %d of %d values; %d of them byte for byte as Go does", checked, len(vals), same)
	if checked < len(vals)-6 {
		t.Errorf("Node encoded only %d of %d values", checked, len(vals))
	}
}
