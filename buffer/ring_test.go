package buffer

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestRingZeroValue(t *testing.T) {
	var r Ring
	if r.Len() != 0 || r.Cap() != 0 || r.Limit() != 0 {
		t.Fatalf("zero Ring: Len %d Cap %d Limit %d", r.Len(), r.Cap(), r.Limit())
	}
	if h, tl := r.Peek(-1); h != nil || tl != nil {
		t.Fatalf("Peek on empty: %q %q", h, tl)
	}
	if b := r.Contiguous(-1); len(b) != 0 {
		t.Fatalf("Contiguous on empty: %q", b)
	}
	if n := r.Discard(-1); n != 0 {
		t.Fatalf("Discard on empty: %d", n)
	}
	if b, err := r.Next(1); b != nil || err != io.ErrShortBuffer {
		t.Fatalf("Next(1) on empty: %q, %v", b, err)
	}
	if n, err := r.WriteString("hello"); n != 5 || err != nil {
		t.Fatalf("WriteString: %d, %v", n, err)
	}
	if r.Cap() != MinSize {
		t.Fatalf("Cap after first write = %d, want %d", r.Cap(), MinSize)
	}
	r.Reset()
}

func TestRingGrowth(t *testing.T) {
	var r Ring
	r.Init(new(Pool), 0)
	var model []byte
	write := func(n int, wantCap int) {
		t.Helper()
		p := pattern(n, byte(len(model)))
		if got, err := r.Write(p); got != n || err != nil {
			t.Fatalf("Write(%d): %d, %v", n, got, err)
		}
		model = append(model, p...)
		if r.Cap() != wantCap {
			t.Fatalf("Cap after %d bytes = %d, want %d", len(model), r.Cap(), wantCap)
		}
		checkContents(t, &r, model)
	}
	write(1, MinSize)
	write(MinSize-1, MinSize)
	write(1, 2*MinSize)
	write(3000, 4096) // 3513 bytes: the next power of two, not just a doubling
	// Growth re-linearises a wrapped ring without losing bytes.
	model = model[r.Discard(3000):]
	write(3000, 4096)
	if _, tail := r.Peek(-1); tail == nil {
		t.Fatal("setup: ring should wrap")
	}
	write(1000, 8192)
	r.Reset()
}

func TestRingGrowthUsesPool(t *testing.T) {
	eventually(t, "growth takes its array from the pool", func() bool {
		p := new(Pool)
		pooled := p.Get(2048)
		p.Put(pooled)
		var r Ring
		r.Init(p, 0)
		defer r.Reset()
		r.Write(pattern(1500, 1))
		return arrayOf(r.Contiguous(-1)) == arrayOf(pooled)
	})
	eventually(t, "growth hands the old array to the pool", func() bool {
		p := new(Pool)
		var r Ring
		r.Init(p, 0)
		defer r.Reset()
		r.Write(pattern(100, 1))
		old := arrayOf(r.Contiguous(-1))
		r.Write(pattern(1000, 2))
		return arrayOf(p.Get(MinSize)) == old
	})
}

func TestRingLimit(t *testing.T) {
	var r Ring
	r.Init(new(Pool), 1000)
	defer r.Reset()
	if r.Limit() != 1000 {
		t.Fatalf("Limit() = %d", r.Limit())
	}
	a := pattern(600, 1)
	if n, err := r.Write(a); n != 600 || err != nil {
		t.Fatalf("Write(600): %d, %v", n, err)
	}
	capBefore := r.Cap()
	if n, err := r.Write(pattern(401, 2)); n != 0 || !errors.Is(err, ErrLimit) {
		t.Fatalf("Write past limit: %d, %v; want 0, ErrLimit", n, err)
	}
	if n, err := r.WriteString(string(pattern(401, 2))); n != 0 || !errors.Is(err, ErrLimit) {
		t.Fatalf("WriteString past limit: %d, %v; want 0, ErrLimit", n, err)
	}
	if r.Cap() != capBefore {
		t.Fatalf("a refused write grew the ring: Cap %d -> %d", capBefore, r.Cap())
	}
	checkContents(t, &r, a)
	b := pattern(400, 3)
	if n, err := r.Write(b); n != 400 || err != nil {
		t.Fatalf("Write up to the limit: %d, %v", n, err)
	}
	if n, err := r.WriteString("x"); n != 0 || err != ErrLimit {
		t.Fatalf("WriteString at the limit: %d, %v", n, err)
	}
	r.Discard(1)
	if n, err := r.WriteString("x"); n != 1 || err != nil {
		t.Fatalf("WriteString after Discard: %d, %v", n, err)
	}
	checkContents(t, &r, append(append(a[1:], b...), 'x'))
}

