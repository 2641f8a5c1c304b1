package buffer

import (
	"errors"
	"io"
)

// ErrLimit is returned by Write and WriteString when the bytes would take a
// Ring past its limit. Nothing was written. (Free instead offers only the
// space the limit leaves, none when the ring holds its limit or more.)
var ErrLimit = errors.New("buffer: limit reached")

// Ring is a byte FIFO over an array that grows on demand up to a limit on the
// number of bytes held. Below the limit the array is a power of two from its
// Pool; when the next power of two would pass the limit, the ring grows to
// exactly the limit instead, with an array made for it (the pool has no such
// size class), so a 4 MiB + 64 KiB limit costs at most that much, not 8 MiB.
// Release and Reset hand a pooled array back to the pool, so an idle
// connection holds no buffer memory.
//
// The zero value is an empty Ring that uses Default and has no limit. A Ring
// is not safe for concurrent use: one goroutine (the connection's loop) owns
// it. It must not be copied after first use, since both copies would own,
// and eventually release, the same array.
type Ring struct {
	_     noCopy // zero-size, so first (a trailing one would be padded)
	buf   []byte // nil when released; any length (see grow)
	start int    // index of the first readable byte: in [0, len(buf)), 0 when empty
	used  int    // readable bytes, from start on, wrapping at len(buf)
	limit int    // most bytes held at once; <= 0: no limit
	pool  *Pool  // nil: Default
}

// Init drops any bytes held, releases the array and sets the pool (nil:
// Default) and the limit on bytes held (<= 0: no limit). It may be called on
// a zero Ring, and on the owning goroutine only.
func (r *Ring) Init(pool *Pool, limit int) {
	r.Reset()
	r.pool = pool
	r.limit = limit
}

// Len returns the number of readable bytes. Owning goroutine only.
func (r *Ring) Len() int { return r.used }

// Cap returns the size of the current array: 0 when released. Owning
// goroutine only.
func (r *Ring) Cap() int { return len(r.buf) }

// Limit returns the most bytes the ring may hold; <= 0 means no limit. Owning
// goroutine only.
func (r *Ring) Limit() int { return r.limit }

// SetLimit changes the most bytes the ring may hold to n (<= 0: no limit)
// without dropping any. If Len is already at or above n, the bytes stay
// readable, but Write and WriteString of any bytes return ErrLimit and Free
// offers nothing until enough of them are consumed. An empty ring whose
// array is larger than n releases it, as Release does, so it does not hold
// more memory than the new limit; a non-empty one keeps its array until it
// is drained and released (it never grows while Cap exceeds the limit,
// since the limit then binds first). Owning goroutine only.
func (r *Ring) SetLimit(n int) {
	r.limit = n
	if n > 0 && len(r.buf) > n {
		r.Release()
	}
}

// Peek returns the first n readable bytes (all of them if n < 0 or n > Len)
// without copying, as head followed by tail. tail is nil unless the bytes
// wrap around the end of the array. The slices are valid until the next call
// that changes the ring. Owning goroutine only.
func (r *Ring) Peek(n int) (head, tail []byte) {
	n = r.clamp(n)
	if n == 0 {
		return nil, nil
	}
	ri := r.start
	if ri+n <= len(r.buf) {
		return r.buf[ri : ri+n : ri+n], nil
	}
	t := ri + n - len(r.buf)
	return r.buf[ri:len(r.buf):len(r.buf)], r.buf[:t:t]
}

// Contiguous returns the first n readable bytes (all of them if n < 0 or
// n > Len) as one slice. It copies only when they wrap around the end of the
// array, re-linearising all readable bytes in place if the free space allows,
// or else into a fresh array of the same size from the pool; an array sized to
// a limit, which is no pool size, is instead rotated in place through a
// pooled scratch copy of the shorter part. Cap does not change. The slice is
// valid until the next call that changes the ring. Owning goroutine only.
func (r *Ring) Contiguous(n int) []byte {
	head, tail := r.Peek(n)
	if tail == nil {
		return head
	}
	r.linearise()
	n = len(head) + len(tail)
	return r.buf[:n:n]
}

// Discard drops up to n readable bytes (all of them if n < 0) and returns how
// many it dropped. Owning goroutine only.
func (r *Ring) Discard(n int) int {
	n = r.clamp(n)
	r.used -= n
	if r.used == 0 {
		// Empty: start over at index 0 so the next writes do not wrap.
		r.start = 0
		return n
	}
	r.start = r.wrap(r.start + n)
	return n
}

// Next returns the first n readable bytes (all of them if n < 0) as one slice
// and consumes them, as Contiguous(n) then Discard(n). If n > Len it returns
// io.ErrShortBuffer and consumes nothing. The slice is valid until the next
// call that writes to, releases or resets the ring. Owning goroutine only.
func (r *Ring) Next(n int) ([]byte, error) {
	if n > r.Len() {
		return nil, io.ErrShortBuffer
	}
	b := r.Contiguous(n)
	r.Discard(len(b))
	return b, nil
}

