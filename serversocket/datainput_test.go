package serversocket

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// newInput returns a DataInput in the given byte order over a fake holding in.
func newInput(t testing.TB, endian string, in ...byte) (*DataInput, *fakeConn) {
	t.Helper()
	f := newFake(in...)
	d := &DataInput{src: f}
	if err := d.SetEndian(endian); err != nil {
		t.Fatal(err)
	}
	return d, f
}

// fixedRead is one fixed-size read: its name, size and a call returning the
// value as comparable bits.
type fixedRead struct {
	name string
	size int
	read func(*DataInput) (any, error)
}

var fixedReads = []fixedRead{
	{"ReadBoolean", 1, func(d *DataInput) (any, error) { return d.ReadBoolean() }},
	{"ReadSignedByte", 1, func(d *DataInput) (any, error) { return d.ReadSignedByte() }},
	{"ReadUnsignedByte", 1, func(d *DataInput) (any, error) { return d.ReadUnsignedByte() }},
	{"ReadShort", 2, func(d *DataInput) (any, error) { return d.ReadShort() }},
	{"ReadUnsignedShort", 2, func(d *DataInput) (any, error) { return d.ReadUnsignedShort() }},
	{"ReadInt", 4, func(d *DataInput) (any, error) { return d.ReadInt() }},
	{"ReadUnsignedInt", 4, func(d *DataInput) (any, error) { return d.ReadUnsignedInt() }},
	{"ReadFloat", 4, func(d *DataInput) (any, error) { return d.ReadFloat() }},
	{"ReadDouble", 8, func(d *DataInput) (any, error) { return d.ReadDouble() }},
}

func readByName(name string) fixedRead {
	for _, r := range fixedReads {
		if r.name == name {
			return r
		}
	}
	panic("no read " + name)
}

func TestFixedReadsExactBytes(t *testing.T) {
	cases := []struct {
		read   string
		endian string
		in     []byte
		want   any
	}{
		{"ReadBoolean", BigEndian, []byte{0}, false},
		{"ReadBoolean", BigEndian, []byte{1}, true},
		{"ReadBoolean", LittleEndian, []byte{0x80}, true},
		{"ReadSignedByte", BigEndian, []byte{0xFF}, int8(-1)},
		{"ReadSignedByte", LittleEndian, []byte{0x80}, int8(-128)},
		{"ReadSignedByte", BigEndian, []byte{0x7F}, int8(127)},
		{"ReadUnsignedByte", BigEndian, []byte{0xFF}, uint8(255)},
		{"ReadShort", BigEndian, []byte{0xFF, 0xFE}, int16(-2)},
		{"ReadShort", LittleEndian, []byte{0xFE, 0xFF}, int16(-2)},
		{"ReadShort", BigEndian, []byte{0x12, 0x34}, int16(0x1234)},
		{"ReadShort", LittleEndian, []byte{0x12, 0x34}, int16(0x3412)},
		{"ReadUnsignedShort", BigEndian, []byte{0xFF, 0xFE}, uint16(0xFFFE)},
		{"ReadUnsignedShort", LittleEndian, []byte{0xFF, 0xFE}, uint16(0xFEFF)},
		{"ReadInt", BigEndian, []byte{0xFF, 0xFF, 0xFF, 0xFE}, int32(-2)},
		{"ReadInt", LittleEndian, []byte{0xFE, 0xFF, 0xFF, 0xFF}, int32(-2)},
		{"ReadInt", BigEndian, []byte{0x01, 0x02, 0x03, 0x04}, int32(0x01020304)},
		{"ReadInt", LittleEndian, []byte{0x01, 0x02, 0x03, 0x04}, int32(0x04030201)},
		{"ReadUnsignedInt", BigEndian, []byte{0xDE, 0xAD, 0xBE, 0xEF}, uint32(0xDEADBEEF)},
		{"ReadUnsignedInt", LittleEndian, []byte{0xEF, 0xBE, 0xAD, 0xDE}, uint32(0xDEADBEEF)},
		{"ReadFloat", BigEndian, []byte{0x3F, 0xC0, 0x00, 0x00}, float32(1.5)},
		{"ReadFloat", LittleEndian, []byte{0x00, 0x00, 0xC0, 0x3F}, float32(1.5)},
		{"ReadFloat", BigEndian, []byte{0xC0, 0x10, 0x00, 0x00}, float32(-2.25)},
		{"ReadDouble", BigEndian, []byte{0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18}, math.Pi},
		{"ReadDouble", LittleEndian, []byte{0x18, 0x2D, 0x44, 0x54, 0xFB, 0x21, 0x09, 0x40}, math.Pi},
		{"ReadDouble", BigEndian, []byte{0xBF, 0xF8, 0, 0, 0, 0, 0, 0}, -1.5},
	}
	for _, c := range cases {
		// A trailing byte must stay unread.
		d, _ := newInput(t, c.endian, append(c.in, 0xAA)...)
		got, err := readByName(c.read).read(d)
		if err != nil || got != c.want {
			t.Errorf("%s %s % x = %v, %v; want %v", c.read, c.endian, c.in, got, err, c.want)
		}
		if d.BytesAvailable() != 1 {
			t.Errorf("%s consumed %d bytes, want %d", c.read, len(c.in)+1-d.BytesAvailable(), len(c.in))
		}
	}
}

