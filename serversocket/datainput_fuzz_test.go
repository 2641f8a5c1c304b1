package serversocket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"unicode/utf8"
)

// fuzzCharsets are the charsets FuzzDataInput reads with, including one that
// does not exist.
var fuzzCharsets = []string{"utf-8", "shift_jis", "gb2312", "iso-8859-1", "windows-1252", "x-bogus"}

// FuzzDataInput runs a sequence of reads, chosen by ops (an op byte and an
// argument byte per step), over data. It checks that nothing panics, that
// failed reads consume what AVM2 says (nothing, or only ReadUTF's prefix),
// that successful ones consume exactly their size, and that values match an
// independent decoding of the same bytes.
func FuzzDataInput(f *testing.F) {
	f.Add([]byte{0x00, 0x03, 'a', 'b', 'c', 0xFF, 0xFE}, []byte{3, 0, 1, 3, 1, 5})
	f.Add([]byte("\xef\xbb\xbfhi\x00there"), []byte{4, 9, 0, 0, 1, 8, 2, 0})
	f.Add([]byte{0x93, 0xFA, 0x96, 0x7B, 0x8C}, []byte{5, 1, 5, 7, 2, 3})
	f.Add([]byte{0x00, 0x09, 'x'}, []byte{3, 0, 2, 200, 0, 0, 1, 4})
	f.Fuzz(func(t *testing.T, data, ops []byte) {
		fc := newFake(data...)
		d := &DataInput{src: fc}
		pos := 0 // bytes consumed according to the model
		little := false
		for i := 0; i+1 < len(ops) && i < 512; i += 2 {
			op, arg := ops[i], int(ops[i+1])
			rest := data[pos:]
			switch op % 6 {
			case 0:
				little = !little
				if err := d.SetEndian(byteOrder{little}.String()); err != nil {
					t.Fatal(err)
				}
			case 1:
				pos += fuzzFixed(t, d, fixedReads[arg%len(fixedReads)], rest, little)
			case 2:
				pos += fuzzReadBytes(t, d, rest, arg%5, int(op/6)%(len(rest)+3))
			case 3:
				pos += fuzzReadUTF(t, d, rest, little)
			case 4:
				pos += fuzzReadUTFBytes(t, d, rest, arg%(len(rest)+3))
			case 5:
				pos += fuzzReadMultiByte(t, d, rest, int(op/6)%(len(rest)+3), fuzzCharsets[arg%len(fuzzCharsets)])
			}
			if d.BytesAvailable() != len(data)-pos || !bytes.Equal(fc.in.Bytes(), data[pos:]) {
				t.Fatalf("step %d (op %d): %d bytes left, model says %d", i/2, op%6, d.BytesAvailable(), len(data)-pos)
			}
		}
	})
}

