package loop

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/poller"
)

// Tests of the io_uring backend by itself, below the loop: what its write
// took reaches the peer whole and in order, however the calls are cut.

// newTestCompletion returns a bound completion backend on the calling
// goroutine, which must stay locked to its thread, or skips the test.
func newTestCompletion(t *testing.T) *completion {
	t.Helper()
	b, err := newCompletion(nil)
	if errors.Is(err, ErrBackendUnavailable) {
		t.Skipf("io_uring backend unavailable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	u := b.(*completion)
	if err := u.bind(); err != nil {
		u.close()
		t.Fatal(err)
	}
	return u
}

// TestCompletionSendsInOrder: 3,000 writes of 1..1,500 bytes, each retried
// with what the backend did not take, arrive at the peer byte for byte,
// and closeFd after the last send completes lets the peer see EOF.
func TestCompletionSendsInOrder(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	u := newTestCompletion(t)
	defer u.close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	got := make(chan []byte, 1)
	go func() { // the peer reads to EOF
		var all []byte
		buf := make([]byte, 64<<10)
		for {
			n, err := unix.Read(fds[1], buf)
			if n <= 0 || err != nil {
				break
			}
			all = append(all, buf[:n]...)
		}
		got <- all
	}()
	if err := u.watch(fds[0], 0, poller.Readable); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	var pending []byte
	deadline := time.Now().Add(waitTimeout)
	for i := 0; i < 3000 || len(pending) > 0 || heldAll(u, fds[0]) > 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("not sent within %v: %d bytes pending", waitTimeout, len(pending))
		}
		if i < 3000 {
			msg := bytes.Repeat([]byte{byte(i)}, 1+(i*37)%1500)
			want.Write(msg)
			pending = append(pending, msg...)
		}
		n, err := u.write(fds[0], pending[:len(pending)/2], pending[len(pending)/2:])
		if err != nil {
			t.Fatal(err)
		}
		pending = pending[n:]
		if _, err := u.wait(time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	u.closeFd(fds[0])
	if _, err := u.wait(0); err != nil {
		t.Fatal(err)
	}
	var all []byte
	select {
	case all = <-got:
	case <-time.After(waitTimeout):
		t.Fatal("the peer saw no EOF after closeFd")
	}
	if d := diff(all, want.Bytes()); d != "" {
		t.Fatalf("peer received: %s", d)
	}
}

func heldAll(u *completion, fd int) int {
	all, _ := u.held(fd)
	return all
}

// TestRingSlotSize pins the per-descriptor table entry: the table has one
// for every descriptor number, idle or not (docs/limits.md).
func TestRingSlotSize(t *testing.T) {
	if s := unsafe.Sizeof(ringSlot{}); s != 32 {
		t.Errorf("ringSlot is %d bytes, want 32", s)
	}
}
