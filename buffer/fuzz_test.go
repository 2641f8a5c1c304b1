package buffer

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"golang.org/x/sys/unix"
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
	opWriteFd
	opReadFd
	opSetLimit
	numOps
)

// maxSteps bounds the operations run per fuzz input.
const maxSteps = 200

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
// []byte model, with a socketpair behind ReadFd and WriteFd, and checks every
// result, every byte, the exact capacity and the size invariants after each
// operation.
func FuzzRing(f *testing.F) {
	f.Add([]byte{0})
	// Write 400, Discard 300, Write 300 (wraps), Contiguous all, Next 50.
	f.Add([]byte{0, opWrite, 1, 144, opDiscard, 1, 144, opWrite, 1, 44, opContiguous, 0xff, 0xff, opNext, 0, 150})
	// With limit 1000: Write past it, ReadFd, WriteFd, Release, Reset.
	f.Add([]byte{1, 3, 231, opWrite, 3, 232, opWrite, 2, 0, opReadFd, 8, 0, opWriteFd, opRelease, opDiscard, 0, 0, opRelease, opReset})
	// Wrapped readv and writev.
	f.Add([]byte{0, opWrite, 3, 132, opDiscard, 3, 32, opReadFd, 4, 0, opWriteFd, opInit, 1, 0, 200, opReadFd, 1, 0})
	// Peeks of every kind around a wrap.
	f.Add([]byte{0, opWrite, 1, 244, opDiscard, 1, 144, opWriteString, 1, 144, opPeek, 0, 10, opPeek, 0, 200, opPeek, 1, 50, opPeek, 0, 0})
	// Limit 1500: grow to 512, then to exactly 1500; wrap and re-linearise
	// the 1500-byte array in place both ways (head shorter, then tail).
	f.Add([]byte{1, 5, 219, opWrite, 1, 144, opWrite, 3, 132, opDiscard, 4, 176, opWrite, 3, 232, opContiguous, 0xff, 0xff,
		opDiscard, 1, 44, opWrite, 1, 194, opNext, 0, 99})
	// Wrapped readv and writev on a 1500-byte array.
	f.Add([]byte{1, 5, 219, opWrite, 5, 120, opDiscard, 5, 20, opReadFd, 5, 220, opWriteFd})
	// No limit, 1000 held; SetLimit(500): writes and reads refused; drain
	// below it, write; raise to 3001 and grow to it; empty, SetLimit(100)
	// releases; ReadFd grows to exactly 100.
	f.Add([]byte{0, opWrite, 3, 232, opSetLimit, 1, 1, 243, opWrite, 0, 1, opReadFd, 0, 10, opDiscard, 2, 188, opWrite, 0, 1,
		opSetLimit, 1, 11, 183, opWrite, 7, 208, opDiscard, 0xff, 0xff, opSetLimit, 1, 0, 99, opRelease, opReadFd, 0, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		fds := socketpair(t)
		in := fuzzInput(data)
		pool := new(Pool)
		var r Ring
		r.Init(pool, in.limit())
		defer r.Reset()
		var model, queued []byte // bytes in the ring; bytes sent to fds[0]
		wantCap := 0             // the array size the ring should have
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
			case opWriteFd:
				n, err := r.WriteFd(fds[0])
				if err != nil || (n == 0) != (len(model) == 0) || n > len(model) {
					t.Fatalf("step %d: WriteFd of %d: %d, %v", step, len(model), n, err)
				}
				if got := readN(t, fds[1], n); !bytes.Equal(got, model[:n]) {
					t.Fatalf("step %d: WriteFd sent different bytes", step)
				}
				model = model[n:]
			case opReadFd:
				p := pattern(in.u16()%4000, seq)
				seq++
				if len(p) > 0 {
					n, err := unix.Write(fds[1], p)
					if err != nil && err != unix.EAGAIN {
						t.Fatalf("step %d: feeding ReadFd: %v", step, err)
					}
					queued = append(queued, p[:max(n, 0)]...)
				}
				wantN, readCap := expectRead(&r, len(queued))
				n, err := r.ReadFd(fds[0])
				switch {
				case r.Limit() > 0 && len(model) >= r.Limit():
					if n != 0 || err != ErrLimit {
						t.Fatalf("step %d: ReadFd at limit: %d, %v", step, n, err)
					}
				case len(queued) == 0:
					// The ring grows before it learns there is nothing.
					if n != 0 || !errors.Is(err, unix.EAGAIN) {
						t.Fatalf("step %d: ReadFd of nothing: %d, %v", step, n, err)
					}
					wantCap = readCap
				default:
					if n != wantN || err != nil || r.Cap() != readCap {
						t.Fatalf("step %d: ReadFd: %d, %v, Cap %d; want %d, nil, %d", step, n, err, r.Cap(), wantN, readCap)
					}
					wantCap = readCap
					model = append(model, queued[:n]...)
					queued = queued[n:]
				}
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

// expectRead predicts what ReadFd does with queued bytes waiting: how many
// it reads and the capacity it leaves. AF_UNIX stream reads on Linux return
// everything queued that fits.
func expectRead(r *Ring, queued int) (n, capacity int) {
	room := 1 << 62
	if r.Limit() > 0 {
		room = r.Limit() - r.Len()
	}
	capacity = r.Cap()
	if free := capacity - r.Len(); free < MinSize && room > free {
		capacity = modelGrow(r.Len(), min(max(capacity, MinSize), room), r.Limit())
	}
	return min(queued, capacity-r.Len(), room), capacity
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
