package buffer

import (
	"io"
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// ReadFd makes one read from fd into the ring's free space: read(2) when the
// free space is one segment, readv(2) when it wraps around the end of the
// array (on Linux; other systems read the second segment with a second
// read(2) only if the first came back full). If the ring has less than
// MinSize free and the limit leaves room for more than is free, it first
// grows to hold Cap (MinSize from empty) more bytes, or only as many as the
// limit leaves room for: to the power of two above that from the pool,
// about double, or to exactly the limit where that power of two would pass
// it (see Ring). It never reads more than the limit leaves room for. It
// returns the number of bytes read and:
//
//   - nil if n > 0;
//   - io.EOF, unwrapped, if the peer closed its end (the read returned 0);
//   - unix.EAGAIN, unwrapped, if fd is non-blocking and has nothing to read;
//   - ErrLimit, without reading, if the ring already holds its limit (or
//     more, after SetLimit lowered it);
//   - otherwise the error wrapped in an *os.SyscallError naming the call
//     that failed ("read" or "readv"), so errors.Is works on the errno.
//
// EINTR is retried. Owning goroutine only.
func (r *Ring) ReadFd(fd int) (int, error) {
	room := r.limit - r.used
	if r.limit <= 0 {
		room = math.MaxInt
	}
	if room <= 0 {
		return 0, ErrLimit
	}
	if free := r.free(); free < MinSize && room > free {
		// grow caps the array at the limit, which room already respects.
		r.putArray(r.grow(min(max(len(r.buf), MinSize), room)))
	}
	a, b := r.freeSegments(room)
	var (
		n   int
		err error
		op  string
	)
	for {
		if len(b) == 0 {
			n, err = unix.Read(fd, a)
			op = "read"
		} else {
			n, err = r.vec.readv(fd, a, b)
			op = readvName
		}
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err != nil:
		return 0, wrap(op, err)
	case n == 0:
		return 0, io.EOF
	}
	r.used += n
	return n, nil
}

// WriteFd makes one write of the readable bytes to fd: write(2) when they are
// one segment, writev(2) when they wrap around the end of the array (on
// Linux; other systems write the second segment with a second write(2) only
// if the first was taken whole). It discards what was written and returns
// its count with the error: nil, unix.EAGAIN unwrapped when fd is
// non-blocking and cannot take more, or otherwise the error wrapped in an
// *os.SyscallError naming the call that failed ("write" or "writev"). An
// empty ring makes no call and returns (0, nil). EINTR is retried. Owning
// goroutine only.
func (r *Ring) WriteFd(fd int) (int, error) {
	a, b := r.Peek(-1)
	if len(a) == 0 {
		return 0, nil
	}
	var (
		n   int
		err error
		op  string
	)
	for {
		if len(b) == 0 {
			n, err = unix.Write(fd, a)
			op = "write"
		} else {
			n, err = r.vec.writev(fd, a, b)
			op = writevName
		}
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return 0, wrap(op, err)
	}
	r.Discard(n)
	return n, nil
}

// freeSegments returns the free space after the readable bytes, at most max
// bytes of it, as up to two slices in write order; b is nil unless it wraps.
func (r *Ring) freeSegments(max int) (a, b []byte) {
	wi := r.end()
	n := min(r.free(), max)
	if wi+n <= len(r.buf) {
		return r.buf[wi : wi+n], nil
	}
	return r.buf[wi:], r.buf[:wi+n-len(r.buf)]
}

// wrap names the syscall in err, except for EAGAIN, which the loop expects
// bare and meets on every drained socket.
func wrap(op string, err error) error {
	if err == unix.EAGAIN {
		return err
	}
	return os.NewSyscallError(op, err)
}