// wrapped returns a ring of power-of-two capacity c holding n model bytes,
// wrapped so that the first h of them lie at the end of the array.
func wrapped(t *testing.T, c, h, n int) (*Ring, []byte) {
	t.Helper()
	return wrappedLimit(t, c, h, n, 0)
}

// wrappedLimit is wrapped for a ring with the given limit; with limit = c
// and c not a power of two, the array is sized exactly to the limit.
func wrappedLimit(t *testing.T, c, h, n, limit int) (*Ring, []byte) {
	t.Helper()
	r := new(Ring)
	r.Init(new(Pool), limit)
	t.Cleanup(r.Reset)
	first := pattern(c-h+1, 0)
	r.Write(first)
	r.Discard(c - h) // keep the last byte, so the cursors are not reset
	model := append(first[c-h:], pattern(n-1, 5)...)
	r.Write(model[1:])
	if r.Cap() != c || r.Len() != n {
		t.Fatalf("setup: Cap %d Len %d, want %d %d", r.Cap(), r.Len(), c, n)
	}
	return r, model
}

func TestRingWrapAround(t *testing.T) {
	r, model := wrapped(t, 512, 212, 400)
	head, tail := r.Peek(-1)
	if len(head) != 212 || len(tail) != 188 {
		t.Fatalf("Peek(-1): head %d tail %d, want 212 188", len(head), len(tail))
	}
	if !bytes.Equal(append(head[:len(head):len(head)], tail...), model) {
		t.Fatal("Peek(-1) bytes differ")
	}
	if head, tail := r.Peek(100); len(head) != 100 || tail != nil {
		t.Fatalf("Peek(100): head %d tail %v, want 100 nil", len(head), tail)
	}
	if head, tail := r.Peek(250); len(head) != 212 || len(tail) != 38 {
		t.Fatalf("Peek(250): head %d tail %d, want 212 38", len(head), len(tail))
	}
	if b := r.Contiguous(212); !bytes.Equal(b, model[:212]) || arrayOf(b) != arrayOf(head) {
		t.Fatal("Contiguous of the unwrapped head should return it in place")
	}
}

func TestRingContiguous(t *testing.T) {
	for _, c := range []struct {
		name         string
		cap, head, n int
		inPlace      bool
	}{
		// Len+head = 612 > 512: into a fresh array of the same size.
		{"fresh array", 512, 212, 400, false},
		// Len+head = 324 <= 1024: the bytes are moved within the array.
		{"in place", 1024, 74, 250, true},
		{"in place, exact fit", 1024, 300, 724, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, model := wrapped(t, c.cap, c.head, c.n)
			before := arrayOf(r.buf)
			b := r.Contiguous(c.head + 10)
			if !bytes.Equal(b, model[:c.head+10]) {
				t.Fatal("Contiguous bytes differ")
			}
			if r.Cap() != c.cap {
				t.Fatalf("Cap %d, want %d", r.Cap(), c.cap)
			}
			if (arrayOf(b) == before) != c.inPlace {
				t.Fatalf("in place = %v, want %v", arrayOf(b) == before, c.inPlace)
			}
			if _, tail := r.Peek(-1); tail != nil {
				t.Fatal("ring still wraps after Contiguous")
			}
			checkContents(t, r, model)
		})
	}
}

func TestRingNext(t *testing.T) {
	r, model := wrapped(t, 512, 212, 400)
	if b, err := r.Next(401); b != nil || err != io.ErrShortBuffer {
		t.Fatalf("Next(401): %d bytes, %v; want io.ErrShortBuffer", len(b), err)
	}
	checkContents(t, r, model)
	b, err := r.Next(300) // wraps: re-linearised
	if err != nil || !bytes.Equal(b, model[:300]) {
		t.Fatalf("Next(300): %d bytes, %v", len(b), err)
	}
	checkContents(t, r, model[300:])
	b, err = r.Next(-1)
	if err != nil || !bytes.Equal(b, model[300:]) {
		t.Fatalf("Next(-1): %d bytes, %v", len(b), err)
	}
	checkContents(t, r, nil)
}