// TestFixedReadsAreAtomicOnEOF gives every fixed-size read one byte too few:
// EOFError, and nothing consumed.
func TestFixedReadsAreAtomicOnEOF(t *testing.T) {
	for _, r := range fixedReads {
		in := bytes.Repeat([]byte{0x5A}, r.size-1)
		d, f := newInput(t, LittleEndian, in...)
		_, err := r.read(d)
		if e, ok := errors.AsType[*EOFError](err); !ok || e.ErrorID != IDEndOfFile {
			t.Errorf("%s with %d bytes: err %v, want EOFError #2030", r.name, len(in), err)
		}
		if !bytes.Equal(f.in.Bytes(), in) {
			t.Errorf("%s consumed input on EOF", r.name)
		}
	}
}

func TestReadsWithoutConnection(t *testing.T) {
	var d DataInput
	if d.BytesAvailable() != 0 {
		t.Fatal("BytesAvailable without a connection")
	}
	checks := map[string]error{}
	for _, r := range fixedReads {
		_, checks[r.name] = r.read(&d)
	}
	_, checks["ReadBytes"] = d.ReadBytes(nil, 0, 0)
	_, checks["ReadUTF"] = d.ReadUTF()
	_, checks["ReadUTFBytes"] = d.ReadUTFBytes(1)
	_, checks["ReadMultiByte"] = d.ReadMultiByte(1, "shift_jis")
	for name, err := range checks {
		if e, ok := errors.AsType[*IOError](err); !ok || e.ErrorID != IDInvalidSocket {
			t.Errorf("%s: %v, want IOError #2002", name, err)
		}
	}
}

func TestReadsOnBrokenConnectionWrapCause(t *testing.T) {
	d := &DataInput{src: brokenConn{buffered: 16}}
	for _, r := range fixedReads {
		_, err := r.read(d)
		if _, ok := errors.AsType[*IOError](err); !ok || !errors.Is(err, errBroken) {
			t.Errorf("%s: %v, want IOError wrapping the cause", r.name, err)
		}
	}
	if _, err := d.ReadBytes(nil, 0, 4); !errors.Is(err, errBroken) {
		t.Errorf("ReadBytes: %v", err)
	}
}

