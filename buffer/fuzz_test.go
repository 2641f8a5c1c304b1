package buffer

import (
	"bytes"
	"io"
	"math"
	"testing"
)

// Operations FuzzRing decodes from its input, one byte each plus arguments.
const (
	opWrite = iota
	opWriteString
	opPeek
	opContiguous
	opNext
	opDiscard
	opRelease
	opReset
	opInit
	opDrain // was opWriteFd: the corpus keeps its numbers
	opFill  // was opReadFd
	opSetLimit
	numOps
)

// maxSteps bounds the operations run per fuzz input.
const maxSteps = 200

// drainMax is the most one opDrain takes, like a socket with that much room
// left, so drains are sometimes partial and stop inside a wrapped ring.
const drainMax = 1000

// fuzzInput hands out the fuzz input a byte at a time, then zeros.
type fuzzInput []byte

func (in *fuzzInput) byte() byte {
	if len(*in) == 0 {
		return 0
	}
	b := (*in)[0]
	*in = (*in)[1:]
	return b
}

func (in *fuzzInput) u16() int { return int(in.byte())<<8 | int(in.byte()) }

// count returns a byte count in [-100, 3400): negative means "all".
func (in *fuzzInput) count() int { return in.u16()%3500 - 100 }

// limit returns no limit half the time, otherwise a small one, mostly not a
// power of two, so growth meets the cap at the limit.
func (in *fuzzInput) limit() int {
	if b := in.byte(); b&1 == 0 {
		return 0
	}
	return 1 + in.u16()%4096
}

