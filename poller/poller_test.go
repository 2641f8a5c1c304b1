//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package poller

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// patience bounds every wait for something that should already be ready; it
// is a hang guard, never a timing assertion.
const patience = 10 * time.Second

// TestMain fails the run if tests leak goroutines or descriptors.
func TestMain(m *testing.M) {
	// A pipe as *os.File starts the runtime's own netpoller now, so its
	// descriptors are counted on both sides rather than looking leaked.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	before := openFDs()
	code := m.Run()
	if code == 0 {
		if after := openFDs(); after != before {
			fmt.Fprintf(os.Stderr, "descriptor leak: %d open before the tests, %d after\n", before, after)
			code = 1
		}
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutine leak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// openFDs counts open descriptors among the first 1024, portably via fcntl.
func openFDs() int {
	n := 0
	for fd := range 1024 {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			n++
		}
	}
	return n
}

// newPoller returns a Poller closed at the end of the test.
func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// closeAtEnd closes fd when the test ends, unless the returned closeNow
// closed it first; closing a number twice could hit a recycled descriptor.
func closeAtEnd(t *testing.T, fd int) (closeNow func() error) {
	open := true
	t.Cleanup(func() {
		if open {
			unix.Close(fd)
		}
	})
	return func() error {
		open = false
		return unix.Close(fd)
	}
}

// socketPair returns a connected, non-blocking AF_UNIX stream pair closed at
// the end of the test, and a function that closes b early.
func socketPair(t *testing.T) (a, b int, closeB func() error) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	closeAtEnd(t, fds[0])
	closeB = closeAtEnd(t, fds[1])
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatalf("set non-blocking: %v", err)
		}
	}
	return fds[0], fds[1], closeB
}

// mustWrite writes all of msg to fd.
func mustWrite(t *testing.T, fd int, msg string) {
	t.Helper()
	n, err := unix.Write(fd, []byte(msg))
	if err != nil || n != len(msg) {
		t.Fatalf("write: n=%d err=%v", n, err)
	}
}

// waitEvents waits up to patience for at least one event and returns them.
func waitEvents(t *testing.T, p *Poller) []Event {
	t.Helper()
	events := make([]Event, 8)
	n, err := p.Wait(events, patience)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if n == 0 {
		t.Fatal("Wait: no events although one was due")
	}
	return events[:n]
}

// expectNone polls once and fails if anything is reported.
func expectNone(t *testing.T, p *Poller) {
	t.Helper()
	events := make([]Event, 8)
	n, err := p.Wait(events, 0)
	if err != nil {
		t.Fatalf("Wait(0): %v", err)
	}
	if n != 0 {
		t.Fatalf("Wait(0) reported %v, want nothing", events[:n])
	}
}

// only checks that events is exactly one event for fd with mask want.
func only(t *testing.T, events []Event, fd int, want Mask) {
	t.Helper()
	if len(events) != 1 || events[0].Fd != fd || events[0].Mask != want {
		t.Fatalf("events = %v, want [{%d %v}]", events, fd, want)
	}
}

func TestMaskString(t *testing.T) {
	for _, tc := range []struct {
		m    Mask
		want string
	}{
		{0, "0"},
		{Readable, "Readable"},
		{Readable | Writable, "Readable|Writable"},
		{Readable | HangUp, "Readable|HangUp"},
		{Readable | Writable | HangUp | Error, "Readable|Writable|HangUp|Error"},
		{Writable | 0x40, "Writable|0x40"},
		{0x100, "0x100"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("Mask(%#x).String() = %q, want %q", uint32(tc.m), got, tc.want)
		}
	}
}

func TestReadableAfterWrite(t *testing.T) {
	p := newPoller(t)
	a, b, _ := socketPair(t)
	if err := p.Add(a, Readable); err != nil {
		t.Fatalf("Add: %v", err)
	}
	expectNone(t, p)

	mustWrite(t, b, "ping")
	only(t, waitEvents(t, p), a, Readable)
	// Level-triggered: unread data is reported again.
	only(t, waitEvents(t, p), a, Readable)

	buf := make([]byte, 16)
	n, err := unix.Read(a, buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read = %q, %v; want \"ping\"", buf[:n], err)
	}
	expectNone(t, p)
}

