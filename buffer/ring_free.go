package buffer

import "math"

// Free returns the writable space after the readable bytes, at most most
// bytes of it (most < 0: no bound but the limit), as up to two slices in
// write order: b is nil unless the space wraps around the end of the array.
// Fill a, then b, and call Commit with the count; this is how a reader
// (read(2), readv(2), a completion, a copy) puts bytes into the ring without
// an intermediate buffer. Each slice's capacity equals its length, so an
// append to one cannot run into readable bytes.
//
// If less than MinSize is free and most and the limit leave room for more
// than is free, the ring first grows to hold Cap (MinSize from empty) more
// bytes, or only as many as most and the limit leave room for, in the sizes
// described at Ring: about double, or exactly the limit where the next power
// of two would pass it. It never offers more than the limit leaves room for:
// both slices are empty when the ring already holds its limit (or more,
// after SetLimit lowered it), and when most is 0. The slices are valid until
// the next call that changes the ring. Owning goroutine only.
func (r *Ring) Free(most int) (a, b []byte) {
	room := r.room()
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
		return r.buf[wi : wi+n : wi+n], nil
	}
	t := wi + n - len(r.buf)
	return r.buf[wi:len(r.buf):len(r.buf)], r.buf[:t:t]
}

// Commit makes the first n bytes of the space the last Free returned
// readable, behind those already held, in the order a then b. n must not
// exceed what that Free offered, and no other call may change the ring in
// between. Commit panics if n is negative or more than Free(-1) would offer
// now (the free space within the limit), so a wrong count cannot take the
// ring past its limit or over its readable bytes; a count between a smaller
// Free(most) offer and that is not caught, since remembering each offer
// would cost every Ring a field. Owning goroutine only.
func (r *Ring) Commit(n int) {
	if n == 0 {
		return // allowed even above the limit, where Free offered nothing
	}
	if n < 0 || n > min(r.free(), r.room()) {
		panic("buffer: Commit beyond the space Free offered")
	}
	r.used += n
}

// room returns how many more bytes the limit lets the ring hold: negative
// after SetLimit lowered it below Len, math.MaxInt with no limit.
func (r *Ring) room() int {
	if r.limit <= 0 {
		return math.MaxInt
	}
	return r.limit - r.used
}