func TestEndian(t *testing.T) {
	var d DataInput
	if d.Endian() != BigEndian || BigEndian != "bigEndian" || LittleEndian != "littleEndian" {
		t.Fatalf("default endian %q", d.Endian())
	}
	if err := d.SetEndian(LittleEndian); err != nil || d.Endian() != LittleEndian {
		t.Fatalf("SetEndian(little): %v, %q", err, d.Endian())
	}
	for _, bad := range []string{"", "BigEndian", "big", "littleendian"} {
		err := d.SetEndian(bad)
		e, ok := errors.AsType[*ArgumentError](err)
		if !ok || e.ErrorID != IDNotAcceptedValue {
			t.Errorf("SetEndian(%q) = %v, want ArgumentError #2008", bad, err)
		}
		if d.Endian() != LittleEndian {
			t.Errorf("SetEndian(%q) changed the endian", bad)
		}
	}
}

func TestSocketEndianSetsBothDirections(t *testing.T) {
	s := &Socket{}
	if err := s.SetEndian(LittleEndian); err != nil {
		t.Fatal(err)
	}
	if s.Endian() != LittleEndian || s.DataInput.Endian() != LittleEndian || s.DataOutput.Endian() != LittleEndian {
		t.Fatal("Socket.SetEndian did not reach both directions")
	}
	if err := s.SetEndian("middle"); err == nil || s.DataOutput.Endian() != LittleEndian {
		t.Fatalf("bad endian: %v, %q", err, s.DataOutput.Endian())
	}
}

func TestReadBytes(t *testing.T) {
	in := []byte("abcdef")
	t.Run("all available", func(t *testing.T) {
		d, _ := newInput(t, BigEndian, in...)
		got, err := d.ReadBytes(nil, 0, 0)
		if err != nil || string(got) != "abcdef" || d.BytesAvailable() != 0 {
			t.Fatalf("%q, %v, %d left", got, err, d.BytesAvailable())
		}
	})
	t.Run("into the middle", func(t *testing.T) {
		d, _ := newInput(t, BigEndian, in...)
		got, err := d.ReadBytes([]byte("12345"), 1, 2)
		if err != nil || string(got) != "1ab45" || d.BytesAvailable() != 4 {
			t.Fatalf("%q, %v, %d left", got, err, d.BytesAvailable())
		}
	})
	t.Run("grows with zeros", func(t *testing.T) {
		d, _ := newInput(t, BigEndian, in...)
		got, err := d.ReadBytes([]byte("XY"), 4, 3)
		if err != nil || !bytes.Equal(got, []byte("XY\x00\x00abc")) {
			t.Fatalf("%q, %v", got, err)
		}
	})
	t.Run("grows in place over stale capacity", func(t *testing.T) {
		d, _ := newInput(t, BigEndian, in...)
		buf := bytes.Repeat([]byte{0xEE}, 10)
		dst := buf[:2]
		got, err := d.ReadBytes(dst, 4, 2)
		if err != nil || !bytes.Equal(got, []byte{0xEE, 0xEE, 0, 0, 'a', 'b'}) || &got[0] != &buf[0] {
			t.Fatalf("% x, %v", got, err)
		}
	})
	t.Run("length past available", func(t *testing.T) {
		d, f := newInput(t, BigEndian, in...)
		dst := []byte("keep")
		got, err := d.ReadBytes(dst, 0, 7)
		if _, ok := errors.AsType[*EOFError](err); !ok {
			t.Fatalf("err %v, want EOFError", err)
		}
		if string(got) != "keep" || f.in.Len() != 6 {
			t.Fatalf("dst %q, %d left", got, f.in.Len())
		}
	})
	t.Run("negative offset or length", func(t *testing.T) {
		d, f := newInput(t, BigEndian, in...)
		for _, args := range [][2]int{{-1, 0}, {0, -1}, {math.MaxInt, 1}} {
			if _, err := d.ReadBytes(nil, args[0], args[1]); !isRange(err) {
				t.Errorf("ReadBytes(nil, %d, %d) = %v, want RangeError", args[0], args[1], err)
			}
		}
		if f.in.Len() != 6 {
			t.Fatal("consumed on RangeError")
		}
	})
	t.Run("nothing available", func(t *testing.T) {
		d, _ := newInput(t, BigEndian)
		got, err := d.ReadBytes([]byte("x"), 0, 0)
		if err != nil || string(got) != "x" {
			t.Fatalf("%q, %v", got, err)
		}
	})
}