// FuzzRing runs a decoded sequence of operations on a Ring and on a plain
// []byte model, filling the ring through Free and Commit and draining it
// through Peek and Discard as package loop's readv and writev do, and checks
// every result, every byte, the exact capacity and the size invariants after
// each operation.
func FuzzRing(f *testing.F) {
	f.Add([]byte{0})
	// Write 400, Discard 300, Write 300 (wraps), Contiguous all, Next 50.
	f.Add([]byte{0, opWrite, 1, 144, opDiscard, 1, 144, opWrite, 1, 44, opContiguous, 0xff, 0xff, opNext, 0, 150})
	// With limit 1000: Write up to it, Write past it, fill at the limit
	// (offered nothing), drain, Release, Discard, Release, Reset.
	f.Add([]byte{1, 3, 231, opWrite, 3, 232, opWrite, 2, 0, opFill, 8, 0, opDrain, opRelease, opDiscard, 0, 0, opRelease, opReset})
	// Fill free space that wraps; a partial drain across the wrap; Init
	// with limit 201, and a fill grows to exactly it.
	f.Add([]byte{0, opWrite, 3, 132, opDiscard, 3, 32, opFill, 4, 0, opDrain, opInit, 1, 0, 200, opFill, 1, 0})
	// Peeks of every kind around a wrap.
	f.Add([]byte{0, opWrite, 1, 244, opDiscard, 1, 144, opWriteString, 1, 144, opPeek, 0, 10, opPeek, 0, 200, opPeek, 1, 50, opPeek, 0, 0})
	// Limit 1500: grow to 512, then to exactly 1500; wrap and re-linearise
	// the 1500-byte array in place both ways (head shorter, then tail).
	f.Add([]byte{1, 5, 219, opWrite, 1, 144, opWrite, 3, 132, opDiscard, 4, 176, opWrite, 3, 232, opContiguous, 0xff, 0xff,
		opDiscard, 1, 44, opWrite, 1, 194, opNext, 0, 99})
	// Wrapped fill and drain on a 1500-byte array.
	f.Add([]byte{1, 5, 219, opWrite, 5, 120, opDiscard, 5, 20, opFill, 5, 220, opDrain})
	// No limit, 1000 held; SetLimit(500): writes refused, fills offered
	// nothing; drain below it, write; raise to 3001 and grow to it; empty,
	// SetLimit(100) releases; a fill of nothing grows to exactly 100.
	f.Add([]byte{0, opWrite, 3, 232, opSetLimit, 1, 1, 243, opWrite, 0, 1, opFill, 0, 10, opDiscard, 2, 188, opWrite, 0, 1,
		opSetLimit, 1, 11, 183, opWrite, 7, 208, opDiscard, 0xff, 0xff, opSetLimit, 1, 0, 99, opRelease, opFill, 0, 0})
	// Free(most): 12 free, Free(12) does not grow, Free(100) does; 100
	// held at [900, 1000) of 1024, Free(30) wraps (24+6); an unbounded
	// fill of 255; drain.
	f.Add([]byte{0, opWrite, 1, 244, opFill, 0x80, 12, opFill, 0x80, 100, opDiscard, 0xff, 0xff, opWrite, 3, 232,
		opDiscard, 3, 232, opFill, 0x80, 30, opFill, 0, 0xff, opDrain})

	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput(data)
		pool := new(Pool)
		var r Ring
		r.Init(pool, in.limit())
		defer r.Reset()
		var model []byte // bytes in the ring
		wantCap := 0     // the array size the ring should have
		seq := byte(0)
		// At most maxSteps operations keep one input's run short: the model
		// is re-checked in full after each.
		for step := 0; len(in) > 0 && step < maxSteps; step++ {
			op := in.byte() % numOps
			cap0 := r.Cap()
			switch op {
			case opWrite, opWriteString:
				p := pattern(in.u16()%3000, seq)
				seq++
				var n int
				var err error
				if op == opWrite {
					n, err = r.Write(p)
				} else {
					n, err = r.WriteString(string(p))
				}
				if len(p) > 0 && r.Limit() > 0 && len(model)+len(p) > r.Limit() {
					if n != 0 || err != ErrLimit {
						t.Fatalf("step %d: write of %d past limit: %d, %v", step, len(p), n, err)
					}
					break
				}
				if n != len(p) || err != nil {
					t.Fatalf("step %d: write of %d: %d, %v", step, len(p), n, err)
				}
				if len(p) > wantCap-len(model) {
					wantCap = modelGrow(len(model), len(p), r.Limit())
				}
				model = append(model, p...)
			case opPeek:
				n := in.count()
				want := model[:clampModel(n, model)]
				head, tail := r.Peek(n)
				if !bytes.Equal(append(append([]byte{}, head...), tail...), want) {
					t.Fatalf("step %d: Peek(%d) bytes differ", step, n)
				}
				if (len(want) == 0) != (head == nil) || tail != nil && (len(head) == 0 || len(tail) == 0) {
					t.Fatalf("step %d: Peek(%d) = %d+%d bytes, nil head %v, nil tail %v", step, n, len(head), len(tail), head == nil, tail == nil)
				}
			case opContiguous:
				n := in.count()
				if b := r.Contiguous(n); !bytes.Equal(b, model[:clampModel(n, model)]) {
					t.Fatalf("step %d: Contiguous(%d) bytes differ", step, n)
				}
				if r.Cap() != cap0 {
					t.Fatalf("step %d: Contiguous changed Cap %d -> %d", step, cap0, r.Cap())
				}
			case opNext:
				n := in.count()
				b, err := r.Next(n)
				if n > len(model) {
					if b != nil || err != io.ErrShortBuffer {
						t.Fatalf("step %d: Next(%d) of %d: %d bytes, %v", step, n, len(model), len(b), err)
					}
					break
				}
				k := clampModel(n, model)
				if err != nil || !bytes.Equal(b, model[:k]) {
					t.Fatalf("step %d: Next(%d): %v or bytes differ", step, n, err)
				}
				model = model[k:]
			case opDiscard:
				n := in.count()
				k := clampModel(n, model)
				if got := r.Discard(n); got != k {
					t.Fatalf("step %d: Discard(%d) = %d, want %d", step, n, got, k)
				}
				model = model[k:]
			case opRelease:
				r.Release()
				if len(model) == 0 {
					wantCap = 0
				}
			case opReset:
				r.Reset()
				model = model[:0]
				wantCap = 0
			case opInit:
				r.Init(pool, in.limit())
				model = model[:0]
				wantCap = 0
			case opSetLimit:
				n := in.limit()
				r.SetLimit(n)
				if r.Limit() != n {
					t.Fatalf("step %d: SetLimit(%d): Limit %d", step, n, r.Limit())
				}
				if len(model) == 0 && n > 0 && wantCap > n {
					wantCap = 0 // released: the array is larger than the limit
				}
			case opDrain:
				// One writev of what a socket with drainMax bytes of room
				// takes, then Discard of the count.
				head, tail := r.Peek(-1)
				var sink [drainMax]byte
				n := copyHalves(sink[:], nil, head, tail)
				if n != min(len(model), drainMax) || !bytes.Equal(sink[:n], model[:n]) {
					t.Fatalf("step %d: drain of %d: %d bytes or they differ", step, len(model), n)
				}
				if got := r.Discard(n); got != n {
					t.Fatalf("step %d: Discard(%d) after a drain = %d", step, n, got)
				}
				model = model[n:]
			case opFill:
				// A reader with len(p) bytes: into Free(-1) when the top bit
				// is clear, committing what fits, else into Free(len(p)).
				v := in.u16()
				p := pattern((v&0x7fff)%4000, seq)
				seq++
				most := -1
				if v&0x8000 != 0 {
					most = len(p)
				}
				wantOffer, freeCap := expectFree(&r, most)
				a, b := r.Free(most)
				if r.Cap() != freeCap || len(a)+len(b) != wantOffer || (wantOffer == 0) != (a == nil) ||
					b != nil && (len(a) == 0 || len(b) == 0) || cap(a) != len(a) || cap(b) != len(b) {
					t.Fatalf("step %d: Free(%d): %d+%d bytes (cap %d+%d), Cap %d; want %d bytes, Cap %d",
						step, most, len(a), len(b), cap(a), cap(b), r.Cap(), wantOffer, freeCap)
				}
				wantCap = freeCap
				n := fill(a, b, p)
				r.Commit(n)
				model = append(model, p[:n]...)
			}
			if r.Cap() != wantCap {
				t.Fatalf("step %d: op %d: Cap %d -> %d, want %d", step, op, cap0, r.Cap(), wantCap)
			}
			// The array only grows to what the current limit allows; it
			// exceeds the limit only if SetLimit lowered it since.
			if c := r.Cap(); c != cap0 && r.Limit() > 0 && c > r.Limit() {
				t.Fatalf("step %d: op %d: grew to Cap %d past Limit %d", step, op, c, r.Limit())
			}
			checkInvariants(t, step, &r, model)
		}
	})
}

