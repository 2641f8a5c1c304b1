package amf

// The cold review of the AMF work (helper-25): each test failed against
// the code it was written for, and states the behaviour that is right
// (the fixes came after, in the commit that added these files).

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// reviewRegistry is a registry of the review's own classes, so that the
// tests do not touch DefaultRegistry.
func reviewRegistry(t *testing.T, classes map[string]any) *Registry {
	t.Helper()
	r := NewRegistry()
	for alias, v := range classes {
		if err := r.Register(alias, v); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func reviewCodec(r *Registry) (*Encoder, *Decoder) {
	e, d := NewEncoder(), NewDecoder()
	e.SetRegistry(r)
	d.SetRegistry(r)
	return e, d
}

type reviewCount int
type reviewCelsius float64
type reviewFlags uint16

// TestReviewNamedNumbersEncode: encode_reflect.go's reflected writes a
// named integer, unsigned or float (time.Duration, type Score int...) and
// then falls out of its switch into `return &UnsupportedTypeError{}`: the
// value's bytes are written and the Encode fails. The package doc says
// encoding "takes every Go integer type" and reflected's comment names
// "named types of the basic kinds"; struct fields of such types work
// (field() handles them) but the same value at the top level, in an
// []any, as a map value or behind a pointer is refused. Right: an integer
// (or a double) and no error.
func TestReviewNamedNumbersEncode(t *testing.T) {
	n := reviewCount(7)
	for _, v := range []any{
		reviewCount(7), reviewCelsius(1.5), reviewFlags(3), time.Duration(5),
		[]any{reviewCount(1)}, map[string]any{"d": time.Second}, map[string]reviewCount{"n": 2}, &n,
	} {
		b, err := Marshal(v)
		if err != nil {
			t.Errorf("Marshal(%T %v): %v; want it encoded as a number", v, v, err)
			continue
		}
		if _, err := Unmarshal(b); err != nil {
			t.Errorf("Marshal(%T %v) = %x, which does not decode: %v", v, v, b, err)
		}
	}
}

type reviewInner struct{ A int }
type reviewOuter struct {
	In reviewInner `amf:"-"` // the first field: &o.In == &o as an address
	B  int
}

// TestReviewIdentityIsAddressOnly: the encoder's object table is keyed by
// identity{address, length} (encode.go:62) with no type, so two distinct
// values at one address are taken for one: *Outer and a pointer to its
// first field *Inner. The second is sent as a reference to the first and
// decodes as the *Outer. AMF 3 §3.12/§2.2: a reference stands for "the
// exact same instance"; a different object, of another class here, must
// be sent inline. Right: the second element decodes as a *reviewInner.
func TestReviewIdentityIsAddressOnly(t *testing.T) {
	r := reviewRegistry(t, map[string]any{"review.Inner": reviewInner{}, "review.Outer": reviewOuter{}})
	e, d := reviewCodec(r)
	o := &reviewOuter{In: reviewInner{A: 1}, B: 2}
	b, err := e.Encode(nil, []any{o, &o.In})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := d.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got := v.([]any)
	if _, ok := got[1].(*reviewInner); !ok {
		t.Errorf("&o.In decoded as %T %+v (bytes %x); want a *reviewInner {A:1}", got[1], got[1], b)
	}
}

type reviewEmptyA struct{}
type reviewEmptyB struct{}

// TestReviewZeroSizeClassesCollide: the same flaw with zero-size classes:
// new(A) and new(B) of two empty registered structs have one address
// (the runtime's zerobase), so the B is sent as a reference to the A and
// decodes as an A: a value changes class. Right: a *reviewEmptyB.
func TestReviewZeroSizeClassesCollide(t *testing.T) {
	r := reviewRegistry(t, map[string]any{"review.A": reviewEmptyA{}, "review.B": reviewEmptyB{}})
	e, d := reviewCodec(r)
	a, bb := new(reviewEmptyA), new(reviewEmptyB)
	b, err := e.Encode(nil, []any{a, bb})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := d.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.([]any)[1].(*reviewEmptyB); !ok {
		t.Errorf("new(reviewEmptyB) decoded as %T (bytes %x); want *reviewEmptyB", v.([]any)[1], b)
	}
}

type reviewUser struct{ Name string }
type reviewMsg struct {
	From  reviewUser      // a registered class held by value
	Items ArrayCollection // an externalizable held by value
}

// TestReviewValueFieldsOfRegisteredClassesDoNotDecode: a field whose type
// is a registered class (or Flex's ArrayCollection) held by value encodes
// as a typed object (encode_field.go → instance), but decoding gives a
// *T, which assign (decode_object.go:149) cannot put into a T field: the
// struct the encoder wrote fails to decode with a FieldError. Right: the
// pointed-to value is copied into the field, and the round trip gives the
// value back.
func TestReviewValueFieldsOfRegisteredClassesDoNotDecode(t *testing.T) {
	r := reviewRegistry(t, map[string]any{"review.User": reviewUser{}, "review.Msg": reviewMsg{}})
	e, d := reviewCodec(r)
	in := &reviewMsg{From: reviewUser{Name: "ada"}, Items: ArrayCollection{1}}
	b, err := e.Encode(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := d.Decode(b)
	if err != nil {
		t.Fatalf("decoding the encoder's own %+v: %v", in, err)
	}
	if m, ok := v.(*reviewMsg); !ok || m.From.Name != "ada" || len(m.Items) != 1 {
		t.Errorf("decoded %#v, want %+v", v, in)
	}
}

type reviewGrid struct{ Rows [][]float64 }

// TestReviewAssignMultipliesReferences: assign (decode_object.go:179)
// converts a decoded []any into a typed slice field element by element,
// copying the referenced value each time it is referenced. N references
// to one row of N integers cost 4N input bytes and count 2N elements
// against MaxElements, but fill a [][]float64 of N*N: memory quadratic in
// the input (exponential with [][][]T). The package doc says nothing is
// allocated beyond what the input can hold and that MaxElements bounds
// "the Go-side size of a hostile value"; docs/limits.md says decoding
// takes "up to about 90 bytes per input byte". Right: a bound on what
// assign builds (count the copied elements against MaxElements, or keep
// the budget per input byte, or convert a shared []any once and share the
// typed slice). MaxElements is 65,536 here: a bound counted while
// converting stops well under the 200 bytes per input byte checked.
func TestReviewAssignMultipliesReferences(t *testing.T) {
	r := reviewRegistry(t, map[string]any{"review.Grid": reviewGrid{}})
	const n = 2000
	row := make([]any, n)
	for i := range row {
		row[i] = 0
	}
	rows := make([]any, n)
	for i := range rows {
		rows[i] = row // the same array: sent once, then by reference
	}
	in, err := Marshal(&Object{Traits: &Traits{Class: "review.Grid", Sealed: []string{"Rows"}}, Sealed: []any{rows}})
	if err != nil {
		t.Fatal(err)
	}
	_, d := reviewCodec(r)
	d.Limits = Limits{MaxElements: 1 << 16} // the input counts 2N = 4,000; the grid holds N² = 4,000,000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v, _, err := d.Decode(in)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Logf("decode: %v", err)
	}
	perByte := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(in))
	if g, ok := v.(*reviewGrid); ok {
		t.Logf("%d input bytes built a %dx%d grid", len(in), len(g.Rows), len(g.Rows[0]))
	}
	if perByte > 200 {
		t.Errorf("decoding %d bytes allocated %.0f bytes per input byte (%d MB); the doc's bound is about 90", len(in), perByte, (after.TotalAlloc-before.TotalAlloc)>>20)
	}
}

type reviewTree []reviewTree
type reviewHolder struct{ T reviewTree }

// TestReviewAssignCycleOverflowsTheStack: a hostile array that contains
// itself (AMF 3 object reference to the array being read), sent for a
// field of a recursive slice type, sends assign into unbounded recursion
// (it follows the cycle, MaxDepth does not apply to it): the process dies
// of a stack overflow, which no recover catches. Limits.MaxDepth's doc
// says it "also bounds [the decoder's] stack". Right: an error (or the
// cycle kept), never a crash. The decode runs in a child process with a
// small stack limit.
func TestReviewAssignCycleOverflowsTheStack(t *testing.T) {
	// object, traits: 1 sealed, not dynamic; class "review.Holder"; member "T";
	// value: array (object index 1) of 1 dense element, no assoc part,
	// whose element is a reference to object 1: the array itself.
	var in []byte
	in = append(in, markerObject, 0x13, byte(len("review.Holder")<<1|1))
	in = append(in, "review.Holder"...)
	in = append(in, 0x03, 'T')
	in = append(in, markerArray, 0x03, 0x01, markerArray, 0x02)
	if os.Getenv("AMF_REVIEW_CHILD") == "1" {
		debug.SetMaxStack(16 << 20)
		r := reviewRegistry(t, map[string]any{"review.Holder": reviewHolder{}})
		_, d := reviewCodec(r)
		_, _, err := d.Decode(in)
		fmt.Println("decoded, err:", err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReviewAssignCycleOverflowsTheStack$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AMF_REVIEW_CHILD=1")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("the child did not finish in 60 s")
	}
	if err != nil {
		first := out
		if i := bytes.Index(out, []byte("fatal error")); i >= 0 {
			first = out[i:]
		}
		if i := bytes.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		t.Errorf("decoding %x (a self-containing array into a reviewTree field) crashed the process: %v: %s", in, err, first)
	}
}

// TestReviewMaxElementsMissesVectorsAndSealedValues: Limits.MaxElements'
// doc says it bounds "array and vector items, object members"; numeric
// vectors (decode.go:391) are not counted at all, and the sealed values of
// an object whose traits are a reference (decode_object.go:95, :114) are
// not counted either (only the names, once, when the traits are inline).
// With MaxElements 10, a Vector.<int> of 100 items and 2 objects of 8
// sealed members (18 elements built, 10 counted) both decode. Right: a
// *LimitError "MaxElements" for each.
func TestReviewMaxElementsMissesVectorsAndSealedValues(t *testing.T) {
	vec, _ := Marshal(make([]int32, 100))
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	tr := &Traits{Class: "review.Eight", Sealed: names}
	obj := func() *Object { return &Object{Traits: tr, Sealed: make([]any, len(names))} }
	objs, _ := Marshal([]any{obj(), obj()})
	for name, in := range map[string][]byte{"Vector.<int> of 100": vec, "2 objects of 8 sealed members": objs} {
		d := NewDecoder()
		d.Limits = Limits{MaxElements: 10}
		_, _, err := d.Decode(in)
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != "MaxElements" {
			t.Errorf("%s with MaxElements 10: %v; want a MaxElements LimitError", name, err)
		}
	}
}

// reviewCareless is an Externalizable whose WriteExternal ignores the
// errors of its writes, as AS3 code cannot (there they throw).
type reviewCareless struct{}

func (*reviewCareless) WriteExternal(out DataOutput) error {
	out.WriteObject(map[string]any{"a": 1, "z": make(chan int)}) // unsupported: an error
	out.WriteInt(7)
	return nil
}

func (*reviewCareless) ReadExternal(in DataInput) error {
	if _, err := in.ReadObject(); err != nil {
		return err
	}
	_, err := in.ReadInt()
	return err
}

// TestReviewExternalizableErrorIsNotKept: Encoder.err is documented as
// "the first error of an Externalizable's writes" and finish returns it,
// but nothing ever sets it (encode.go:53, :93): when WriteExternal drops
// a WriteObject error the Encode succeeds with a half-written member list
// in the stream (the map's marker, traits, "a", 1 and "z", no value, no
// end), bytes that do not decode. Right: Encode returns the first error of
// the DataOutput's writes and dst unchanged.
func TestReviewExternalizableErrorIsNotKept(t *testing.T) {
	r := reviewRegistry(t, map[string]any{"review.Careless": reviewCareless{}})
	e, d := reviewCodec(r)
	b, err := e.Encode(nil, &reviewCareless{})
	if err == nil {
		_, _, derr := d.Decode(b)
		t.Errorf("Encode succeeded with %x (decodes: %v); want the WriteObject error", b, derr)
	}
}

// TestReviewScanTrickledTraitsIsLinear: the Scanner's doc and
// docs/limits.md say a value trickled in pieces costs work linear in its
// length. An object's inline traits were one token (the class and every
// sealed name), and a token the input ends inside is restarted from its
// first byte at the next Scan: traits of n sealed names (1 byte each, a
// string reference) trickled a byte at a time were re-read n times, n²/2
// bytes (4.5 s of a loop's CPU for 60 KB, found by the review). The names
// are read one a step now. The work is counted as the bytes the scanner
// reads, retries included: within 8 times the input (a retry re-reads at
// most a header) for the traits as for an array of as many nulls.
func TestReviewScanTrickledTraitsIsLinear(t *testing.T) {
	const n = 10000
	e := NewEncoder()
	e.buf = append(e.buf, markerObject)
	e.u29(uint32(n)<<4 | 0x03)       // inline traits, n sealed names, not dynamic
	e.buf = append(e.buf, 0x03, 'c') // class "c": string 0
	for range n {
		e.buf = append(e.buf, 0x00) // a sealed name: a reference to string 0
	}
	for range n {
		e.buf = append(e.buf, markerNull)
	}
	traits := append([]byte(nil), e.buf...)
	e.buf = e.buf[:0]
	e.buf = append(e.buf, markerArray)
	e.u29(uint32(len(traits)-5)<<1 | 1) // marker, 3 bytes of count, no associative part: 5 bytes
	e.buf = append(e.buf, 0x01)
	for len(e.buf) < len(traits) {
		e.buf = append(e.buf, markerNull)
	}
	flat := append([]byte(nil), e.buf...)
	trickle := func(in []byte) int {
		var s Scanner
		for i := 1; i < len(in); i++ {
			if _, err := s.Scan(in[:i]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("after %d of %d bytes: %v", i, len(in), err)
			}
		}
		if m, err := s.Scan(in); err != nil || m != len(in) {
			t.Fatalf("whole: %d, %v; want %d", m, err, len(in))
		}
		return s.examined
	}
	flatWork, traitsWork := trickle(flat), trickle(traits)
	t.Logf("%d bytes trickled a byte at a time: the scanner read %d bytes for an array of nulls, %d for traits of %d names",
		len(traits), flatWork, traitsWork, n)
	for what, work := range map[string]int{"the array": flatWork, "the traits": traitsWork} {
		if work > 8*len(traits) {
			t.Errorf("%s trickled: the scanner read %d bytes for %d: not linear", what, work, len(traits))
		}
	}
}

// TestReviewInvalidUTF8IsWrittenButRefused: the encoder writes a Go string
// as its raw bytes (encode.go:244 str, amf0.go:120 string0) while the
// decoder refuses a string that is not UTF-8 (decode.go:228): Marshal of
// a string holding "\xff" succeeds, and the bytes it wrote fail
// Unmarshal with a SyntaxError, so a server's WriteObject sends what its
// own ReadObject treats as a malformed, unrecoverable stream. AMF 3 §1.3.2
// and AMF 0 §1.3: strings are UTF-8. Right: the encoder refuses the value
// (an error, nothing written) or writes valid UTF-8 (U+FFFD for a bad
// byte, as Go's own conversions do); either way what Marshal returns
// decodes.
func TestReviewInvalidUTF8IsWrittenButRefused(t *testing.T) {
	for _, v := range []any{"\xff", map[string]any{"k\xfe": 1}} {
		if b, err := Marshal(v); err == nil {
			if _, err := Unmarshal(b); err != nil {
				t.Errorf("AMF 3: Marshal(%q) = %x, which Unmarshal refuses: %v", v, b, err)
			}
		}
		if b, err := Marshal0(v); err == nil {
			if _, err := Unmarshal0(b); err != nil {
				t.Errorf("AMF 0: Marshal0(%q) = %x, which Unmarshal0 refuses: %v", v, b, err)
			}
		}
	}
}
