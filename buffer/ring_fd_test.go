package buffer

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadFdWrappedFillsBothSegments(t *testing.T) {
	fds := socketpair(t)
	// 100 bytes held at [900, 1000): the 924 free are [1000, 1024) and [0, 900).
	r, model := wrapped(t, 1024, 124, 100)
	in := pattern(924, 3)
	writeAll(t, fds[1], in)
	n, err := r.ReadFd(fds[0])
	if n != 924 || err != nil {
		t.Fatalf("ReadFd: %d, %v; want 924, nil", n, err)
	}
	if r.Cap() != 1024 {
		t.Fatalf("ReadFd grew the ring to %d though %d bytes were free", r.Cap(), 924)
	}
	if _, tail := r.Peek(-1); tail == nil {
		t.Fatal("the read did not wrap into the second free segment")
	}
	checkContents(t, r, append(model, in...))
}

func TestWriteFdWrappedDrainsBothSegments(t *testing.T) {
	fds := socketpair(t)
	r, model := wrapped(t, 1024, 224, 400)
	n, err := r.WriteFd(fds[0])
	if n != 400 || err != nil {
		t.Fatalf("WriteFd: %d, %v; want 400, nil", n, err)
	}
	if r.Len() != 0 {
		t.Fatalf("Len after WriteFd = %d, want 0", r.Len())
	}
	if got := readN(t, fds[1], 400); !bytes.Equal(got, model) {
		t.Fatal("peer received different bytes")
	}
	if n, err := r.WriteFd(fds[0]); n != 0 || err != nil {
		t.Fatalf("WriteFd of an empty ring: %d, %v; want 0, nil", n, err)
	}
}

func TestReadFdGrows(t *testing.T) {
	fds := socketpair(t)
	var r Ring
	r.Init(new(Pool), 0)
	defer r.Reset()
	writeAll(t, fds[1], pattern(100, 1))
	if n, err := r.ReadFd(fds[0]); n != 100 || err != nil || r.Cap() != MinSize {
		t.Fatalf("ReadFd into a released ring: %d, %v, Cap %d; want 100, nil, %d", n, err, r.Cap(), MinSize)
	}
	// 100 + 400 held leaves 12 < MinSize free: the next read doubles first.
	r.Write(pattern(400, 2))
	writeAll(t, fds[1], pattern(1000, 3))
	if n, err := r.ReadFd(fds[0]); n != 524 || err != nil || r.Cap() != 2*MinSize {
		t.Fatalf("ReadFd with little free space: %d, %v, Cap %d; want 524, nil, %d", n, err, r.Cap(), 2*MinSize)
	}
	want := append(append(pattern(100, 1), pattern(400, 2)...), pattern(1000, 3)[:524]...)
	checkContents(t, &r, want)
}

func TestReadFdLimit(t *testing.T) {
	fds := socketpair(t)
	var r Ring
	r.Init(new(Pool), 600)
	defer r.Reset()
	in := pattern(1000, 4)
	writeAll(t, fds[1], in)
	if n, err := r.ReadFd(fds[0]); n != MinSize || err != nil {
		t.Fatalf("first ReadFd: %d, %v; want %d, nil", n, err, MinSize)
	}
	// Full at 512: grows, but reads only the 88 bytes the limit leaves.
	if n, err := r.ReadFd(fds[0]); n != 88 || err != nil {
		t.Fatalf("second ReadFd: %d, %v; want 88, nil", n, err)
	}
	if n, err := r.ReadFd(fds[0]); n != 0 || err != ErrLimit {
		t.Fatalf("ReadFd at the limit: %d, %v; want 0, ErrLimit", n, err)
	}
	checkContents(t, &r, in[:600])
}

