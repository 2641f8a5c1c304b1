package buffer

import (
	"bytes"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pattern returns n bytes that differ from those of nearby seeds, so a byte
// copied to the wrong place shows.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// socketpair returns a connected, non-blocking AF_UNIX stream pair that is
// closed when the test ends.
func socketpair(tb testing.TB) [2]int {
	tb.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		tb.Fatalf("socketpair: %v", err)
	}
	tb.Cleanup(func() {
		unix.Close(fds[0])
		unix.Close(fds[1])
	})
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			tb.Fatalf("set non-blocking: %v", err)
		}
	}
	return fds
}

// readN reads exactly n bytes that are already queued on non-blocking fd.
func readN(tb testing.TB, fd, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	got := 0
	for tries := 0; got < n && tries < 1000; tries++ {
		m, err := unix.Read(fd, b[got:])
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil || m == 0 {
			tb.Fatalf("read after %d of %d bytes: n=%d err=%v", got, n, m, err)
		}
		got += m
	}
	if got < n {
		tb.Fatalf("read %d of %d queued bytes", got, n)
	}
	return b
}

// writeAll writes all of p to non-blocking fd, which must have room.
func writeAll(tb testing.TB, fd int, p []byte) {
	tb.Helper()
	for tries := 0; len(p) > 0 && tries < 1000; tries++ {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			tb.Fatalf("write: %v", err)
		}
		p = p[n:]
	}
	if len(p) > 0 {
		tb.Fatalf("%d bytes left unwritten", len(p))
	}
}

// contents returns a copy of all readable bytes of r, read through Peek.
func contents(r *Ring) []byte {
	head, tail := r.Peek(-1)
	return append(append([]byte{}, head...), tail...)
}

// checkContents fails the test unless r holds exactly want.
func checkContents(tb testing.TB, r *Ring, want []byte) {
	tb.Helper()
	if r.Len() != len(want) {
		tb.Fatalf("Len() = %d, want %d", r.Len(), len(want))
	}
	if got := contents(r); !bytes.Equal(got, want) {
		tb.Fatalf("contents differ from the model (len %d)", len(want))
	}
}

// arrayOf returns the address of the array under b, to tell arrays apart.
func arrayOf(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// eventually runs try up to 64 times until it reports true. Pool hits are
// not guaranteed: sync.Pool keeps a per-P slot the goroutine may migrate
// away from, and under -race it drops a quarter of Puts on purpose.
func eventually(tb testing.TB, what string, try func() bool) {
	tb.Helper()
	for range 64 {
		if try() {
			return
		}
	}
	tb.Fatalf("%s: never happened in 64 tries", what)
}