func TestWriteInterestOnDemand(t *testing.T) {
	p := newPoller(t)
	a, _, _ := socketPair(t)
	if err := p.Add(a, Readable); err != nil {
		t.Fatalf("Add: %v", err)
	}
	expectNone(t, p)

	if err := p.Modify(a, Readable, Readable|Writable); err != nil {
		t.Fatalf("Modify add Writable: %v", err)
	}
	only(t, waitEvents(t, p), a, Writable)

	if err := p.Modify(a, Readable|Writable, Readable); err != nil {
		t.Fatalf("Modify drop Writable: %v", err)
	}
	expectNone(t, p)
}

func TestIdleRegistration(t *testing.T) {
	p := newPoller(t)
	a, b, _ := socketPair(t)
	if err := p.Add(a, 0); err != nil {
		t.Fatalf("Add(0): %v", err)
	}
	mustWrite(t, b, "x")
	expectNone(t, p) // registered but idle: data waits
	if err := p.Modify(a, 0, Readable); err != nil {
		t.Fatalf("Modify: %v", err)
	}
	only(t, waitEvents(t, p), a, Readable)
}

func TestHangUpAfterPeerClose(t *testing.T) {
	p := newPoller(t)
	a, b, closeB := socketPair(t)
	if err := p.Add(a, Readable); err != nil {
		t.Fatalf("Add: %v", err)
	}
	mustWrite(t, b, "bye")
	if err := closeB(); err != nil {
		t.Fatalf("close peer: %v", err)
	}
	only(t, waitEvents(t, p), a, Readable|HangUp)

	// The reader drains the last bytes, then sees EOF.
	buf := make([]byte, 16)
	n, err := unix.Read(a, buf)
	if err != nil || string(buf[:n]) != "bye" {
		t.Fatalf("read = %q, %v; want \"bye\"", buf[:n], err)
	}
	if n, err = unix.Read(a, buf); n != 0 || err != nil {
		t.Fatalf("read after drain = %d, %v; want EOF (0, nil)", n, err)
	}
}

// tcpPair returns the accepted server end and the client end of a blocking
// TCP connection over 127.0.0.1, and a function that closes the client early.
func tcpPair(t *testing.T) (server, client int, closeClient func() error) {
	t.Helper()
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	closeAtEnd(t, ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := unix.Listen(ln, 1); err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr, err := unix.Getsockname(ln)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	client, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	closeClient = closeAtEnd(t, client)
	// Loopback connect completes against the backlog without an accept.
	if err := unix.Connect(client, addr); err != nil {
		t.Fatalf("connect: %v", err)
	}
	server, _, err = unix.Accept(ln)
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	closeAtEnd(t, server)
	return server, client, closeClient
}

func TestErrorOnReset(t *testing.T) {
	p := newPoller(t)
	server, client, closeClient := tcpPair(t)
	if err := p.Add(server, Readable); err != nil {
		t.Fatalf("Add: %v", err)
	}
	// SO_LINGER with a zero timeout makes close send RST instead of FIN.
	if err := unix.SetsockoptLinger(client, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		t.Fatalf("SO_LINGER: %v", err)
	}
	if err := closeClient(); err != nil {
		t.Fatalf("close client: %v", err)
	}
	events := waitEvents(t, p)
	if len(events) != 1 || events[0].Fd != server {
		t.Fatalf("events = %v, want one for fd %d", events, server)
	}
	if want := Error | Readable | Writable; events[0].Mask&want != want {
		t.Fatalf("mask = %v, want at least %v", events[0].Mask, want)
	}
	// The I/O path learns the errno from its own syscall.
	buf := make([]byte, 16)
	if _, err := unix.Read(server, buf); !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("read after reset: %v, want ECONNRESET", err)
	}
}

func TestDeleteStopsEvents(t *testing.T) {
	p := newPoller(t)
	a, b, _ := socketPair(t)
	if err := p.Add(a, Readable|Writable); err != nil {
		t.Fatalf("Add: %v", err)
	}
	mustWrite(t, b, "data")
	only(t, waitEvents(t, p), a, Readable|Writable)
	if err := p.Delete(a, Readable|Writable); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	expectNone(t, p) // data is still unread, yet nothing is reported

	var serr *os.SyscallError
	if err := p.Delete(a, Readable|Writable); !errors.As(err, &serr) || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("second Delete: %v, want a *os.SyscallError wrapping ENOENT", err)
	}
}

