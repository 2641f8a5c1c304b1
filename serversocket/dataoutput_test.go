package serversocket

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// newOutput returns a DataOutput in the given byte order over a fake.
func newOutput(t testing.TB, endian string) (*DataOutput, *fakeConn) {
	t.Helper()
	f := &fakeConn{}
	d := &DataOutput{dst: f}
	if err := d.SetEndian(endian); err != nil {
		t.Fatal(err)
	}
	return d, f
}

func TestFixedWritesExactBytes(t *testing.T) {
	cases := []struct {
		name   string
		endian string
		write  func(*DataOutput) error
		want   []byte
	}{
		{"WriteBoolean(true)", BigEndian, func(d *DataOutput) error { return d.WriteBoolean(true) }, []byte{1}},
		{"WriteBoolean(false)", LittleEndian, func(d *DataOutput) error { return d.WriteBoolean(false) }, []byte{0}},
		{"WriteByte(0xAB)", BigEndian, func(d *DataOutput) error { return d.WriteByte(0xAB) }, []byte{0xAB}},
		{"WriteByte(byte(-1))", LittleEndian, func(d *DataOutput) error { v := -1; return d.WriteByte(byte(v)) }, []byte{0xFF}},
		{"WriteShort(0x1234) BE", BigEndian, func(d *DataOutput) error { return d.WriteShort(0x1234) }, []byte{0x12, 0x34}},
		{"WriteShort(0x1234) LE", LittleEndian, func(d *DataOutput) error { return d.WriteShort(0x1234) }, []byte{0x34, 0x12}},
		{"WriteShort(-1)", BigEndian, func(d *DataOutput) error { return d.WriteShort(-1) }, []byte{0xFF, 0xFF}},
		{"WriteShort(65535)", LittleEndian, func(d *DataOutput) error { return d.WriteShort(65535) }, []byte{0xFF, 0xFF}},
		{"WriteShort(0x12345) low bits", BigEndian, func(d *DataOutput) error { return d.WriteShort(0x12345) }, []byte{0x23, 0x45}},
		{"WriteInt(-2) BE", BigEndian, func(d *DataOutput) error { return d.WriteInt(-2) }, []byte{0xFF, 0xFF, 0xFF, 0xFE}},
		{"WriteInt(-2) LE", LittleEndian, func(d *DataOutput) error { return d.WriteInt(-2) }, []byte{0xFE, 0xFF, 0xFF, 0xFF}},
		{"WriteInt(0x01020304) LE", LittleEndian, func(d *DataOutput) error { return d.WriteInt(0x01020304) }, []byte{4, 3, 2, 1}},
		{"WriteUnsignedInt BE", BigEndian, func(d *DataOutput) error { return d.WriteUnsignedInt(0xDEADBEEF) }, []byte{0xDE, 0xAD, 0xBE, 0xEF}},
		{"WriteUnsignedInt LE", LittleEndian, func(d *DataOutput) error { return d.WriteUnsignedInt(0xDEADBEEF) }, []byte{0xEF, 0xBE, 0xAD, 0xDE}},
		{"WriteFloat(1.5) BE", BigEndian, func(d *DataOutput) error { return d.WriteFloat(1.5) }, []byte{0x3F, 0xC0, 0, 0}},
		{"WriteFloat(1.5) LE", LittleEndian, func(d *DataOutput) error { return d.WriteFloat(1.5) }, []byte{0, 0, 0xC0, 0x3F}},
		{"WriteFloat(-2.25)", BigEndian, func(d *DataOutput) error { return d.WriteFloat(-2.25) }, []byte{0xC0, 0x10, 0, 0}},
		{"WriteDouble(pi) BE", BigEndian, func(d *DataOutput) error { return d.WriteDouble(math.Pi) },
			[]byte{0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18}},
		{"WriteDouble(pi) LE", LittleEndian, func(d *DataOutput) error { return d.WriteDouble(math.Pi) },
			[]byte{0x18, 0x2D, 0x44, 0x54, 0xFB, 0x21, 0x09, 0x40}},
	}
	for _, c := range cases {
		d, f := newOutput(t, c.endian)
		if err := c.write(d); err != nil || !bytes.Equal(f.out.Bytes(), c.want) {
			t.Errorf("%s: % x, %v; want % x", c.name, f.out.Bytes(), err, c.want)
		}
	}
}

func TestWriteBytes(t *testing.T) {
	src := []byte("abcdef")
	cases := []struct {
		offset, length int
		want           string
	}{
		{0, 0, "abcdef"},
		{2, 0, "cdef"},
		{2, 3, "cde"},
		{0, 6, "abcdef"},
		{6, 0, ""},
		{10, 0, ""}, // AVM2 clamps an offset past the end
	}
	for _, c := range cases {
		d, f := newOutput(t, BigEndian)
		if err := d.WriteBytes(src, c.offset, c.length); err != nil || f.out.String() != c.want {
			t.Errorf("WriteBytes(%d, %d) = %q, %v; want %q", c.offset, c.length, f.out.String(), err, c.want)
		}
	}
	for _, bad := range [][2]int{{4, 3}, {0, 7}, {10, 1}, {-1, 0}, {0, -1}} {
		d, f := newOutput(t, BigEndian)
		if err := d.WriteBytes(src, bad[0], bad[1]); !isRange(err) || f.out.Len() != 0 {
			t.Errorf("WriteBytes(%d, %d) = %v, wrote %d; want RangeError, nothing", bad[0], bad[1], err, f.out.Len())
		}
	}
}

