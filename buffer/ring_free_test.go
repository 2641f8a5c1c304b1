package buffer

import (
	"bytes"
	"testing"
	"unsafe"
)

// checkOffer fails the test unless Free's slices a and b hold want bytes
// together, b only if a does too, and each has no capacity past its length.
func checkOffer(tb testing.TB, a, b []byte, want int) {
	tb.Helper()
	if len(a)+len(b) != want || len(b) > 0 && len(a) == 0 {
		tb.Fatalf("Free offered %d+%d bytes, want %d in all", len(a), len(b), want)
	}
	if cap(a) != len(a) || cap(b) != len(b) {
		tb.Fatalf("Free's slices reach past the offer: cap %d and %d for len %d and %d", cap(a), cap(b), len(a), len(b))
	}
}

// mustPanic fails the test unless f panics.
func mustPanic(tb testing.TB, what string, f func()) {
	tb.Helper()
	defer func() {
		if recover() == nil {
			tb.Fatalf("%s did not panic", what)
		}
	}()
	f()
}

func TestFreeGrowsFromEmpty(t *testing.T) {
	var r Ring
	r.Init(new(Pool), 0)
	defer r.Reset()
	a, b := r.Free(-1)
	if r.Cap() != MinSize || b != nil {
		t.Fatalf("Free on a released ring: Cap %d, tail %d bytes; want %d, nil", r.Cap(), len(b), MinSize)
	}
	checkOffer(t, a, b, MinSize)
	in := pattern(100, 1)
	r.Commit(fill(a, b, in))
	checkContents(t, &r, in)
}

func TestFreeDoubles(t *testing.T) {
	var r Ring
	r.Init(new(Pool), 0)
	defer r.Reset()
	model := pattern(500, 1)
	r.Write(model)
	// 12 < MinSize free: Free doubles first, moving the 500 bytes.
	a, b := r.Free(-1)
	if r.Cap() != 2*MinSize {
		t.Fatalf("Free with 12 bytes free: Cap %d, want %d", r.Cap(), 2*MinSize)
	}
	checkOffer(t, a, b, 2*MinSize-500)
	in := pattern(2*MinSize-500, 2)
	r.Commit(fill(a, b, in))
	model = append(model, in...)
	checkContents(t, &r, model)
	// Full at 1024: the next Free doubles again.
	a, b = r.Free(-1)
	if r.Cap() != 4*MinSize {
		t.Fatalf("Free on a full ring: Cap %d, want %d", r.Cap(), 4*MinSize)
	}
	checkOffer(t, a, b, 2*MinSize)
	checkContents(t, &r, model)
	// MinSize or more free: no growth.
	r.Discard(-1)
	r.Write(pattern(4*MinSize-MinSize, 3))
	if a, b = r.Free(-1); r.Cap() != 4*MinSize {
		t.Fatalf("Free with MinSize free: Cap %d, want %d", r.Cap(), 4*MinSize)
	}
	checkOffer(t, a, b, MinSize)
}

func TestFreeGrowthCappedAtLimit(t *testing.T) {
	const limit = 4<<20 + 64<<10
	var r Ring
	r.Init(new(Pool), limit)
	defer r.Reset()
	in := pattern(limit, 6)
	got := 0
	wantCap := MinSize
	for {
		a, b := r.Free(-1)
		if len(a) == 0 {
			break
		}
		// The offer is always the whole free space: the reader fills it,
		// so each Free finds the ring full and grows one step.
		if r.Cap() != wantCap {
			t.Fatalf("Len %d: Cap %d, want %d", r.Len(), r.Cap(), wantCap)
		}
		checkOffer(t, a, b, wantCap-got)
		n := fill(a, b, in[got:])
		r.Commit(n)
		got += n
		wantCap = min(2*wantCap, limit)
	}
	if got != limit || r.Cap() != limit {
		t.Fatalf("full: filled %d, Cap %d; want both %d", got, r.Cap(), limit)
	}
	checkContents(t, &r, in)
}