// fuzzFixed runs one fixed-size read over rest and returns the bytes it
// should have consumed.
func fuzzFixed(t *testing.T, d *DataInput, r fixedRead, rest []byte, little bool) int {
	v, err := r.read(d)
	if len(rest) < r.size {
		if !isEOF(err) {
			t.Fatalf("%s on %d bytes: %v, want EOFError", r.name, len(rest), err)
		}
		return 0
	}
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	var order binary.ByteOrder = binary.BigEndian
	if little {
		order = binary.LittleEndian
	}
	var want, got uint64
	switch r.size {
	case 1:
		want = uint64(rest[0])
	case 2:
		want = uint64(order.Uint16(rest))
	case 4:
		want = uint64(order.Uint32(rest))
	case 8:
		want = order.Uint64(rest)
	}
	switch v := v.(type) {
	case bool:
		got, want = b2u(v), b2u(rest[0] != 0)
	case int8:
		got = uint64(uint8(v))
	case uint8:
		got = uint64(v)
	case int16:
		got = uint64(uint16(v))
	case uint16:
		got = uint64(v)
	case int32:
		got = uint64(uint32(v))
	case uint32:
		got = uint64(v)
	case float32:
		got = uint64(math.Float32bits(v))
	case float64:
		got = math.Float64bits(v)
	}
	if got != want {
		t.Fatalf("%s on % x: bits %x, want %x", r.name, rest[:r.size], got, want)
	}
	return r.size
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// fuzzReadBytes reads length bytes (0: all) at offset into a small buffer.
func fuzzReadBytes(t *testing.T, d *DataInput, rest []byte, offset, length int) int {
	dst := []byte("pre")
	out, err := d.ReadBytes(dst, offset, length)
	n := length
	if n == 0 {
		n = len(rest)
	}
	if n > len(rest) {
		if !isEOF(err) || !bytes.Equal(out, []byte("pre")) {
			t.Fatalf("ReadBytes(%d, %d) on %d bytes: %q, %v; want EOFError", offset, length, len(rest), out, err)
		}
		return 0
	}
	if err != nil {
		t.Fatalf("ReadBytes(%d, %d): %v", offset, length, err)
	}
	if n > 0 && !bytes.Equal(out[offset:offset+n], rest[:n]) {
		t.Fatalf("ReadBytes(%d, %d) copied %q, want %q", offset, length, out[offset:offset+n], rest[:n])
	}
	if want := max(len(dst), offset+n); n > 0 && len(out) != want {
		t.Fatalf("ReadBytes(%d, %d) result length %d, want %d", offset, length, len(out), want)
	}
	return n
}

// fuzzReadUTF reads a length-prefixed string: AVM2 consumes the prefix even
// when the body is short.
func fuzzReadUTF(t *testing.T, d *DataInput, rest []byte, little bool) int {
	s, err := d.ReadUTF()
	if len(rest) < 2 {
		if !isEOF(err) {
			t.Fatalf("ReadUTF on %d bytes: %v", len(rest), err)
		}
		return 0
	}
	n := int(binary.BigEndian.Uint16(rest))
	if little {
		n = int(binary.LittleEndian.Uint16(rest))
	}
	if len(rest)-2 < n {
		if !isEOF(err) {
			t.Fatalf("ReadUTF with body %d of %d: %v", len(rest)-2, n, err)
		}
		return 2
	}
	if err != nil || s != avm2Text(rest[2:2+n]) {
		t.Fatalf("ReadUTF(% x) = %q, %v", rest[:2+n], s, err)
	}
	return 2 + n
}

// fuzzReadUTFBytes reads n bytes of UTF-8.
func fuzzReadUTFBytes(t *testing.T, d *DataInput, rest []byte, n int) int {
	s, err := d.ReadUTFBytes(n)
	if n > len(rest) {
		if !isEOF(err) {
			t.Fatalf("ReadUTFBytes(%d) on %d bytes: %v", n, len(rest), err)
		}
		return 0
	}
	if err != nil || s != avm2Text(rest[:n]) {
		t.Fatalf("ReadUTFBytes(% x) = %q, %v", rest[:n], s, err)
	}
	return n
}

// fuzzReadMultiByte reads n bytes in charset.
func fuzzReadMultiByte(t *testing.T, d *DataInput, rest []byte, n int, charset string) int {
	s, err := d.ReadMultiByte(n, charset)
	switch {
	case charset == "x-bogus":
		if _, ok := errors.AsType[*ArgumentError](err); !ok {
			t.Fatalf("ReadMultiByte(%q): %v, want ArgumentError", charset, err)
		}
		return 0
	case n > len(rest):
		if !isEOF(err) {
			t.Fatalf("ReadMultiByte(%d) on %d bytes: %v", n, len(rest), err)
		}
		return 0
	case err != nil:
		t.Fatalf("ReadMultiByte(%d, %q): %v", n, charset, err)
	case charset == "utf-8" && s != avm2Text(rest[:n]):
		t.Fatalf("ReadMultiByte(% x, utf-8) = %q", rest[:n], s)
	case charset != "utf-8" && !utf8.ValidString(s):
		t.Fatalf("ReadMultiByte(% x, %s) returned invalid UTF-8 %q", rest[:n], charset, s)
	}
	return n
}

// avm2Text is the test's own statement of AVM2's ReadUTFBytes result: skip
// EF BB BF if the body starts with it, then take bytes up to the first NUL.
func avm2Text(body []byte) string {
	if len(body) >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF {
		body = body[3:]
	}
	for i, c := range body {
		if c == 0 {
			return string(body[:i])
		}
	}
	return string(body)
}