func TestRingDiscard(t *testing.T) {
	var r Ring
	r.Init(new(Pool), 0)
	defer r.Reset()
	model := pattern(500, 1)
	r.Write(model)
	for _, c := range []struct{ n, want int }{{10, 10}, {0, 0}, {100, 100}, {1000, 390}, {-1, 0}} {
		if got := r.Discard(c.n); got != c.want {
			t.Fatalf("Discard(%d) = %d, want %d", c.n, got, c.want)
		}
		model = model[c.want:]
		checkContents(t, &r, model)
	}
	// Emptied, the ring starts over at index 0: 500 more bytes do not wrap.
	r.Write(pattern(500, 2))
	if _, tail := r.Peek(-1); tail != nil {
		t.Fatal("writes after emptying the ring wrap: cursors were not reset")
	}
	if got := r.Discard(-1); got != 500 {
		t.Fatalf("Discard(-1) = %d, want 500", got)
	}
}

func TestRingRelease(t *testing.T) {
	eventually(t, "Release hands the array to the pool", func() bool {
		p := new(Pool)
		var r Ring
		r.Init(p, 0)
		r.Write(pattern(700, 1))
		arr := arrayOf(r.Contiguous(-1))
		r.Release() // not empty: keeps the array
		if r.Cap() != 1024 {
			t.Fatalf("Release of a non-empty ring: Cap %d, want 1024", r.Cap())
		}
		checkContents(t, &r, pattern(700, 1))
		r.Discard(-1)
		r.Release()
		if r.Cap() != 0 || r.Len() != 0 {
			t.Fatalf("after Release: Cap %d Len %d, want 0 0", r.Cap(), r.Len())
		}
		return arrayOf(p.Get(1024)) == arr
	})
	eventually(t, "Reset hands the array to the pool", func() bool {
		p := new(Pool)
		var r Ring
		r.Init(p, 0)
		r.Write(pattern(100, 1))
		arr := arrayOf(r.Contiguous(-1))
		r.Reset()
		if r.Cap() != 0 || r.Len() != 0 {
			t.Fatalf("after Reset: Cap %d Len %d, want 0 0", r.Cap(), r.Len())
		}
		return arrayOf(p.Get(MinSize)) == arr
	})
}

func TestRingInit(t *testing.T) {
	var r Ring
	r.Write(pattern(100, 1)) // Default pool
	r.Init(new(Pool), 50)
	if r.Len() != 0 || r.Cap() != 0 || r.Limit() != 50 {
		t.Fatalf("after Init: Len %d Cap %d Limit %d", r.Len(), r.Cap(), r.Limit())
	}
	if _, err := r.Write(pattern(51, 1)); err != ErrLimit {
		t.Fatalf("Write past new limit: %v", err)
	}
	r.Init(nil, -1)
	if _, err := r.Write(pattern(5000, 1)); err != nil {
		t.Fatalf("Write with no limit: %v", err)
	}
	r.Reset()
}

func TestRingWriteAliasing(t *testing.T) {
	// Writing the ring's own bytes back must survive the growth it causes.
	var r Ring
	r.Init(new(Pool), 0)
	defer r.Reset()
	model := pattern(MinSize, 9)
	r.Write(model)
	if _, err := r.Write(r.Contiguous(-1)); err != nil {
		t.Fatal(err)
	}
	checkContents(t, &r, append(model, model...))
}

func TestRingNoAllocs(t *testing.T) {
	var r Ring
	r.Init(new(Pool), 0)
	defer r.Reset()
	msg := pattern(300, 1)
	r.Write(msg) // warm: the array stays, since the ring is never released
	r.Discard(-1)
	n := testing.AllocsPerRun(1000, func() {
		r.Write(msg)
		r.Discard(1) // keeps the ring from emptying, so it wraps and re-linearises
		r.WriteString("abc")
		r.Next(r.Len())
	})
	if n != 0 {
		t.Fatalf("Write+Next: %v allocs/op, want 0", n)
	}
}

func TestRingGrowthCappedAtLimit(t *testing.T) {
	const limit = 4<<20 + 64<<10
	var r Ring
	r.Init(new(Pool), limit)
	defer r.Reset()
	var model []byte
	// Mixed sizes, so some growths land mid-class and the last one meets the
	// limit part-way through a power of two.
	for i := 0; len(model) < limit; i++ {
		p := pattern(min(1000+i*7919%300000, limit-len(model)), byte(i))
		if n, err := r.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write(%d) at Len %d: %d, %v", len(p), len(model), n, err)
		}
		model = append(model, p...)
		if r.Cap() > limit {
			t.Fatalf("Len %d: Cap %d is past the limit %d", r.Len(), r.Cap(), limit)
		}
	}
	if r.Cap() != limit {
		t.Fatalf("full ring: Cap %d, want exactly the limit %d", r.Cap(), limit)
	}
	if n, err := r.WriteString("x"); n != 0 || err != ErrLimit {
		t.Fatalf("Write at the limit: %d, %v", n, err)
	}
	checkContents(t, &r, model)
}

