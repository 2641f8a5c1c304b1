package buffer

import (
	"bytes"
	"testing"
	"unsafe"
)

// pattern returns n bytes that differ from those of nearby seeds, so a byte
// copied to the wrong place shows.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// fill writes p into the space Free offered, a then b, as one readv would,
// and returns how many bytes fit.
func fill(a, b, p []byte) int {
	k := copy(a, p)
	return k + copy(b, p[k:])
}

// copyHalves copies src0 then src1 into dst0 then dst1 as far as they hold
// and returns the count: what one writev into one readv would move.
func copyHalves(dst0, dst1, src0, src1 []byte) int {
	n := 0
	for _, s := range [2][]byte{src0, src1} {
		k := copy(dst0, s)
		dst0 = dst0[k:]
		m := copy(dst1, s[k:])
		dst1 = dst1[m:]
		n += k + m
	}
	return n
}

// transfer moves as much of src as dst has room for, through Peek, Free,
// Commit and Discard, and returns the count.
func transfer(dst, src *Ring) int {
	a, b := src.Peek(-1)
	fa, fb := dst.Free(len(a) + len(b))
	n := copyHalves(fa, fb, a, b)
	dst.Commit(n)
	src.Discard(n)
	return n
}

// contents returns a copy of all readable bytes of r, read through Peek.
func contents(r *Ring) []byte {
	head, tail := r.Peek(-1)
	return append(append([]byte{}, head...), tail...)
}

// checkContents fails the test unless r holds exactly want.
func checkContents(tb testing.TB, r *Ring, want []byte) {
	tb.Helper()
	if r.Len() != len(want) {
		tb.Fatalf("Len() = %d, want %d", r.Len(), len(want))
	}
	if got := contents(r); !bytes.Equal(got, want) {
		tb.Fatalf("contents differ from the model (len %d)", len(want))
	}
}

// arrayOf returns the address of the array under b, to tell arrays apart.
func arrayOf(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// eventually runs try up to 64 times until it reports true. Pool hits are
// not guaranteed: sync.Pool keeps a per-P slot the goroutine may migrate
// away from, and under -race it drops a quarter of Puts on purpose.
func eventually(tb testing.TB, what string, try func() bool) {
	tb.Helper()
	for range 64 {
		if try() {
			return
		}
	}
	tb.Fatalf("%s: never happened in 64 tries", what)
}