func TestWriteUTF(t *testing.T) {
	d, f := newOutput(t, BigEndian)
	if err := d.WriteUTF("héllo"); err != nil || !bytes.Equal(f.out.Bytes(), []byte("\x00\x06h\xc3\xa9llo")) {
		t.Fatalf("BE: % x, %v", f.out.Bytes(), err)
	}
	d, f = newOutput(t, LittleEndian)
	if err := d.WriteUTF("héllo"); err != nil || !bytes.Equal(f.out.Bytes(), []byte("\x06\x00h\xc3\xa9llo")) {
		t.Fatalf("LE: % x, %v", f.out.Bytes(), err)
	}
	d, f = newOutput(t, BigEndian)
	if err := d.WriteUTF(""); err != nil || !bytes.Equal(f.out.Bytes(), []byte{0, 0}) {
		t.Fatalf("empty: % x, %v", f.out.Bytes(), err)
	}
}

func TestWriteUTFLengthLimit(t *testing.T) {
	d, f := newOutput(t, BigEndian)
	longest := strings.Repeat("x", 65535)
	if err := d.WriteUTF(longest); err != nil || f.out.Len() != 65537 || !bytes.Equal(f.out.Bytes()[:2], []byte{0xFF, 0xFF}) {
		t.Fatalf("65535 bytes: %v, wrote %d", err, f.out.Len())
	}
	d, f = newOutput(t, BigEndian)
	err := d.WriteUTF(longest + "y")
	if !isRange(err) || f.out.Len() != 0 {
		t.Fatalf("65536 bytes: %v, wrote %d; want RangeError #2006 and nothing", err, f.out.Len())
	}
	// The limit is on UTF-8 bytes, not characters.
	if err := d.WriteUTF(strings.Repeat("é", 32768)); !isRange(err) || f.out.Len() != 0 {
		t.Fatalf("65536 bytes of é: %v", err)
	}
}

func TestWriteUTFBytes(t *testing.T) {
	d, f := newOutput(t, LittleEndian)
	if err := d.WriteUTFBytes("héllo"); err != nil || f.out.String() != "héllo" {
		t.Fatalf("%q, %v", f.out.String(), err)
	}
	if err := d.WriteUTFBytes(""); err != nil || f.out.String() != "héllo" {
		t.Fatalf("empty: %q, %v", f.out.String(), err)
	}
}

func TestStringWritesUseStringWriter(t *testing.T) {
	f := &stringFake{}
	d := &DataOutput{dst: f}
	if err := d.WriteUTF("ab"); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteUTFBytes("cd"); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteMultiByte("ef", "utf-8"); err != nil {
		t.Fatal(err)
	}
	if f.strings != 3 || f.out.String() != "\x00\x02abcdef" {
		t.Fatalf("%d WriteString calls, out %q", f.strings, f.out.String())
	}
}

func TestWriteMultiByte(t *testing.T) {
	for _, c := range multiByteCases {
		d, f := newOutput(t, BigEndian)
		if err := d.WriteMultiByte(c.text, c.charset); err != nil || !bytes.Equal(f.out.Bytes(), c.bytes) {
			t.Errorf("%s: % x, %v; want % x", c.charset, f.out.Bytes(), err, c.bytes)
		}
	}
}

func TestWriteMultiByteUnmappable(t *testing.T) {
	d, f := newOutput(t, BigEndian)
	if err := d.WriteMultiByte("a€日", "iso-8859-1"); err != nil || !bytes.Equal(f.out.Bytes(), []byte{'a', 0x1A, 0x1A}) {
		t.Fatalf("% x, %v", f.out.Bytes(), err)
	}
}

func TestWriteMultiByteUnknownCharset(t *testing.T) {
	d, f := newOutput(t, BigEndian)
	err := d.WriteMultiByte("x", "x-no-such-charset")
	if e, ok := errors.AsType[*ArgumentError](err); !ok || e.ErrorID != IDNotAcceptedValue || f.out.Len() != 0 {
		t.Fatalf("%v, wrote %d", err, f.out.Len())
	}
}