func TestRingGrowthBelowLimitStaysPooled(t *testing.T) {
	var r Ring
	r.Init(new(Pool), 3000)
	defer r.Reset()
	r.Write(pattern(600, 1))
	if r.Cap() != 1024 {
		t.Fatalf("600 bytes under a 3000 limit: Cap %d, want 1024 (a pool class)", r.Cap())
	}
	r.Write(pattern(1500, 2))
	if r.Cap() != 3000 {
		t.Fatalf("2100 bytes under a 3000 limit: Cap %d, want 3000 (not 4096)", r.Cap())
	}
	checkContents(t, &r, append(pattern(600, 1), pattern(1500, 2)...))
	// A limit below MinSize caps the very first array.
	var small Ring
	small.Init(new(Pool), 100)
	defer small.Reset()
	if n, err := small.WriteString("hi"); n != 2 || err != nil || small.Cap() != 100 {
		t.Fatalf("limit 100: %d, %v, Cap %d; want 2, nil, 100", n, err, small.Cap())
	}
}

func TestRingHugeLimitExact(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates about 200 MiB")
	}
	const limit = 100<<20 + 50
	var r Ring
	r.Init(new(Pool), limit)
	defer r.Reset()
	chunk := pattern(1<<20, 3)
	for r.Len() < limit {
		if _, err := r.Write(chunk[:min(len(chunk), limit-r.Len())]); err != nil {
			t.Fatalf("Write at Len %d: %v", r.Len(), err)
		}
	}
	if r.Cap() != limit {
		t.Fatalf("Cap %d, want exactly the limit %d (not %d)", r.Cap(), limit, 128<<20)
	}
	// Spot-check the order: each MiB holds the same pattern, the last 50
	// bytes its start.
	head, tail := r.Peek(-1)
	if tail != nil || !bytes.Equal(head[:len(chunk)], chunk) || !bytes.Equal(head[limit-50:], chunk[:50]) {
		t.Fatal("bytes out of order")
	}
}

func TestRingNonPowerOfTwoWrap(t *testing.T) {
	// 1500-byte array (the limit); 1000 bytes from index 1200: 300 at the
	// end, 700 at the start.
	r, model := wrappedLimit(t, 1500, 300, 1000, 1500)
	if head, tail := r.Peek(-1); len(head) != 300 || len(tail) != 700 ||
		!bytes.Equal(append(head[:300:300], tail...), model) {
		t.Fatalf("Peek(-1): head %d tail %d, want 300 700 in order", len(head), len(tail))
	}
	if head, tail := r.Peek(310); len(head) != 300 || len(tail) != 10 {
		t.Fatalf("Peek(310): head %d tail %d", len(head), len(tail))
	}
	// Discard across the end of the array lands inside it.
	if r.Discard(400) != 400 {
		t.Fatal("Discard(400)")
	}
	model = model[400:]
	checkContents(t, r, model)
	if head, tail := r.Peek(-1); tail != nil || arrayOf(head) != arrayOf(r.buf[100:]) {
		t.Fatal("after Discard(400) the bytes should start at index 100 unwrapped")
	}
	// Writing 850 more wraps the write position: [700, 1500) then [0, 50).
	more := pattern(850, 9)
	r.Write(more)
	model = append(model, more...)
	checkContents(t, r, model)
	if r.Cap() != 1500 {
		t.Fatalf("Cap %d, want 1500", r.Cap())
	}
}

func TestRingDiscardToArrayEnd(t *testing.T) {
	// 1000 bytes from index 1200 of 1500: discarding the 300 at the end
	// leaves the rest at index 0, not at index 1500.
	r, model := wrappedLimit(t, 1500, 300, 1000, 1500)
	r.Discard(300)
	head, tail := r.Peek(-1)
	if len(head) != 700 || tail != nil || arrayOf(head) != arrayOf(r.buf) {
		t.Fatalf("Peek(-1): head %d tail %v, want 700 bytes from index 0", len(head), tail)
	}
	checkContents(t, r, model[300:])
}