// clampModel is the number of bytes an argument n selects from model.
func clampModel(n int, model []byte) int {
	if n < 0 || n > len(model) {
		return len(model)
	}
	return n
}

// modelGrow is the array size a ring holding held bytes grows to for need
// more: the power of two that fits them, never below MinSize, unless it
// would pass a limit (> 0), when exactly the limit.
func modelGrow(held, need, limit int) int {
	size := MinSize
	for size < held+need {
		size *= 2
	}
	if limit > 0 && size > limit {
		return limit
	}
	return size
}

// expectFree predicts what Free(most) offers and the capacity it leaves,
// from the ring's length, capacity and limit alone.
func expectFree(r *Ring, most int) (offer, capacity int) {
	room := math.MaxInt
	if r.Limit() > 0 {
		room = r.Limit() - r.Len()
	}
	if most >= 0 {
		room = min(room, most)
	}
	capacity = r.Cap()
	if room <= 0 {
		return 0, capacity
	}
	if free := capacity - r.Len(); free < MinSize && room > free {
		capacity = modelGrow(r.Len(), min(max(capacity, MinSize), room), r.Limit())
	}
	return min(capacity-r.Len(), room), capacity
}

func checkInvariants(t *testing.T, step int, r *Ring, model []byte) {
	t.Helper()
	c := r.Cap()
	if r.Len() > c {
		t.Fatalf("step %d: Len %d, Cap %d", step, r.Len(), c)
	}
	if r.Len() != len(model) {
		t.Fatalf("step %d: Len %d, model %d", step, r.Len(), len(model))
	}
	head, tail := r.Peek(-1)
	if !bytes.Equal(head, model[:len(head)]) || !bytes.Equal(tail, model[len(head):]) {
		t.Fatalf("step %d: contents differ from the model", step)
	}
}