func TestFreeSmallLimit(t *testing.T) {
	var r Ring
	r.Init(new(Pool), 600)
	defer r.Reset()
	in := pattern(600, 4)
	a, b := r.Free(-1)
	checkOffer(t, a, b, MinSize)
	r.Commit(fill(a, b, in))
	// Full at 512: grows to exactly the limit, and offers only the 88 bytes
	// it leaves room for.
	a, b = r.Free(-1)
	if r.Cap() != 600 {
		t.Fatalf("Free at 512 under a 600 limit: Cap %d, want 600", r.Cap())
	}
	checkOffer(t, a, b, 88)
	r.Commit(fill(a, b, in[MinSize:]))
	if a, b = r.Free(-1); a != nil || b != nil || r.Cap() != 600 {
		t.Fatalf("Free at the limit: %d+%d bytes, Cap %d; want nothing, 600", len(a), len(b), r.Cap())
	}
	mustPanic(t, "Commit(1) at the limit", func() { r.Commit(1) })
	r.Commit(0) // nothing read: allowed
	checkContents(t, &r, in)
	// A limit below MinSize sizes the first array.
	var small Ring
	small.Init(new(Pool), 100)
	defer small.Reset()
	if a, b = small.Free(-1); small.Cap() != 100 {
		t.Fatalf("Free under a 100 limit: Cap %d, want 100", small.Cap())
	}
	checkOffer(t, a, b, 100)
}

func TestFreeWrapped(t *testing.T) {
	// 100 bytes held at [900, 1000): the 924 free are [1000, 1024), then
	// [0, 900).
	r, model := wrapped(t, 1024, 124, 100)
	head, _ := r.Peek(-1)
	base := unsafe.Add(arrayOf(head), -900)
	a, b := r.Free(-1)
	if r.Cap() != 1024 {
		t.Fatalf("Free grew the ring to %d though 924 bytes were free", r.Cap())
	}
	checkOffer(t, a, b, 924)
	if len(a) != 24 || arrayOf(a) != unsafe.Add(base, 1000) || arrayOf(b) != base {
		t.Fatalf("Free offered %d bytes at index %d, then %d at index %d; want 24 at 1000, 900 at 0",
			len(a), uintptr(arrayOf(a))-uintptr(base), len(b), uintptr(arrayOf(b))-uintptr(base))
	}
	in := pattern(924, 3)
	r.Commit(fill(a, b, in))
	if _, tail := r.Peek(-1); tail == nil {
		t.Fatal("the bytes committed into the second slice are not at the array's start")
	}
	checkContents(t, r, append(model, in...))
}

func TestFreeWrappedLimitSized(t *testing.T) {
	// 200 held at [1200, 1400) of a 1500-byte array (the limit); the 1300
	// free are [1400, 1500), then [0, 1200).
	r, model := wrappedLimit(t, 1500, 300, 200, 1500)
	a, b := r.Free(-1)
	checkOffer(t, a, b, 1300)
	if len(a) != 100 || r.Cap() != 1500 {
		t.Fatalf("Free: %d bytes first, Cap %d; want 100, 1500", len(a), r.Cap())
	}
	in := pattern(1300, 8)
	r.Commit(fill(a, b, in))
	checkContents(t, r, append(model, in...))
}

func TestFreeAtArrayEnd(t *testing.T) {
	// 300 bytes at [1200, 1500): the free space is all of [0, 1200), one
	// slice.
	r, model := wrappedLimit(t, 1500, 300, 300, 1500)
	a, b := r.Free(-1)
	if b != nil {
		t.Fatalf("Free split [0, 1200) into %d+%d bytes", len(a), len(b))
	}
	checkOffer(t, a, b, 1200)
	in := pattern(1200, 2)
	r.Commit(fill(a, b, in))
	checkContents(t, r, append(model, in...))
}

func TestCommitPartial(t *testing.T) {
	r, model := wrapped(t, 1024, 124, 100)
	a, b := r.Free(-1)
	in := pattern(924, 5)
	fill(a, b, in)
	// 30 of the 924: all 24 of a and the first 6 of b, in that order.
	r.Commit(30)
	model = append(model, in[:30]...)
	checkContents(t, r, model)
	a, b = r.Free(-1)
	checkOffer(t, a, b, 924-30)
	r.Commit(fill(a, b, in[30:]))
	checkContents(t, r, append(model, in[30:]...))
}

