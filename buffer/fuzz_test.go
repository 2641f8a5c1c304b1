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

// limit returns no limit half the time, otherwise a small one.
func (in *fuzzInput) limit() int {
	if b := in.byte(); b&1 == 0 {
		return 0
	}
	return 1 + in.u16()%4096
}

// FuzzRing runs a decoded sequence of operations on a Ring and on a plain
// []byte model, with a socketpair behind ReadFd and WriteFd, and checks every
// result, every byte and the size invariants after each operation.
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

	f.Fuzz(func(t *testing.T, data []byte) {
		fds := socketpair(t)
		in := fuzzInput(data)
		pool := new(Pool)
		var r Ring
		r.Init(pool, in.limit())
		defer r.Reset()
		var model, queued []byte // bytes in the ring; bytes sent to fds[0]
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
				if r.Limit() > 0 && len(model)+len(p) > r.Limit() {
					if n != 0 || err != ErrLimit || r.Cap() != cap0 {
						t.Fatalf("step %d: write of %d past limit: %d, %v, Cap %d -> %d", step, len(p), n, err, cap0, r.Cap())
					}
					break
				}
				if n != len(p) || err != nil {
					t.Fatalf("step %d: write of %d: %d, %v", step, len(p), n, err)
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
				want := cap0
				if len(model) == 0 {
					want = 0
				}
				if r.Cap() != want {
					t.Fatalf("step %d: Release with Len %d: Cap %d, want %d", step, len(model), r.Cap(), want)
				}
			case opReset:
				r.Reset()
				model = model[:0]
			case opInit:
				r.Init(pool, in.limit())
				model = model[:0]
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
				wantN, wantCap := expectRead(&r, len(queued))
				n, err := r.ReadFd(fds[0])
				switch {
				case r.Limit() > 0 && len(model) >= r.Limit():
					if n != 0 || err != ErrLimit {
						t.Fatalf("step %d: ReadFd at limit: %d, %v", step, n, err)
					}
				case len(queued) == 0:
					if n != 0 || !errors.Is(err, unix.EAGAIN) {
						t.Fatalf("step %d: ReadFd of nothing: %d, %v", step, n, err)
					}
				default:
					if n != wantN || err != nil || r.Cap() != wantCap {
						t.Fatalf("step %d: ReadFd: %d, %v, Cap %d; want %d, nil, %d", step, n, err, r.Cap(), wantN, wantCap)
					}
					model = append(model, queued[:n]...)
					queued = queued[n:]
				}
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
		capacity = roundUp(r.Len() + min(max(capacity, MinSize), room))
	}
	return min(queued, capacity-r.Len(), room), capacity
}

func checkInvariants(t *testing.T, step int, r *Ring, model []byte) {
	t.Helper()
	c := r.Cap()
	if c != 0 && (c < MinSize || c&(c-1) != 0) {
		t.Fatalf("step %d: Cap %d is not 0 or a power of two >= MinSize", step, c)
	}
	if r.Len() > c || r.Limit() > 0 && r.Len() > r.Limit() {
		t.Fatalf("step %d: Len %d, Cap %d, Limit %d", step, r.Len(), c, r.Limit())
	}
	if r.Len() != len(model) {
		t.Fatalf("step %d: Len %d, model %d", step, r.Len(), len(model))
	}
	head, tail := r.Peek(-1)
	if !bytes.Equal(head, model[:len(head)]) || !bytes.Equal(tail, model[len(head):]) {
		t.Fatalf("step %d: contents differ from the model", step)
	}
}
