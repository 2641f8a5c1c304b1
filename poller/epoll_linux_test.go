//go:build linux

package poller

import (
	"bufio"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// eventfdCount reads an eventfd's counter from /proc without draining it.
func eventfdCount(t *testing.T, fd int) uint64 {
	t.Helper()
	f, err := os.Open("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		t.Fatalf("open fdinfo: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "eventfd-count:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("parse %q: %v", sc.Text(), err)
			}
			return n
		}
	}
	t.Fatalf("no eventfd-count in fdinfo of %d (err %v)", fd, sc.Err())
	return 0
}

func TestWakesCoalesce(t *testing.T) {
	p := newPoller(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if err := p.Wake(); err != nil {
					t.Errorf("Wake: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := eventfdCount(t, p.sig.fd); n != 1 {
		t.Fatalf("800 Wakes wrote %d to the eventfd, want 1", n)
	}

	result := waitInBackground(t, p)
	select {
	case events := <-result:
		if len(events) != 0 {
			t.Fatalf("Wait reported %v, want no events", events)
		}
	case <-time.After(patience):
		t.Fatal("coalesced Wakes did not unblock Wait(-1)")
	}
	if n := eventfdCount(t, p.sig.fd); n != 0 {
		t.Fatalf("eventfd count after Wait = %d, want 0 (drained)", n)
	}
	for range 3 {
		expectNone(t, p)
	}
	// Drained, the gate is open again: the next Wake reaches the kernel.
	if err := p.Wake(); err != nil {
		t.Fatalf("Wake: %v", err)
	}
	if n := eventfdCount(t, p.sig.fd); n != 1 {
		t.Fatalf("eventfd count after a re-armed Wake = %d, want 1", n)
	}
}

func TestCloseReleasesDescriptors(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	fds := []int{p.epfd, p.sig.fd}
	for _, fd := range fds {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Fatalf("fd %d: flags %#x, err %v; want FD_CLOEXEC", fd, flags, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
			t.Fatalf("fd %d after Close: %v, want EBADF", fd, err)
		}
	}
}

func TestErrorsNameSyscall(t *testing.T) {
	p := newPoller(t)
	err := p.Add(-1, Readable)
	var serr *os.SyscallError
	if !errors.As(err, &serr) || serr.Syscall != "epoll_ctl" || !errors.Is(err, unix.EBADF) {
		t.Fatalf("Add(-1) = %v, want epoll_ctl: EBADF", err)
	}
}

func TestEpollTimeoutRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{-1, -1},
		{-time.Hour, -1},
		{0, 0},
		{1, 1},
		{time.Millisecond, 1},
		{time.Millisecond + 1, 2},
		{1500 * time.Microsecond, 2},
		{time.Second, 1000},
		{math.MaxInt32 * time.Millisecond, math.MaxInt32},
		{math.MaxInt64, math.MaxInt32},
	} {
		if got := epollTimeout(tc.d); got != tc.want {
			t.Errorf("epollTimeout(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

func TestEpollMaskFolds(t *testing.T) {
	for _, tc := range []struct {
		e    uint32
		want Mask
	}{
		{unix.EPOLLIN, Readable},
		{unix.EPOLLOUT, Writable},
		{unix.EPOLLRDHUP, Readable | HangUp},
		{unix.EPOLLHUP, Readable | HangUp},
		{unix.EPOLLERR, Readable | Writable | Error},
		{unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLHUP | unix.EPOLLERR, Readable | Writable | HangUp | Error},
	} {
		if got := epollMask(tc.e); got != tc.want {
			t.Errorf("epollMask(%#x) = %v, want %v", tc.e, got, tc.want)
		}
	}
}
