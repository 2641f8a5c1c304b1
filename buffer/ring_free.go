package buffer

import "math"

// Free returns the writable space after the readable bytes, at most most
// bytes of it (most < 0: no bound but the limit), as up to two slices in
// write order: b is nil unless the space wraps around the end of the array.
// Fill a, then b, and call Commit with the count; this is how a reader
// (read(2), readv(2), a completion) puts bytes into the ring without a copy.
//
// If less than MinSize is free and the limit leaves room for more, the ring
// first grows to hold Cap (MinSize from empty) more bytes, or only as many
// as the limit leaves room for, in the sizes described at Ring. It never
// offers more than the limit leaves room for: both slices are empty when the
// ring already holds its limit (or more, after SetLimit lowered it). The
// slices are valid until the next call that changes the ring. Owning
// goroutine only.
func (r *Ring) Free(most int) (a, b []byte) {
	room := r.limit - r.used
	if r.limit <= 0 {
		room = math.MaxInt
	}
	if most >= 0 {
		room = min(room, most)
	}
	if room <= 0 {
		return nil, nil
	}
	if free := r.free(); free < MinSize && room > free {
		// grow caps the array at the limit, which room already respects.
		r.putArray(r.grow(min(max(len(r.buf), MinSize), room)))
	}
	wi := r.end()
	n := min(r.free(), room)
	if wi+n <= len(r.buf) {
		return r.buf[wi : wi+n], nil
	}
	return r.buf[wi:], r.buf[:wi+n-len(r.buf)]
}

// Commit makes the first n bytes of the space the last Free returned
// readable, behind those already held. n must not exceed what Free offered.
// Owning goroutine only.
func (r *Ring) Commit(n int) {
	if n < 0 || n > r.free() {
		panic("buffer: Commit beyond the space Free offered")
	}
	r.used += n
}
