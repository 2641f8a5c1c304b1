//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

// readyPair returns a poller with one descriptor that stays readable, so
// every Wait(0) reports it.
func readyPair(tb testing.TB) (*Poller, int) {
	p, err := New()
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		tb.Fatalf("socketpair: %v", err)
	}
	tb.Cleanup(func() {
		p.Close()
		unix.Close(fds[0])
		unix.Close(fds[1])
	})
	if _, err := unix.Write(fds[1], []byte("x")); err != nil {
		tb.Fatalf("write: %v", err)
	}
	if err := p.Add(fds[0], Readable); err != nil {
		tb.Fatalf("Add: %v", err)
	}
	return p, fds[0]
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	p, fd := readyPair(t)
	events := make([]Event, 64)
	p.Wait(events, 0) // first use sizes the kernel event array
	for name, f := range map[string]func(){
		"Wake+Wait(0)": func() {
			if err := p.Wake(); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Wait(events, 0); err != nil {
				t.Fatal(err)
			}
		},
		"Wait(0) ready": func() {
			if n, err := p.Wait(events, 0); n != 1 || err != nil {
				t.Fatalf("Wait = %d, %v; want 1 event", n, err)
			}
		},
		"Modify toggling Writable": func() {
			if err := p.Modify(fd, Readable, Readable|Writable); err != nil {
				t.Fatal(err)
			}
			if err := p.Modify(fd, Readable|Writable, Readable); err != nil {
				t.Fatal(err)
			}
		},
	} {
		if allocs := testing.AllocsPerRun(200, f); allocs != 0 {
			t.Errorf("%s: %v allocs per run, want 0", name, allocs)
		}
	}
}

// BenchmarkWakeWait measures one coalesced wake-up round trip: a kernel
// write by Wake, then Wait(0) consuming it without reporting an event.
func BenchmarkWakeWait(b *testing.B) {
	p, err := New()
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	b.Cleanup(func() { p.Close() })
	events := make([]Event, 64)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Wake(); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Wait(events, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWaitReady measures Wait(0) reporting one level-triggered event.
func BenchmarkWaitReady(b *testing.B) {
	p, _ := readyPair(b)
	events := make([]Event, 64)
	b.ReportAllocs()
	for b.Loop() {
		if n, err := p.Wait(events, 0); n != 1 || err != nil {
			b.Fatalf("Wait = %d, %v", n, err)
		}
	}
}