func TestCommitBeyondOffer(t *testing.T) {
	r, model := wrapped(t, 1024, 124, 100)
	a, b := r.Free(-1)
	mustPanic(t, "Commit(925) after an offer of 924", func() { r.Commit(len(a) + len(b) + 1) })
	mustPanic(t, "Commit(-1)", func() { r.Commit(-1) })
	checkContents(t, r, model) // a refused Commit changes nothing
	// Under a limit the offer is what the limit leaves room for, less than
	// is free.
	r.SetLimit(150)
	a, b = r.Free(-1)
	checkOffer(t, a, b, 50)
	mustPanic(t, "Commit(51) under a limit leaving 50", func() { r.Commit(51) })
	r.Commit(50)
	if r.Len() != 150 {
		t.Fatalf("Len %d after Commit(50), want 150", r.Len())
	}
}

func TestFreeMost(t *testing.T) {
	var r Ring
	r.Init(new(Pool), 0)
	defer r.Reset()
	if a, b := r.Free(0); a != nil || b != nil || r.Cap() != 0 {
		t.Fatalf("Free(0): %d+%d bytes, Cap %d; want nothing, no array", len(a), len(b), r.Cap())
	}
	a, b := r.Free(10)
	if r.Cap() != MinSize {
		t.Fatalf("Free(10) on a released ring: Cap %d, want %d", r.Cap(), MinSize)
	}
	checkOffer(t, a, b, 10)
	// Wrapped: the bound cuts the first slice, or the second.
	w, _ := wrapped(t, 1024, 124, 100)
	a, b = w.Free(20)
	if b != nil {
		t.Fatalf("Free(20) with 24 free before the wrap: %d+%d bytes", len(a), len(b))
	}
	checkOffer(t, a, b, 20)
	a, b = w.Free(30)
	checkOffer(t, a, b, 30)
	if len(a) != 24 {
		t.Fatalf("Free(30): %d bytes first, want 24", len(a))
	}
	// Little free: a bound that fits needs no growth; one that does not
	// grows the ring.
	r.Write(pattern(500, 1))
	if a, b = r.Free(12); r.Cap() != MinSize {
		t.Fatalf("Free(12) with 12 free: Cap %d, want %d", r.Cap(), MinSize)
	}
	checkOffer(t, a, b, 12)
	if a, b = r.Free(100); r.Cap() != 2*MinSize {
		t.Fatalf("Free(100) with 12 free: Cap %d, want %d", r.Cap(), 2*MinSize)
	}
	checkOffer(t, a, b, 100)
}

func TestFreeCommitNoAllocs(t *testing.T) {
	var out, in Ring
	out.Init(new(Pool), 0)
	in.Init(new(Pool), 0)
	defer out.Reset()
	defer in.Reset()
	roundTrip := wrappedRoundTrip(t, &out, &in)
	roundTrip()
	if n := testing.AllocsPerRun(200, roundTrip); n != 0 {
		t.Fatalf("Peek/Discard into Free/Commit: %v allocs/op, want 0", n)
	}
}

// wrappedRoundTrip returns a step that moves 3100 bytes from out to in with
// both rings wrapped, so Peek and Free both return two slices.
func wrappedRoundTrip(tb testing.TB, out, in *Ring) func() {
	msg := pattern(3000, 7)
	return func() {
		out.Write(msg)
		out.Discard(2900)
		out.Write(msg) // 3100 bytes from index 2900 of 4096: wraps
		in.Write(msg)
		in.Discard(2900) // 100 held at [2900, 3000): free space wraps
		if n := transfer(in, out); n != 3100 || out.Len() != 0 {
			tb.Fatalf("transfer: %d bytes, %d left; want 3100, 0", n, out.Len())
		}
		if in.Cap() != 4096 {
			tb.Fatalf("in grew to %d", in.Cap())
		}
		if head, _ := in.Peek(200); !bytes.Equal(head[100:], msg[2900:]) {
			tb.Fatal("transfer moved different bytes")
		}
		in.Discard(-1)
	}
}