func isRange(err error) bool {
	e, ok := errors.AsType[*RangeError](err)
	return ok && e.ErrorID == IDOutOfBounds
}

func TestReadUTF(t *testing.T) {
	cases := []struct {
		name   string
		endian string
		in     []byte
		want   string
		left   int
	}{
		{"big endian", BigEndian, []byte("\x00\x06h\xc3\xa9llo!"), "héllo", 1},
		{"little endian", LittleEndian, []byte("\x06\x00h\xc3\xa9llo"), "héllo", 0},
		{"empty", BigEndian, []byte("\x00\x00z"), "", 1},
		{"BOM dropped", BigEndian, []byte("\x00\x06\xef\xbb\xbfabc"), "abc", 0},
		{"stops at NUL", BigEndian, []byte("\x00\x05ab\x00cdX"), "ab", 1},
	}
	for _, c := range cases {
		d, _ := newInput(t, c.endian, c.in...)
		got, err := d.ReadUTF()
		if err != nil || got != c.want || d.BytesAvailable() != c.left {
			t.Errorf("%s: %q, %v, %d left; want %q, %d left", c.name, got, err, d.BytesAvailable(), c.want, c.left)
		}
	}
}

func TestReadUTFShortInput(t *testing.T) {
	// Prefix incomplete: nothing consumed.
	d, f := newInput(t, BigEndian, 0x00)
	if _, err := d.ReadUTF(); !isEOF(err) || f.in.Len() != 1 {
		t.Fatalf("short prefix: %v, %d left", err, f.in.Len())
	}
	// Body short: AVM2 has consumed the two prefix bytes, nothing more.
	d, f = newInput(t, BigEndian, 0x00, 0x05, 'h', 'e', 'l')
	if _, err := d.ReadUTF(); !isEOF(err) || f.in.String() != "hel" {
		t.Fatalf("short body: %v, left %q", err, f.in.String())
	}
}

func isEOF(err error) bool {
	e, ok := errors.AsType[*EOFError](err)
	return ok && e.ErrorID == IDEndOfFile
}

func TestReadUTFBytes(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		n    int
		want string
		left int
	}{
		{"plain", []byte("héllo!"), 6, "héllo", 1},
		{"BOM dropped", []byte("\xef\xbb\xbfab"), 5, "ab", 0},
		{"BOM needs three bytes", []byte("\xef\xbb"), 2, "\xef\xbb", 0},
		{"BOM only at the start", []byte("a\xef\xbb\xbf"), 4, "a\ufeff", 0},
		{"NUL ends the string, n consumed", []byte("ab\x00cd|"), 5, "ab", 1},
		{"BOM then NUL", []byte("\xef\xbb\xbf\x00x"), 5, "", 0},
		{"invalid UTF-8 kept", []byte("a\xffb"), 3, "a\xffb", 0},
		{"zero length", []byte("x"), 0, "", 1},
	}
	for _, c := range cases {
		d, _ := newInput(t, BigEndian, c.in...)
		got, err := d.ReadUTFBytes(c.n)
		if err != nil || got != c.want || d.BytesAvailable() != c.left {
			t.Errorf("%s: %q, %v, %d left; want %q, %d left", c.name, got, err, d.BytesAvailable(), c.want, c.left)
		}
	}
	d, f := newInput(t, BigEndian, 'a', 'b')
	if _, err := d.ReadUTFBytes(3); !isEOF(err) || f.in.Len() != 2 {
		t.Fatalf("past available: %v, %d left", err, f.in.Len())
	}
	if _, err := d.ReadUTFBytes(-1); !isRange(err) || f.in.Len() != 2 {
		t.Fatalf("negative: %v", err)
	}
}