// Write appends all of p, growing the array as needed (see Ring). If that
// would take Len past the limit it returns 0, ErrLimit and writes nothing; an
// empty p always succeeds. Owning goroutine only.
func (r *Ring) Write(p []byte) (int, error) { return appendRing(r, p) }

// WriteString is Write for a string, without converting it to a []byte
// first. Owning goroutine only.
func (r *Ring) WriteString(s string) (int, error) { return appendRing(r, s) }

// appendRing is Write and WriteString.
func appendRing[T []byte | string](r *Ring, p T) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.limit > 0 && len(p) > r.limit-r.Len() {
		return 0, ErrLimit
	}
	var old []byte
	if len(p) > r.free() {
		old = r.grow(len(p))
	}
	wi := r.end()
	k := copy(r.buf[wi:], p)
	copy(r.buf, p[k:])
	r.used += len(p)
	// Only now, in case p pointed into the old array.
	r.putArray(old)
	return len(p), nil
}

// Release gives the array back to the pool if the ring is empty, so Cap
// becomes 0; otherwise it does nothing. (The pool keeps only power-of-two
// arrays; one sized to the limit is left to the garbage collector.) Owning
// goroutine only.
func (r *Ring) Release() {
	if r.used == 0 {
		r.putArray(r.buf)
		r.buf = nil
		r.start = 0
	}
}

// Reset drops all readable bytes and gives the array back to the pool, as
// Release. Owning goroutine only.
func (r *Ring) Reset() {
	r.start, r.used = 0, 0
	r.Release()
}

// clamp maps n to the number of readable bytes it selects.
func (r *Ring) clamp(n int) int {
	if l := r.Len(); n < 0 || n > l {
		return l
	}
	return n
}

// wrap maps i in [0, 2*len(buf)) into the array. One compare and subtract
// does it, where a division would be needed for a general modulus; every
// caller adds at most len(buf) to an index already in range.
func (r *Ring) wrap(i int) int {
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	return i
}

// end returns the index just past the readable bytes: where the next write
// goes.
func (r *Ring) end() int { return r.wrap(r.start + r.used) }

// free returns how many bytes fit before the array must grow.
func (r *Ring) free() int { return len(r.buf) - r.used }

// growSize returns the array size that holds Len+need bytes: the power of
// two above it, as the pool hands out, unless that would pass the limit,
// when it is the limit itself. Callers check the limit first, so Len+need
// never exceeds it; the max is only a safeguard.
func (r *Ring) growSize(need int) int {
	want := r.used + need
	size := roundUp(want)
	if r.limit > 0 && size > r.limit {
		size = max(r.limit, want)
	}
	return size
}

// grow moves the readable bytes to the start of an array of growSize(need)
// bytes and returns the old array, which the caller must hand to putArray
// once it no longer reads from it.
func (r *Ring) grow(need int) (old []byte) {
	return r.moveTo(r.newArray(r.growSize(need)))
}

// moveTo copies the readable bytes to the start of b, makes b the array and
// returns the old one.
func (r *Ring) moveTo(b []byte) (old []byte) {
	head, tail := r.Peek(-1)
	copy(b[copy(b, head):], tail)
	old = r.buf
	r.buf, r.start = b, 0
	return old
}

// newArray returns an array of exactly size bytes: through the pool when
// Get returns that size, otherwise made (Get would round it up).
func (r *Ring) newArray(size int) []byte {
	if roundUp(size) == size {
		return r.getPool().Get(size)
	}
	return make([]byte, size)
}

// linearise moves the wrapped readable bytes to the start of the array. With
// head = bytes up to the array's end and tail = bytes from its start, it can
// be done in place when Len+len(head) <= Cap: the tail slides right by
// len(head), ending before head begins, and head then fills the gap.
// Otherwise a pool-sized array is swapped for a fresh one of the same size,
// which costs the pool nothing in steady state. An array sized to a limit
// has no pooled twin, and making one per call would churn limit-sized
// garbage, so it is rotated in place instead: the shorter part is saved in
// a pooled scratch slice, the longer one moved to its final place, and the
// shorter one copied back.
func (r *Ring) linearise() {
	head, tail := r.Peek(-1)
	h, t := len(head), len(tail)
	switch {
	case r.used+h <= len(r.buf):
		copy(r.buf[h:], tail)
		copy(r.buf, head)
	case roundUp(len(r.buf)) == len(r.buf):
		r.putArray(r.moveTo(r.getPool().Get(len(r.buf))))
		return
	default:
		pool := r.getPool()
		s := pool.Get(min(h, t))
		if t <= h {
			copy(s, tail)
			copy(r.buf, head) // over the saved tail
			copy(r.buf[h:], s[:t])
		} else {
			copy(s, head)
			copy(r.buf[h:], tail) // over the saved head, if they meet
			copy(r.buf, s[:h])
		}
		pool.Put(s)
	}
	r.start = 0
}

func (r *Ring) getPool() *Pool {
	if r.pool == nil {
		return &Default
	}
	return r.pool
}

func (r *Ring) putArray(b []byte) {
	if b != nil {
		r.getPool().Put(b)
	}
}

// noCopy makes go vet's copylocks check report copies of a Ring.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
