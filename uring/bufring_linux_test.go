package uring

import (
	"fmt"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvRig returns a ring, a buffer ring of count 64-byte buffers as group
// 1, and a connected socket pair; *fds[1] may be closed (set to -1) by the
// test. Everything is released at the end of the test.
func recvRig(t *testing.T, count int) (*Ring, *BufRing, *[2]int) {
	r := newRing(t, 16, 0)
	br, err := r.NewBufRing(1, count, 64)
	if err != nil {
		t.Fatalf("NewBufRing: %v", err)
	}
	t.Cleanup(func() { br.Close() })
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fds := &[2]int{pair[0], pair[1]}
	t.Cleanup(func() {
		for _, fd := range fds {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	})
	return r, br, fds
}

// TestMultishotRecvWithBufRing: one armed recv delivers every message into
// provided buffers, in order; with the buffers all taken it ends with
// ENOBUFS, and re-armed after a recycle it delivers the rest: no byte lost.
func TestMultishotRecvWithBufRing(t *testing.T) {
	r, br, fds := recvRig(t, 4)

	r.GetSQE().PrepRecvMultishot(fds[0], br.Group(), 5)
	if _, err := r.Submit(0); err != nil {
		t.Fatal(err)
	}
	var got []byte
	var sent []byte
	recvOne := func() CQE {
		c := waitOne(t, r)
		if c.UserData != 5 {
			t.Fatalf("completion %+v, want the recv's", c)
		}
		if c.Res > 0 {
			if c.Flags&CQEBuffer == 0 {
				t.Fatalf("completion %+v names no buffer", c)
			}
			got = append(got, br.Bytes(uint16(c.Flags>>CQEBufferShift), int(c.Res))...)
		}
		return c
	}
	// Four messages, one at a time, take the four buffers without recycling.
	bids := map[uint32]bool{}
	for i := range 4 {
		msg := fmt.Appendf(nil, "message %d;", i)
		sent = append(sent, msg...)
		unix.Write(fds[1], msg)
		c := recvOne()
		if c.Flags&CQEMore == 0 {
			t.Fatalf("message %d ended the recv: %+v", i, c)
		}
		bids[c.Flags>>CQEBufferShift] = true
	}
	if len(bids) != 4 {
		t.Fatalf("four messages used buffers %v, want four distinct", bids)
	}
	// A fifth finds no buffer: the recv ends with ENOBUFS, the bytes wait.
	msg := []byte("the fifth, kept by the kernel;")
	sent = append(sent, msg...)
	unix.Write(fds[1], msg)
	if c := recvOne(); c.Res != -int32(unix.ENOBUFS) || c.Flags&CQEMore != 0 {
		t.Fatalf("with no buffer left: %+v; want -ENOBUFS without CQEMore", c)
	}
	for bid := range bids {
		br.Recycle(uint16(bid))
	}
	br.Publish()
	r.GetSQE().PrepRecvMultishot(fds[0], br.Group(), 5)
	if _, err := r.Submit(0); err != nil {
		t.Fatal(err)
	}
	if c := recvOne(); c.Res <= 0 || c.Flags&CQEMore == 0 {
		t.Fatalf("re-armed recv: %+v; want the fifth message", c)
	}
	if string(got) != string(sent) {
		t.Fatalf("received %q\nwant     %q", got, sent)
	}
	// The peer's close ends the recv with 0.
	unix.Close(fds[1])
	fds[1] = -1
	if c := recvOne(); c.Res != 0 || c.Flags&CQEMore != 0 {
		t.Fatalf("at EOF: %+v; want Res 0 without CQEMore", c)
	}
}

// TestMultishotRecvLimit: a multishot recv with a byte limit ends (no
// CQEMore) once that much arrived; what came after waits in the socket.
func TestMultishotRecvLimit(t *testing.T) {
	r, br, fds := recvRig(t, 8)
	if !kernelAtLeast(6, 17) {
		t.Skip("recv byte limits are Linux 6.17's")
	}
	sqe := r.GetSQE()
	sqe.PrepRecvMultishot(fds[0], br.Group(), 5)
	sqe.SetRecvLimit(100)
	if _, err := r.Submit(0); err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := 0; ; i++ {
		if i == 10 {
			t.Fatalf("the recv did not end within 10 messages (%d bytes)", total)
		}
		unix.Write(fds[1], make([]byte, 40))
		c := waitOne(t, r)
		if c.Res <= 0 {
			t.Fatalf("completion %+v, want data", c)
		}
		total += int(c.Res)
		br.Recycle(uint16(c.Flags >> CQEBufferShift))
		br.Publish()
		if c.Flags&CQEMore == 0 {
			break
		}
	}
	if total < 100 || total >= 140 {
		t.Fatalf("the recv ended after %d bytes, want the first message to reach 100", total)
	}
	inq, err := unix.IoctlGetInt(fds[0], unix.SIOCINQ)
	if err != nil || inq != 0 {
		t.Fatalf("after the end %d bytes wait in the socket (err %v); want 0: nothing was written since", inq, err)
	}
}

// TestBufRingProviding: a ring made with only some buffers provided gives
// the kernel those, and each buffer the owner hands over with Recycle is
// one more the kernel may pick once published.
func TestBufRingProviding(t *testing.T) {
	r := newRing(t, 16, 0)
	br, err := r.NewBufRingProviding(1, 8, 64, 2)
	if err != nil {
		t.Fatalf("NewBufRingProviding: %v", err)
	}
	defer br.Close()
	if n, err := br.Free(); err != nil || n != 2 {
		t.Fatalf("Free() = %d, %v; want the 2 provided", n, err)
	}
	br.Recycle(5)
	br.Publish()
	if n, err := br.Free(); err != nil || n != 3 {
		t.Fatalf("Free() after handing over one more = %d, %v; want 3", n, err)
	}
	if _, err := r.NewBufRingProviding(2, 8, 64, 9); err == nil {
		t.Fatal("NewBufRingProviding with more provided than buffers: no error")
	}
}

// TestBufRingRelease: a held buffer's pages leave memory when released and
// read as zeros after; its neighbours keep theirs.
func TestBufRingRelease(t *testing.T) {
	r := newRing(t, 16, 0)
	size := 4 * os.Getpagesize()
	br, err := r.NewBufRingProviding(1, 4, size, 0)
	if err != nil {
		t.Fatalf("NewBufRingProviding: %v", err)
	}
	defer br.Close()
	for bid := range uint16(4) {
		b := br.Bytes(bid, size)
		for i := range b {
			b[i] = byte(bid) + 1
		}
	}
	if err := br.Release(1, 2); err != nil {
		t.Fatalf("Release(1, 2): %v", err)
	}
	for bid, want := range []int{4, 0, 0, 4} {
		if got := residentPages(t, br.Bytes(uint16(bid), size)); got != want {
			t.Errorf("buffer %d: %d pages resident, want %d", bid, got, want)
		}
	}
	if b := br.Bytes(2, size); b[0] != 0 || b[size-1] != 0 {
		t.Errorf("released buffer 2 reads %d...%d, want zeros", b[0], b[size-1])
	}
	if b := br.Bytes(3, size); b[0] != 4 {
		t.Errorf("buffer 3 reads %d after its neighbours' release, want 4", b[0])
	}
}

// residentPages counts b's pages in memory (mincore(2); b is page-aligned).
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	page := os.Getpagesize()
	vec := make([]byte, (len(b)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