func TestRingContiguousLimitSized(t *testing.T) {
	for _, c := range []struct {
		name    string
		h, n    int
		inPlace bool // no scratch needed: Len+head <= Cap
	}{
		{"free space allows", 200, 900, true},
		{"head shorter", 300, 1400, false},
		{"tail shorter", 1300, 1450, false},
		{"full", 700, 1500, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, model := wrappedLimit(t, 1500, c.h, c.n, 1500)
			before := arrayOf(r.buf)
			if b := r.Contiguous(c.h + 1); !bytes.Equal(b, model[:c.h+1]) {
				t.Fatal("Contiguous bytes differ")
			}
			// Rotated in place either way: an array sized to the limit is
			// never swapped for a made one.
			if r.Cap() != 1500 || arrayOf(r.buf) != before {
				t.Fatalf("Cap %d, same array %v; want 1500, true", r.Cap(), arrayOf(r.buf) == before)
			}
			if _, tail := r.Peek(-1); tail != nil {
				t.Fatal("ring still wraps after Contiguous")
			}
			checkContents(t, r, model)
			// Next works from the re-linearised ring.
			if b, err := r.Next(c.n); err != nil || !bytes.Equal(b, model) {
				t.Fatalf("Next(%d): %v or bytes differ", c.n, err)
			}
		})
	}
}

func TestRingContiguousLimitSizedNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops Puts under -race")
	}
	r, _ := wrappedLimit(t, 1500, 300, 1400, 1500)
	msg := pattern(1100, 4)
	n := testing.AllocsPerRun(200, func() {
		r.Discard(r.Len() - 300) // 300 left, from index 1100 once linear
		r.Write(msg)             // wraps: 400 at the end, 1000 at the start
		r.Contiguous(-1)         // 1400+400 > 1500: rotated through the scratch
	})
	if n != 0 {
		t.Fatalf("Contiguous on a limit-sized array: %v allocs/op, want 0", n)
	}
}

func TestRingSetLimit(t *testing.T) {
	var r Ring
	r.Init(new(Pool), 0)
	defer r.Reset()
	model := pattern(1000, 1)
	r.Write(model)
	r.SetLimit(500)
	if r.Limit() != 500 || r.Cap() != 1024 {
		t.Fatalf("SetLimit(500) with 1000 held: Limit %d Cap %d; want 500 1024", r.Limit(), r.Cap())
	}
	checkContents(t, &r, model) // nothing dropped
	if n, err := r.WriteString("x"); n != 0 || err != ErrLimit {
		t.Fatalf("Write above the limit: %d, %v", n, err)
	}
	if n, err := r.Write(nil); n != 0 || err != nil {
		t.Fatalf("empty Write above the limit: %d, %v; want 0, nil", n, err)
	}
	if a, b := r.Free(-1); a != nil || b != nil {
		t.Fatalf("Free above the limit offered %d+%d bytes", len(a), len(b))
	}
	model = model[r.Discard(500):] // at the limit: still full
	if a, b := r.Free(-1); a != nil || b != nil {
		t.Fatalf("Free at the limit offered %d+%d bytes", len(a), len(b))
	}
	model = model[r.Discard(1):]
	a, b := r.Free(-1) // 525 free, but the limit leaves room for 1
	if len(a)+len(b) != 1 || r.Cap() != 1024 {
		t.Fatalf("Free one below the limit: %d+%d bytes, Cap %d; want 1, 1024", len(a), len(b), r.Cap())
	}
	r.Commit(fill(a, b, []byte("a")))
	model = append(model, 'a')
	checkContents(t, &r, model)
	// Raised: growth resumes, capped at the new limit.
	r.SetLimit(3000)
	more := pattern(2000, 2)
	if n, err := r.Write(more); n != 2000 || err != nil || r.Cap() != 3000 {
		t.Fatalf("Write after raising the limit: %d, %v, Cap %d; want 2000, nil, 3000", n, err, r.Cap())
	}
	model = append(model, more...)
	checkContents(t, &r, model)
	// Non-empty: a lower limit keeps the array; empty: it is released.
	r.SetLimit(1000)
	if r.Cap() != 3000 {
		t.Fatalf("SetLimit(1000) with bytes held: Cap %d, want 3000", r.Cap())
	}
	r.Discard(-1)
	r.SetLimit(2999)
	if r.Cap() != 0 {
		t.Fatalf("SetLimit below Cap on an empty ring: Cap %d, want 0", r.Cap())
	}
	r.Write(pattern(100, 3))
	r.Discard(-1)
	r.SetLimit(0) // no limit: nothing to release
	if r.Cap() != MinSize || r.Limit() != 0 {
		t.Fatalf("SetLimit(0): Cap %d Limit %d; want %d 0", r.Cap(), r.Limit(), MinSize)
	}
}