func TestReadFdEOF(t *testing.T) {
	fds := socketpair(t)
	var r Ring
	defer r.Reset()
	writeAll(t, fds[1], []byte("bye"))
	if err := unix.Shutdown(fds[1], unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if n, err := r.ReadFd(fds[0]); n != 3 || err != nil {
		t.Fatalf("ReadFd before EOF: %d, %v", n, err)
	}
	if n, err := r.ReadFd(fds[0]); n != 0 || err != io.EOF {
		t.Fatalf("ReadFd at EOF: %d, %v; want 0, io.EOF", n, err)
	}
	checkContents(t, &r, []byte("bye"))
}

func TestReadFdEAGAIN(t *testing.T) {
	fds := socketpair(t)
	var r Ring
	defer r.Reset()
	n, err := r.ReadFd(fds[0])
	if n != 0 || err != unix.EAGAIN {
		t.Fatalf("ReadFd on an idle socket: %d, %v; want 0, bare EAGAIN", n, err)
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d after EAGAIN", r.Len())
	}
}

func TestWriteFdEAGAIN(t *testing.T) {
	fds := socketpair(t)
	var r Ring
	r.Init(new(Pool), 0)
	defer r.Reset()
	chunk := pattern(64<<10, 5)
	sent := 0
	for tries := 0; tries < 10000; tries++ {
		if r.Len() == 0 {
			r.Write(chunk)
		}
		n, err := r.WriteFd(fds[0])
		if err == unix.EAGAIN {
			if n != 0 || r.Len() == 0 {
				t.Fatalf("EAGAIN with n=%d, Len=%d", n, r.Len())
			}
			if sent == 0 {
				t.Fatal("EAGAIN before anything was sent")
			}
			return
		}
		if err != nil || n <= 0 {
			t.Fatalf("WriteFd: %d, %v", n, err)
		}
		sent += n
	}
	t.Fatalf("no EAGAIN after %d bytes", sent)
}

func TestFdErrorsNameTheSyscall(t *testing.T) {
	fds := socketpair(t)
	// Writes to fds[0] now fail with EPIPE.
	if err := unix.Shutdown(fds[0], unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, call string
		errno      error
		op         func(r *Ring) (int, error)
	}{
		{"read", "read", unix.EBADF, func(r *Ring) (int, error) { return r.ReadFd(-1) }},
		{"write", "write", unix.EPIPE, func(r *Ring) (int, error) { return r.WriteFd(fds[0]) }},
		{"readv", readvName, unix.EBADF, func(r *Ring) (int, error) {
			r.Discard(r.Len() - 1) // one byte left near the end: free space wraps
			return r.ReadFd(-1)
		}},
		{"writev", writevName, unix.EPIPE, func(r *Ring) (int, error) {
			r.Discard(100)
			r.Write(pattern(100, 1)) // 1000 bytes from index 100 of 1024: wraps
			return r.WriteFd(fds[0])
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r Ring
			r.Init(new(Pool), 0)
			defer r.Reset()
			r.Write(pattern(1000, 1))
			before := r.Len()
			n, err := c.op(&r)
			var se *os.SyscallError
			if n != 0 || !errors.As(err, &se) || se.Syscall != c.call || !errors.Is(err, c.errno) {
				t.Fatalf("got %d, %v; want 0 and *os.SyscallError %q wrapping %v", n, err, c.call, c.errno)
			}
			if c.call == "write" && r.Len() != before {
				t.Fatalf("failed write changed Len %d -> %d", before, r.Len())
			}
		})
	}
}

func TestFdNoAllocs(t *testing.T) {
	fds := socketpair(t)
	var out, in Ring
	out.Init(new(Pool), 0)
	in.Init(new(Pool), 0)
	defer out.Reset()
	defer in.Reset()
	roundTrip := wrappedRoundTrip(t, &out, &in, fds)
	roundTrip()
	if n := testing.AllocsPerRun(200, roundTrip); n != 0 {
		t.Fatalf("WriteFd+ReadFd: %v allocs/op, want 0", n)
	}
}

// wrappedRoundTrip returns a step that sends 3100 bytes from out to in with
// both rings wrapped, so WriteFd uses writev and ReadFd readv.
func wrappedRoundTrip(tb testing.TB, out, in *Ring, fds [2]int) func() {
	msg := pattern(3000, 7)
	return func() {
		out.Write(msg)
		out.Discard(2900)
		out.Write(msg) // 3100 bytes from index 2900 of 4096: wraps
		if n, err := out.WriteFd(fds[0]); n != 3100 || err != nil {
			tb.Fatalf("WriteFd: %d, %v", n, err)
		}
		in.Write(msg)
		in.Discard(2900) // 100 held at [2900, 3000): free space wraps
		if n, err := in.ReadFd(fds[1]); n != 3100 || err != nil {
			tb.Fatalf("ReadFd: %d, %v", n, err)
		}
		if in.Cap() != 4096 {
			tb.Fatalf("in grew to %d", in.Cap())
		}
		in.Discard(-1)
	}
}

func TestReadFdGrowthCappedAtLimit(t *testing.T) {
	const limit = 4<<20 + 64<<10
	fds := socketpair(t)
	var r Ring
	r.Init(new(Pool), limit)
	defer r.Reset()
	in := pattern(limit+1000, 6)
	sent, got := 0, 0
	for {
		if sent < len(in) {
			n, err := unix.Write(fds[1], in[sent:min(sent+64<<10, len(in))])
			if err != nil && err != unix.EAGAIN {
				t.Fatal(err)
			}
			sent += max(n, 0)
		}
		n, err := r.ReadFd(fds[0])
		if err == ErrLimit {
			break
		}
		if err != nil && err != unix.EAGAIN {
			t.Fatalf("ReadFd at Len %d: %v", r.Len(), err)
		}
		got += n
		if r.Cap() > limit {
			t.Fatalf("Len %d: Cap %d is past the limit %d", r.Len(), r.Cap(), limit)
		}
	}
	if got != limit || r.Cap() != limit {
		t.Fatalf("full: read %d, Cap %d; want both %d", got, r.Cap(), limit)
	}
	checkContents(t, &r, in[:limit])
}

func TestFdWrappedLimitSized(t *testing.T) {
	fds := socketpair(t)
	// readv: 200 held at [1200, 1400) of a 1500-byte array; the 1300 free
	// are [1400, 1500) and [0, 1200).
	r, model := wrappedLimit(t, 1500, 300, 200, 1500)
	r.Discard(100)
	model = model[100:]
	in := pattern(2000, 8)
	writeAll(t, fds[1], in)
	if n, err := r.ReadFd(fds[0]); n != 1400 || err != nil || r.Cap() != 1500 {
		t.Fatalf("ReadFd: %d, %v, Cap %d; want 1400, nil, 1500", n, err, r.Cap())
	}
	model = append(model, in[:1400]...)
	if _, tail := r.Peek(-1); tail == nil {
		t.Fatal("the read did not wrap into the second free segment")
	}
	checkContents(t, r, model)
	// writev: the 1500 held wrap at index 1500.
	if n, err := r.WriteFd(fds[0]); n != 1500 || err != nil || r.Len() != 0 {
		t.Fatalf("WriteFd: %d, %v, Len %d; want 1500, nil, 0", n, err, r.Len())
	}
	if got := readN(t, fds[1], 1500); !bytes.Equal(got, model) {
		t.Fatal("peer received different bytes")
	}
}

func TestReadFdAtArrayEnd(t *testing.T) {
	// 300 bytes at [1200, 1500): the free space is all of [0, 1200), one
	// segment, so one read(2) fills it.
	fds := socketpair(t)
	r, model := wrappedLimit(t, 1500, 300, 300, 1500)
	in := pattern(1300, 2)
	writeAll(t, fds[1], in)
	if n, err := r.ReadFd(fds[0]); n != 1200 || err != nil {
		t.Fatalf("ReadFd: %d, %v; want 1200, nil", n, err)
	}
	checkContents(t, r, append(model, in[:1200]...))
}