func TestWaitZeroTimeoutPolls(t *testing.T) {
	p := newPoller(t)
	done := make(chan error, 1)
	go func() {
		events := make([]Event, 4)
		n, err := p.Wait(events, 0)
		if err == nil && n != 0 {
			err = errors.New("events reported on an empty poller")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait(0): %v", err)
		}
	case <-time.After(patience):
		t.Fatal("Wait(0) blocked")
	}
}

func TestWaitPositiveTimeoutExpires(t *testing.T) {
	p := newPoller(t)
	events := make([]Event, 4)
	n, err := p.Wait(events, time.Microsecond)
	if n != 0 || err != nil {
		t.Fatalf("Wait(1µs) = %d, %v; want 0, nil", n, err)
	}
}

func TestWaitNeedsRoom(t *testing.T) {
	p := newPoller(t)
	if _, err := p.Wait(nil, 0); !errors.Is(err, errNoRoom) {
		t.Fatalf("Wait(nil) error = %v, want errNoRoom", err)
	}
}

// waitInBackground runs Wait(-1) on a fresh goroutine. A socket pair is
// registered as a way out: if the test fails before Wait returns, writing to
// it ends the goroutine so nothing leaks.
func waitInBackground(t *testing.T, p *Poller) (result <-chan []Event) {
	t.Helper()
	escape, trigger, _ := socketPair(t)
	if err := p.Add(escape, Readable); err != nil {
		t.Fatalf("Add: %v", err)
	}
	ch := make(chan []Event, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		events := make([]Event, 8)
		n, err := p.Wait(events, -1)
		if err != nil {
			t.Errorf("Wait(-1): %v", err)
		}
		ch <- events[:n]
	}()
	t.Cleanup(func() {
		select {
		case <-done:
			return
		default:
			mustWrite(t, trigger, "x")
		}
		select {
		case <-done:
		case <-time.After(patience):
			t.Error("background Wait(-1) did not return")
		}
	})
	return ch
}

func TestWakeUnblocksWait(t *testing.T) {
	p := newPoller(t)
	result := waitInBackground(t, p)
	woke := make(chan error, 1)
	go func() { woke <- p.Wake() }()
	if err := <-woke; err != nil {
		t.Fatalf("Wake: %v", err)
	}
	select {
	case events := <-result:
		if len(events) != 0 {
			t.Fatalf("Wait after Wake reported %v, want no events", events)
		}
	case <-time.After(patience):
		t.Fatal("Wake did not unblock Wait(-1)")
	}
	expectNone(t, p)
}

func TestWakeBeforeWaitIsKept(t *testing.T) {
	p := newPoller(t)
	if err := p.Wake(); err != nil {
		t.Fatalf("Wake: %v", err)
	}
	result := waitInBackground(t, p)
	select {
	case events := <-result:
		if len(events) != 0 {
			t.Fatalf("Wait reported %v, want no events", events)
		}
	case <-time.After(patience):
		t.Fatal("a Wake before Wait(-1) was lost")
	}
}

func TestWakeRearmsAfterDrain(t *testing.T) {
	p := newPoller(t)
	for range 3 {
		if err := p.Wake(); err != nil {
			t.Fatalf("Wake: %v", err)
		}
		result := waitInBackground(t, p)
		select {
		case <-result:
		case <-time.After(patience):
			t.Fatal("a Wake after a drained one was lost")
		}
	}
}

func TestAddConcurrentWithWait(t *testing.T) {
	p := newPoller(t)
	result := waitInBackground(t, p)
	a, b, _ := socketPair(t)
	mustWrite(t, b, "late")
	if err := p.Add(a, Readable); err != nil {
		t.Fatalf("Add during Wait: %v", err)
	}
	select {
	case events := <-result:
		only(t, events, a, Readable)
	case <-time.After(patience):
		t.Fatal("Wait(-1) did not see a descriptor added while it slept")
	}
}

func TestCloseThenWake(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				if err := p.Wake(); err != nil {
					t.Errorf("Wake racing Close: %v", err)
					return
				}
			}
		})
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if err := p.Wake(); err != nil {
		t.Fatalf("Wake after Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
