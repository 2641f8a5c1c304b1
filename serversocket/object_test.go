package serversocket

import (
	"encoding/hex"
	"errors"
	"reflect"
	"runtime"
	"testing"

	"github.com/airsock/airsock/amf"
)

// TestReadObjectAtomic: ReadObject over a fake input that receives an
// object's bytes one at a time is an EOFError with nothing consumed until
// the last byte, then returns the object and consumes exactly it; two
// objects back to back come out in turn.
func TestReadObjectAtomic(t *testing.T) {
	obj := map[string]any{"name": "chat", "n": 3, "list": []any{1.5, "x"}}
	b, err := amf.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	d, f := newInput(t, "bigEndian")
	for i, c := range b {
		if i > 0 {
			if _, err := d.ReadObject(); !isEOFError(err) || d.BytesAvailable() != i {
				t.Fatalf("after %d of %d bytes: %v with %d available; want an EOFError and nothing consumed", i, len(b), err, d.BytesAvailable())
			}
		}
		f.in.WriteByte(c)
	}
	f.in.Write(b) // a second one behind it
	for k := range 2 {
		v, err := d.ReadObject()
		if err != nil || !reflect.DeepEqual(v, obj) {
			t.Fatalf("object %d: %#v, %v", k, v, err)
		}
	}
	if d.BytesAvailable() != 0 {
		t.Errorf("%d bytes left", d.BytesAvailable())
	}
	if _, err := d.ReadObject(); !isEOFError(err) {
		t.Errorf("ReadObject of nothing: %v, want an EOFError", err)
	}
}

func isEOFError(err error) bool {
	_, ok := errors.AsType[*EOFError](err)
	return ok
}

// TestReadObjectMalformed: bytes that are no AMF value are a RangeError
// #2006 wrapping amf's SyntaxError, with nothing consumed.
func TestReadObjectMalformed(t *testing.T) {
	d, _ := newInput(t, "bigEndian", 0x12, 0x00)
	_, err := d.ReadObject()
	re, ok := errors.AsType[*RangeError](err)
	if !ok || re.ErrorID != IDOutOfBounds {
		t.Fatalf("ReadObject of 0x12: %v, want a RangeError #2006", err)
	}
	if _, ok := errors.AsType[*amf.SyntaxError](err); !ok {
		t.Errorf("%v does not wrap amf's SyntaxError", err)
	}
	if d.BytesAvailable() != 2 {
		t.Errorf("%d bytes left, want 2: nothing consumed", d.BytesAvailable())
	}
}

// TestObjectEncoding: AMF 3 by default; AMF 0 once set, for both
// directions; another value is an ArgumentError #2008 that changes
// nothing; WriteObject's bytes are amf's.
func TestObjectEncoding(t *testing.T) {
	f := newFake()
	s := &Socket{}
	s.DataInput.src, s.DataOutput.dst = f, f
	if s.ObjectEncoding() != ObjectEncodingDefault || ObjectEncodingDefault != 3 {
		t.Fatalf("default ObjectEncoding %d", s.ObjectEncoding())
	}
	if err := s.SetObjectEncoding(1); err == nil {
		t.Error("SetObjectEncoding(1) accepted")
	} else if ae, ok := errors.AsType[*ArgumentError](err); !ok || ae.ErrorID != IDNotAcceptedValue {
		t.Errorf("SetObjectEncoding(1): %v, want an ArgumentError #2008", err)
	}
	for _, c := range []struct {
		enc uint
		hex string
	}{
		{ObjectEncodingAMF3, "0a0b01036104010" + "1"},
		{ObjectEncodingAMF0, "03000161003ff0000000000000000009"},
	} {
		if err := s.SetObjectEncoding(c.enc); err != nil || s.ObjectEncoding() != c.enc ||
			s.DataInput.ObjectEncoding() != c.enc || s.DataOutput.ObjectEncoding() != c.enc {
			t.Fatalf("SetObjectEncoding(%d): %v", c.enc, err)
		}
		f.out.Reset()
		if err := s.WriteObject(map[string]any{"a": 1}); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(f.out.Bytes()); got != c.hex {
			t.Errorf("encoding %d: WriteObject wrote %s, want %s", c.enc, got, c.hex)
		}
		f.in.Write(f.out.Bytes())
		v, err := s.ReadObject()
		want := map[string]any{"a": 1}
		if c.enc == ObjectEncodingAMF0 {
			want["a"] = 1.0 // AMF 0 numbers are doubles
		}
		if err != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("encoding %d: ReadObject = %#v, %v", c.enc, v, err)
		}
	}
	f.out.Reset()
	err := s.WriteObject(make(chan int))
	if ae, ok := errors.AsType[*ArgumentError](err); !ok || ae.ErrorID != IDInvalidParameter || f.out.Len() != 0 {
		t.Errorf("WriteObject(chan): %v with %d bytes written, want an ArgumentError #2004 and nothing", err, f.out.Len())
	}
}

// TestWriteObjectNoAllocs: primitives and strings go out without an
// allocation (the encoder and its buffer are pooled).
func TestWriteObjectNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop what it holds: allocations are counted without it")
	}
	f := newFake()
	f.out.Grow(1 << 20)
	d := &DataOutput{dst: f}
	values := []any{42, "a string", 3.5, true, nil}
	for _, v := range values {
		d.WriteObject(v)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, v := range values {
			if err := d.WriteObject(v); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round, want 0", allocs)
	}
}

// scanningFake is the fake input with a scan of its own, as a Socket's.
type scanningFake struct {
	*fakeConn
	scan objectScan
}

func (f *scanningFake) objectScanner() *objectScan { return &f.scan }

func (f *scanningFake) scanning() bool { return f.scan.partial }

// TestReadObjectTrickledIsLinear: an object trickled a byte at a time is
// decoded once on its first byte, then scanned, not decoded, until it is
// complete: ReadObject's allocations
// over the whole trickle stay near one decode's plus a few per byte, where decoding from the
// start at each byte would allocate what was decoded so far every time.
func TestReadObjectTrickledIsLinear(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocates: counted without it")
	}
	var items []any
	for i := range 200 {
		items = append(items, map[string]any{"name": "item", "i": i, "tag": string(rune('a' + i%26))})
	}
	b, err := amf.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	one := testing.AllocsPerRun(5, func() { amf.Unmarshal(b) })
	f := &scanningFake{fakeConn: newFake()}
	d := &DataInput{src: f}
	d.ReadObject() // warm the pools
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i, c := range b {
		f.in.WriteByte(c)
		v, err := d.ReadObject()
		if i < len(b)-1 {
			if !isEOFError(err) {
				t.Fatalf("after %d of %d bytes: %v", i+1, len(b), err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(v, items) {
			t.Fatalf("the trickled object: %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	got := float64(after.Mallocs - before.Mallocs)
	t.Logf("%d bytes trickled: %.0f allocations in all; one decode takes %.0f", len(b), got, one)
	// Each partial call allocates its EOFError (a fresh value, as every
	// error of this package) and the fake's buffer grows: a few per byte.
	// Decoding from the start at each byte would take about len(b)/2
	// decodes' worth (a million here).
	if got > 2*one+3*float64(len(b)) {
		t.Errorf("%.0f allocations for a trickled object whose decode takes %.0f: it is decoded again at each byte", got, one)
	}
}
