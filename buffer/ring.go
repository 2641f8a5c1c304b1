package buffer

import (
	"errors"
	"io"
)

// ErrLimit is returned by Write, WriteString and ReadFd when the bytes would
// take a Ring past its limit. Nothing was written.
var ErrLimit = errors.New("buffer: limit reached")

// Ring is a byte FIFO over a power-of-two array that grows on demand, through
// its Pool, up to a limit on the number of bytes held. Release and Reset hand
// the array back to the pool, so an idle connection holds no buffer memory.
//
// The zero value is an empty Ring that uses Default and has no limit. A Ring
// is not safe for concurrent use: one goroutine (the connection's loop) owns
// it. It must not be copied after first use, since both copies would own,
// and eventually release, the same array.
type Ring struct {
	_     noCopy
	vec   vec    // readv/writev; zero-size, so first (a trailing one would be padded)
	buf   []byte // nil when released; otherwise len is a power of two
	r, w  uint   // read and write counts; index = count & (len(buf)-1)
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
func (r *Ring) Len() int { return int(r.w - r.r) }

// Cap returns the size of the current array: 0 when released. Owning
// goroutine only.
func (r *Ring) Cap() int { return len(r.buf) }

// Limit returns the most bytes the ring may hold; <= 0 means no limit. Owning
// goroutine only.
func (r *Ring) Limit() int { return r.limit }

// Peek returns the first n readable bytes (all of them if n < 0 or n > Len)
// without copying, as head followed by tail. tail is nil unless the bytes
// wrap around the end of the array. The slices are valid until the next call
// that changes the ring. Owning goroutine only.
func (r *Ring) Peek(n int) (head, tail []byte) {
	n = r.clamp(n)
	if n == 0 {
		return nil, nil
	}
	ri := r.index(r.r)
	if ri+n <= len(r.buf) {
		return r.buf[ri : ri+n : ri+n], nil
	}
	t := ri + n - len(r.buf)
	return r.buf[ri:len(r.buf):len(r.buf)], r.buf[:t:t]
}

// Contiguous returns the first n readable bytes (all of them if n < 0 or
// n > Len) as one slice. It copies only when they wrap around the end of the
// array, re-linearising all readable bytes in place if the free space allows
// or else into a fresh array from the pool. The slice is valid until the next
// call that changes the ring. Owning goroutine only.
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
	r.r += uint(n)
	if r.r == r.w {
		// Empty: start over at index 0 so the next writes do not wrap.
		r.r, r.w = 0, 0
	}
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

// Write appends all of p, growing the array through the pool as needed. If
// that would take Len past the limit it returns 0, ErrLimit and writes
// nothing. Owning goroutine only.
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
	wi := r.index(r.w)
	k := copy(r.buf[wi:], p)
	copy(r.buf, p[k:])
	r.w += uint(len(p))
	// Only now, in case p pointed into the old array.
	r.putArray(old)
	return len(p), nil
}

// Release gives the array back to the pool if the ring is empty, so Cap
// becomes 0; otherwise it does nothing. Owning goroutine only.
func (r *Ring) Release() {
	if r.Len() == 0 {
		r.putArray(r.buf)
		r.buf = nil
		r.r, r.w = 0, 0
	}
}

// Reset drops all readable bytes and gives the array back to the pool.
// Owning goroutine only.
func (r *Ring) Reset() {
	r.r, r.w = 0, 0
	r.Release()
}

// clamp maps n to the number of readable bytes it selects.
func (r *Ring) clamp(n int) int {
	if l := r.Len(); n < 0 || n > l {
		return l
	}
	return n
}

// index maps a read or write count to its position in the array.
func (r *Ring) index(c uint) int { return int(c & uint(len(r.buf)-1)) }

// free returns how many bytes fit before the array must grow.
func (r *Ring) free() int { return len(r.buf) - r.Len() }

// grow moves the readable bytes to the start of a pooled array with room for
// at least need more bytes and returns the old array, which the caller must
// hand to putArray once it no longer reads from it.
func (r *Ring) grow(need int) (old []byte) {
	n := r.Len()
	b := r.getPool().Get(n + need)
	head, tail := r.Peek(-1)
	copy(b[copy(b, head):], tail)
	old = r.buf
	r.buf, r.r, r.w = b, 0, uint(n)
	return old
}

// linearise moves the wrapped readable bytes to the start of the array. With
// head = bytes up to the array's end and tail = bytes from its start, it can
// be done in place when Len+len(head) <= Cap: the tail slides right by
// len(head), ending before head begins, and head then fills the gap.
func (r *Ring) linearise() {
	head, tail := r.Peek(-1)
	n := len(head) + len(tail)
	if n+len(head) > len(r.buf) {
		r.putArray(r.grow(len(r.buf) - n)) // same size, fresh array
		return
	}
	copy(r.buf[len(head):], tail)
	copy(r.buf, head)
	r.r, r.w = 0, uint(n)
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
