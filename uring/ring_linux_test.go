package uring

import (
	"errors"
	"net"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newRing returns a ring closed at the end of the test, or skips the test
// where io_uring is refused (a kernel without it, a seccomp filter).
func newRing(t *testing.T, entries, flags uint32) *Ring {
	t.Helper()
	r, err := New(entries, flags)
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("io_uring unavailable here: %v", err)
	}
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// reap submits what is prepared and collects n completions by user data.
func reap(t *testing.T, r *Ring, n int) map[uint64]CQE {
	t.Helper()
	got := map[uint64]CQE{}
	for i := 0; len(got) < n; i++ {
		if i == 1000 {
			t.Fatalf("only %d of %d completions", len(got), n)
		}
		if _, err := r.Submit(1); err != nil {
			t.Fatalf("Submit: %v", err)
		}
		for c := r.PeekCQE(); c != nil; c = r.PeekCQE() {
			got[c.UserData] = *c
			r.SeenCQE()
		}
	}
	return got
}

func TestABISizes(t *testing.T) {
	if s := unsafe.Sizeof(SQE{}); s != 64 {
		t.Errorf("SQE is %d bytes, the kernel's is 64", s)
	}
	if s := unsafe.Sizeof(CQE{}); s != 16 {
		t.Errorf("CQE is %d bytes, the kernel's is 16", s)
	}
	if s := unsafe.Sizeof(params{}); s != 120 {
		t.Errorf("params is %d bytes, the kernel's io_uring_params is 120", s)
	}
}

func TestNop(t *testing.T) {
	r := newRing(t, 8, 0)
	for i := range 3 {
		r.GetSQE().PrepNop(uint64(100 + i))
	}
	got := reap(t, r, 3)
	for i := range 3 {
		if c, ok := got[uint64(100+i)]; !ok || c.Res != 0 {
			t.Errorf("nop %d: completion %+v, present %v; want Res 0", 100+i, c, ok)
		}
	}
}

// TestSingleIssuerDeferTaskrun: the flags the loop will use, on a thread
// of its own.
func TestSingleIssuerDeferTaskrun(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 8, SetupSingleIssuer|SetupDeferTaskrun)
	r.GetSQE().PrepNop(7)
	if c := reap(t, r, 1)[7]; c.Res != 0 {
		t.Fatalf("nop completed with %d", c.Res)
	}
}

func TestQueueFull(t *testing.T) {
	r := newRing(t, 4, 0)
	for i := range 4 {
		if r.GetSQE() == nil {
			t.Fatalf("GetSQE %d of 4 returned nil", i)
		}
	}
	if r.GetSQE() != nil {
		t.Fatal("a fifth GetSQE on a 4-entry ring returned an entry")
	}
	for i := range 4 {
		r.sqes[i].PrepNop(uint64(i))
	}
	reap(t, r, 4)
	if r.GetSQE() == nil {
		t.Fatal("GetSQE after the kernel consumed the entries returned nil")
	}
}

func TestRecvSend(t *testing.T) {
	r := newRing(t, 8, 0)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	in := make([]byte, 64) // heap memory, kept alive below until reaped
	out := []byte("hello, ring")
	r.GetSQE().PrepRecv(fds[0], in, 0, 1)
	r.GetSQE().PrepSend(fds[1], out, 0, 2)
	got := reap(t, r, 2)
	runtime.KeepAlive(in)
	runtime.KeepAlive(out)
	if c := got[2]; c.Res != int32(len(out)) {
		t.Errorf("send completed with %d, want %d", c.Res, len(out))
	}
	if c := got[1]; c.Res != int32(len(out)) || string(in[:max(c.Res, 0)]) != string(out) {
		t.Errorf("recv completed with %d: %q; want %q", c.Res, in[:max(c.Res, 0)], out)
	}
}

func TestMultishotAcceptAndCancel(t *testing.T) {
	r := newRing(t, 8, 0)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File() // a blocking dup the ring may accept on
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r.GetSQE().PrepMultishotAccept(int(f.Fd()), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 9)
	if _, err := r.Submit(0); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cqe := waitOne(t, r)
		if cqe.UserData != 9 || cqe.Res < 0 || cqe.Flags&CQEMore == 0 {
			t.Fatalf("connection %d: completion %+v; want a descriptor with CQEMore", i, cqe)
		}
		unix.Close(int(cqe.Res))
	}
	r.GetSQE().PrepCancel(9, 10)
	got := reap(t, r, 2)
	if c := got[10]; c.Res != 0 {
		t.Errorf("cancel completed with %d, want 0", c.Res)
	}
	if c := got[9]; c.Res != -int32(unix.ECANCELED) || c.Flags&CQEMore != 0 {
		t.Errorf("the cancelled accept ended with %+v; want -ECANCELED without CQEMore", c)
	}
}

// waitOne waits for one completion.
func waitOne(t *testing.T, r *Ring) CQE {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if c := r.PeekCQE(); c != nil {
			v := *c
			r.SeenCQE()
			return v
		}
		if _, err := r.Submit(1); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("no completion")
	return CQE{}
}

func TestCloseReleasesTheDescriptor(t *testing.T) {
	before := testutil.OpenFDs(t)
	r, err := New(8, 0)
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("io_uring unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.OpenFDs(t); got != before+1 {
		t.Errorf("an open ring holds %d descriptors more, want 1", got-before)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := testutil.OpenFDs(t); got != before {
		t.Errorf("after Close: %d descriptors, want %d", got, before)
	}
}

func kernelAtLeast(major, minor int) bool { return KernelAtLeast(major, minor) }

func TestReleaseAtLeast(t *testing.T) {
	for _, c := range []struct {
		release      string
		major, minor int
		want         bool
	}{
		{"6.18.0", 6, 17, true}, {"6.17", 6, 17, true}, {"6.16.9-arch1", 6, 17, false},
		{"7.0.0", 6, 17, true}, {"5.19.0-rc2", 6, 1, false}, {"garbage", 6, 1, false},
	} {
		if got := releaseAtLeast(c.release, c.major, c.minor); got != c.want {
			t.Errorf("releaseAtLeast(%q, %d, %d) = %v, want %v", c.release, c.major, c.minor, got, c.want)
		}
	}
}

// TestSubmitAndWait: an unbounded wait returns with the completion of what
// it submitted; a bounded one with nothing in flight returns after its
// bound, without error and without a completion.
func TestSubmitAndWait(t *testing.T) {
	// Locked before the ring is made: SINGLE_ISSUER binds it to the thread
	// that made it, and a goroutine moved in between gets EEXIST (CI did).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 8, SetupSingleIssuer|SetupDeferTaskrun)
	r.GetSQE().PrepNop(7)
	if err := r.SubmitAndWait(-1); err != nil {
		t.Fatalf("SubmitAndWait(-1): %v", err)
	}
	if c := r.PeekCQE(); c == nil || c.UserData != 7 {
		t.Fatalf("after an unbounded wait: %+v, want the nop's completion", c)
	}
	r.SeenCQE()
	if err := r.SubmitAndWait(time.Millisecond); err != nil {
		t.Fatalf("SubmitAndWait(1ms) with nothing in flight: %v", err)
	}
	if c := r.PeekCQE(); c != nil {
		t.Fatalf("a completion from nowhere: %+v", c)
	}
	r.GetSQE().PrepNop(8)
	if err := r.SubmitAndReap(); err != nil {
		t.Fatalf("SubmitAndReap: %v", err)
	}
	if c := r.PeekCQE(); c == nil || c.UserData != 8 {
		t.Fatalf("after SubmitAndReap: %+v, want the nop's completion", c)
	}
}
