package uring

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMultishotRecvWithBufRing: one armed recv delivers every message into
// provided buffers, in order; with the buffers all taken it ends with
// ENOBUFS, and re-armed after a recycle it delivers the rest: no byte lost.
func TestMultishotRecvWithBufRing(t *testing.T) {
	r := newRing(t, 16, 0)
	br, err := r.NewBufRing(1, 4, 64)
	if err != nil {
		t.Fatalf("NewBufRing: %v", err)
	}
	defer br.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer func() {
		if fds[1] >= 0 {
			unix.Close(fds[1])
		}
	}()

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