// multiByteCases are hand-encoded strings in the charsets the spec names.
var multiByteCases = []struct {
	charset string
	text    string
	bytes   []byte
}{
	{"shift_jis", "日本語", []byte{0x93, 0xFA, 0x96, 0x7B, 0x8C, 0xEA}},
	{"Shift_JIS", "ｱa", []byte{0xB1, 'a'}},
	{"gb2312", "中文", []byte{0xD6, 0xD0, 0xCE, 0xC4}},
	{"iso-8859-1", "café", []byte{'c', 'a', 'f', 0xE9}},
	{"ISO-8859-1", "\u0080ÿ", []byte{0x80, 0xFF}},
	{"windows-1252", "€café", []byte{0x80, 'c', 'a', 'f', 0xE9}},
	{"utf-8", "héllo", []byte("héllo")},
}

func TestReadMultiByte(t *testing.T) {
	for _, c := range multiByteCases {
		d, _ := newInput(t, BigEndian, append(c.bytes, '!')...)
		got, err := d.ReadMultiByte(len(c.bytes), c.charset)
		if err != nil || got != c.text || d.BytesAvailable() != 1 {
			t.Errorf("%s: %q, %v, %d left; want %q", c.charset, got, err, d.BytesAvailable(), c.text)
		}
	}
}

func TestReadMultiByteErrors(t *testing.T) {
	d, f := newInput(t, BigEndian, 0x93, 0xFA)
	_, err := d.ReadMultiByte(2, "x-no-such-charset")
	if e, ok := errors.AsType[*ArgumentError](err); !ok || e.ErrorID != IDNotAcceptedValue {
		t.Fatalf("unknown charset: %v", err)
	}
	if _, err := d.ReadMultiByte(3, "shift_jis"); !isEOF(err) {
		t.Fatalf("past available: %v", err)
	}
	if _, err := d.ReadMultiByte(-1, "shift_jis"); !isRange(err) {
		t.Fatalf("negative: %v", err)
	}
	if f.in.Len() != 2 {
		t.Fatal("a failed ReadMultiByte consumed input")
	}
	if s, err := d.ReadMultiByte(0, "shift_jis"); s != "" || err != nil {
		t.Fatalf("zero length: %q, %v", s, err)
	}
}

func TestReadMultiByteUTF8FollowsReadUTFBytes(t *testing.T) {
	d, _ := newInput(t, BigEndian, []byte("\xef\xbb\xbfab\x00c")...)
	got, err := d.ReadMultiByte(7, "UTF-8")
	if err != nil || got != "ab" || d.BytesAvailable() != 0 {
		t.Fatalf("%q, %v, %d left", got, err, d.BytesAvailable())
	}
}

func TestFixedReadsDoNotAllocate(t *testing.T) {
	d, f := newInput(t, LittleEndian)
	payload := benchPayload()
	allocs := testing.AllocsPerRun(100, func() {
		f.in.Reset()
		f.in.Write(payload)
		if err := readAllFixed(d); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("fixed-size reads allocate %.1f times", allocs)
	}
}

// benchPayload holds one value for each fixed-size read, in readAllFixed's
// order.
func benchPayload() []byte {
	return make([]byte, 1+1+1+2+2+4+4+4+8)
}

// readAllFixed performs every fixed-size read once.
func readAllFixed(d *DataInput) error {
	_, e1 := d.ReadBoolean()
	_, e2 := d.ReadSignedByte()
	_, e3 := d.ReadUnsignedByte()
	_, e4 := d.ReadShort()
	_, e5 := d.ReadUnsignedShort()
	_, e6 := d.ReadInt()
	_, e7 := d.ReadUnsignedInt()
	_, e8 := d.ReadFloat()
	_, e9 := d.ReadDouble()
	return errors.Join(e1, e2, e3, e4, e5, e6, e7, e8, e9)
}

func BenchmarkDataInputFixed(b *testing.B) {
	d, f := newInput(b, BigEndian)
	payload := benchPayload()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		f.in.Reset()
		f.in.Write(payload)
		if err := readAllFixed(d); err != nil {
			b.Fatal(err)
		}
	}
}