// TestMultiByteRoundTrip writes with WriteMultiByte and reads back with
// ReadMultiByte in each named charset.
func TestMultiByteRoundTrip(t *testing.T) {
	texts := map[string]string{
		"shift_jis":    "こんにちは、世界。ｶﾀｶﾅ abc",
		"gb2312":       "你好，世界。abc",
		"iso-8859-1":   "Grüße, ¿qué tal? ÿ",
		"windows-1252": "“Smart” quotes – €5 ‰",
		"utf-8":        "UTF-8: 日本語 € 🙂",
	}
	for charset, text := range texts {
		out, of := newOutput(t, BigEndian)
		if err := out.WriteMultiByte(text, charset); err != nil {
			t.Fatalf("%s write: %v", charset, err)
		}
		in, _ := newInput(t, BigEndian, of.out.Bytes()...)
		got, err := in.ReadMultiByte(of.out.Len(), charset)
		if err != nil || got != text {
			t.Errorf("%s: %q, %v; want %q", charset, got, err, text)
		}
	}
}

// TestWriteReadRoundTrip writes one of everything and reads it back in
// both byte orders.
func TestWriteReadRoundTrip(t *testing.T) {
	for _, endian := range []string{BigEndian, LittleEndian} {
		out, of := newOutput(t, endian)
		err := errors.Join(out.WriteBoolean(true), out.WriteByte(0x80), out.WriteShort(-300),
			out.WriteInt(-70000), out.WriteUnsignedInt(4000000000), out.WriteFloat(3.25),
			out.WriteDouble(-1e300), out.WriteUTF("ütf"), out.WriteBytes([]byte("raw"), 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		in, _ := newInput(t, endian, of.out.Bytes()...)
		b, _ := in.ReadBoolean()
		sb, _ := in.ReadSignedByte()
		sh, _ := in.ReadShort()
		i, _ := in.ReadInt()
		u, _ := in.ReadUnsignedInt()
		fl, _ := in.ReadFloat()
		db, _ := in.ReadDouble()
		s, _ := in.ReadUTF()
		raw, err := in.ReadBytes(nil, 0, 0)
		if !b || sb != -128 || sh != -300 || i != -70000 || u != 4000000000 || fl != 3.25 || db != -1e300 ||
			s != "ütf" || string(raw) != "raw" || err != nil {
			t.Errorf("%s: %v %v %v %v %v %v %v %q %q %v", endian, b, sb, sh, i, u, fl, db, s, raw, err)
		}
	}
}

func TestWritesWithoutConnection(t *testing.T) {
	var d DataOutput
	errs := map[string]error{
		"WriteBoolean":     d.WriteBoolean(true),
		"WriteByte":        d.WriteByte(1),
		"WriteShort":       d.WriteShort(1),
		"WriteInt":         d.WriteInt(1),
		"WriteUnsignedInt": d.WriteUnsignedInt(1),
		"WriteFloat":       d.WriteFloat(1),
		"WriteDouble":      d.WriteDouble(1),
		"WriteBytes":       d.WriteBytes([]byte("x"), 0, 0),
		"WriteUTF":         d.WriteUTF("x"),
		"WriteUTFBytes":    d.WriteUTFBytes("x"),
		"WriteMultiByte":   d.WriteMultiByte("x", "shift_jis"),
	}
	for name, err := range errs {
		if e, ok := errors.AsType[*IOError](err); !ok || e.ErrorID != IDInvalidSocket {
			t.Errorf("%s: %v, want IOError #2002", name, err)
		}
	}
}

func TestWritesOnBrokenConnectionWrapCause(t *testing.T) {
	d := &DataOutput{dst: brokenConn{}}
	errs := map[string]error{
		"WriteInt":       d.WriteInt(1),
		"WriteBytes":     d.WriteBytes([]byte("x"), 0, 0),
		"WriteUTF":       d.WriteUTF("x"),
		"WriteUTFBytes":  d.WriteUTFBytes("x"),
		"WriteMultiByte": d.WriteMultiByte("x", "gb2312"),
	}
	for name, err := range errs {
		if _, ok := errors.AsType[*IOError](err); !ok || !errors.Is(err, errBroken) {
			t.Errorf("%s: %v, want IOError wrapping the cause", name, err)
		}
	}
}

func TestFixedWritesDoNotAllocate(t *testing.T) {
	d, f := newOutput(t, LittleEndian)
	f.out.Grow(64)
	allocs := testing.AllocsPerRun(100, func() {
		f.out.Reset()
		if err := writeAllFixed(d); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("fixed-size writes allocate %.1f times", allocs)
	}
}

// writeAllFixed performs every fixed-size write once.
func writeAllFixed(d *DataOutput) error {
	return errors.Join(d.WriteBoolean(true), d.WriteByte(7), d.WriteShort(-2), d.WriteInt(-3),
		d.WriteUnsignedInt(4), d.WriteFloat(5.5), d.WriteDouble(6.25))
}

func BenchmarkDataOutputFixed(b *testing.B) {
	d, f := newOutput(b, BigEndian)
	f.out.Grow(64)
	b.ReportAllocs()
	b.SetBytes(1 + 1 + 2 + 4 + 4 + 4 + 8)
	for b.Loop() {
		f.out.Reset()
		if err := writeAllFixed(d); err != nil {
			b.Fatal(err)
		}
	}
}
