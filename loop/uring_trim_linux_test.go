package loop

import (
	"runtime"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// TestCompletionTrim: a trim keeps the keepSpareBufs send buffers put last
// and counts the others freed, and releases the pages of the held buffers below the minProvided on top
// of idle (they read as zeros after); the buffers on top and those the
// kernel holds keep what they hold.
func TestCompletionTrim(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	u := newTestCompletion(t)
	defer u.close()

	const spares = 100
	for range spares {
		u.putSendBuf(make([]byte, 0, sendBuf))
	}
	top := &u.spareBufs[len(u.spareBufs)-1][:1][0]
	for bid := range bufCount {
		b := u.bufs.Bytes(uint16(bid), bufSize)
		for i := range b {
			b[i] = 0xab
		}
	}
	held := len(u.idle) // the ids from minProvided up; 0 to minProvided-1 are the kernel's
	before := u.freed.Load()

	u.trim()

	if n := len(u.spareBufs); n != keepSpareBufs {
		t.Errorf("%d send buffers kept after a trim, want %d", n, keepSpareBufs)
	}
	if &u.spareBufs[len(u.spareBufs)-1][:1][0] != top {
		t.Error("the send buffer put last was not kept on top")
	}
	if got, want := u.freed.Load()-before, int64((spares-keepSpareBufs)*sendBuf); got != want {
		t.Errorf("trim counted %d bytes freed, want %d", got, want)
	}
	if len(u.idle) != held {
		t.Fatalf("idle holds %d buffers after a trim, want the %d it held", len(u.idle), held)
	}
	warm := make(map[uint16]bool)
	for _, bid := range u.idle[held-minProvided:] {
		warm[bid] = true
	}
	released := 0
	for bid := range bufCount {
		b := u.bufs.Bytes(uint16(bid), bufSize)
		kept := b[0] == 0xab && b[bufSize-1] == 0xab
		switch {
		case bid < minProvided && !kept:
			t.Errorf("buffer %d, provided to the kernel, lost its bytes", bid)
		case warm[uint16(bid)] && !kept:
			t.Errorf("buffer %d, on top of idle, lost its bytes", bid)
		case bid >= minProvided && !warm[uint16(bid)]:
			if b[0] != 0 || b[bufSize-1] != 0 {
				t.Errorf("buffer %d, held below the top, still reads %#x: not released", bid, b[0])
			}
			released++
		}
	}
	if released != held-minProvided {
		t.Errorf("%d buffers released, want %d", released, held-minProvided)
	}
}

// TestScavengeTrimsEveryLoop: a scavenge started by one loop (a 5 MiB
// frame's array let go) has every loop trim its backend, the idle one too
// (woken for it: nothing else wakes it), each down to keepSpareBufs send
// buffers.
func TestScavengeTrimsEveryLoop(t *testing.T) {
	if testBackend() != BackendIOUring {
		t.Skip("only the io_uring backend keeps memory of its own to trim")
	}
	e := newEngine(t, Config{Loops: 2, MaxInbound: 64 << 10, ScavengeAbove: 1 << 20})
	for _, l := range e.loops {
		onEventLoop(t, l, func() {
			u := l.io.(*completion)
			for range 100 {
				u.putSendBuf(make([]byte, 0, sendBuf))
			}
		})
	}
	before := e.scavengeRuns.Load()
	ln := listen(t, e, "tcp", "127.0.0.1:0", framedServer(make(chan error, 1)))
	nc := dialClient(t, "tcp", ln.Addr().String())
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	sendFrame(t, nc, 5<<20)
	readAck(t, nc)
	deadline := time.Now().Add(30 * time.Second)
	for _, l := range e.loops {
		for l.trimmed.Load() <= before {
			if time.Now().After(deadline) {
				t.Fatalf("loop %d did not trim within 30 s (scavenges started: %d, %d before the frame)", l.index, e.scavengeRuns.Load(), before)
			}
			time.Sleep(10 * time.Millisecond) // polling a loop's counter: a wake-up of ours would make it trim
		}
	}
	for _, l := range e.loops {
		onEventLoop(t, l, func() {
			if n := len(l.io.(*completion).spareBufs); n > keepSpareBufs {
				t.Errorf("loop %d keeps %d send buffers after its trim, want %d at most", l.index, n, keepSpareBufs)
			}
		})
	}
}

// onEventLoop runs f on l's goroutine and waits for it to return.
func onEventLoop(t *testing.T, l *eventLoop, f func()) {
	t.Helper()
	done := make(chan struct{})
	if !l.submit(task{kind: taskFunc, fn: func() { defer close(done); f() }}) {
		t.Fatal("the loop's task queue refused a task")
	}
	testutil.Recv(t, done, "a task on the loop")
}
