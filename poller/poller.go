//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

// Package poller is airsock's OS readiness layer: it tells the event loop in
// package loop which descriptors can be read or written, using epoll on Linux
// and kqueue on the BSDs and macOS. It never calls user code and owns nothing
// but its kernel objects; task queues, timers and buffers live in loop.
//
// # Contract
//
// One backend file per OS family (epoll_linux.go, kqueue_bsd.go) defines the
// same small set of methods on Poller (checked below at compile time):
//
//   - New creates the kernel object and its wake-up channel.
//   - Add registers fd with an interest of Readable and/or Writable; 0 keeps fd
//     registered but idle. Modify moves fd from interest old to interest new;
//     Delete stops watching fd and must be called before fd is closed. old is
//     the interest last set, which kqueue needs to know which filters to add or
//     delete.
//   - Wait fills events[:n], at most len(events), with ready descriptors.
//     timeout < 0 blocks, 0 polls, > 0 waits at most that long (to the
//     nanosecond with epoll_pwait2 where the kernel has it, Linux 5.11 on;
//     rounded up to a whole millisecond with epoll_wait before). A signal interrupting the wait (EINTR)
//     returns (0, nil). Wake-ups are consumed inside Wait and never reported,
//     so Wait may return n == 0 before the timeout. Wait does not allocate in
//     steady state: its kernel event array grows only when len(events) does.
//   - Wake makes a blocked or future Wait return. Wakes are coalesced with an
//     atomic flag: at most one kernel write until Wait drains it.
//   - Close releases the kernel objects.
//
// Wait, Add, Modify, Delete and Close are meant for the loop goroutine. Add,
// Modify and Delete may also be called from other goroutines concurrently
// with a blocked Wait: epoll_ctl and kevent changes are safe against a
// concurrent epoll_wait/kevent wait on the same kernel object. Wake may be
// called from any goroutine at any time, also during and after Close (it then
// does nothing).
//
// # Level-triggered, with write interest on demand
//
// Registrations are level-triggered: a descriptor is reported on every Wait
// for as long as it stays ready. The loop keeps read interest on for the life
// of a connection and adds write interest only while output is pending after
// a short write, removing it once the backlog is flushed. Steady-state traffic
// (read a request, write the whole reply at once) therefore costs no
// epoll_ctl or kevent change per message. Edge-triggered registration would
// also avoid those calls, but it obliges the loop to read and write until
// EAGAIN on every event, or to remember by itself which descriptors still have
// unread data; a level-triggered poller lets the loop read a bounded amount
// per cycle for fairness and simply be told again next time.
//
// # Hang-ups and errors
//
// HangUp is always reported together with Readable, so the loop reads the
// remaining data and then sees EOF from read. Error is always reported
// together with Readable|Writable, so the loop learns the actual errno from
// its next read or write. On epoll the kernel reports hang-ups and errors even
// for a descriptor registered with interest 0; kqueue reports nothing for it.
// Such a descriptor is dead either way and the loop should close it.
package poller

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mask is a set of readiness or interest bits.
type Mask uint32

const (
	// Readable means data, EOF or a pending connection can be read or accepted.
	Readable Mask = 1 << iota
	// Writable means the send buffer has room, or a non-blocking connect finished.
	Writable
	// HangUp means the peer hung up (epoll EPOLLHUP or EPOLLRDHUP, kqueue
	// EV_EOF). It always comes with Readable so the reader drains, then sees EOF.
	HangUp
	// Error means the descriptor has a pending error (epoll EPOLLERR, kqueue
	// EV_ERROR or EV_EOF with an errno). It always comes with Readable|Writable
	// so the I/O path discovers the error through its own syscall.
	Error
)

// maskNames lists each bit's name in bit order, for String.
var maskNames = [...]string{"Readable", "Writable", "HangUp", "Error"}

// String returns the set bits joined by "|", e.g. "Readable|Writable", "0"
// for the empty mask, and unknown bits in hex. It may be called from any
// goroutine; it allocates, so keep it off hot paths.
func (m Mask) String() string {
	if m == 0 {
		return "0"
	}
	var b strings.Builder
	for i, name := range maskNames {
		if m&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(name)
	}
	if rest := m &^ (1<<len(maskNames) - 1); rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString("0x")
		b.WriteString(strconv.FormatUint(uint64(rest), 16))
	}
	return b.String()
}

// Event is one ready descriptor as reported by Wait.
type Event struct {
	// Fd is the descriptor that became ready.
	Fd int
	// Mask holds the readiness bits; it is never 0.
	Mask Mask
}

// backend is the contract each per-OS Poller implements; see the package doc.
type backend interface {
	Add(fd int, interest Mask) error
	Modify(fd int, old, interest Mask) error
	Delete(fd int, old Mask) error
	Wait(events []Event, timeout time.Duration) (int, error)
	Wake() error
	Close() error
}

var _ backend = (*Poller)(nil)

// errNoRoom is returned by Wait for an empty events slice, which would make
// epoll_wait fail with EINVAL and kevent return at once, spinning the loop.
var errNoRoom = errors.New("poller: Wait needs a non-empty events slice")

// wakeGate coalesces Wake calls and keeps them off closed descriptors. Both
// backends hold one; only the kernel write and drain differ per OS.
type wakeGate struct {
	// pending is set by the Wake that signals the kernel and cleared by Wait
	// after draining, so at most one signal is in flight.
	pending atomic.Bool
	// mu is read-held around the kernel write and write-held by Close, so a
	// Wake never writes to a descriptor number that Close already released.
	mu     sync.RWMutex
	closed bool
}

// begin reports whether the caller must signal the kernel. On true the
// caller holds g.mu for reading and must pass the signal's result to end.
func (g *wakeGate) begin() bool {
	if !g.pending.CompareAndSwap(false, true) {
		return false // a signal is already in flight; Wait will see it
	}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return false
	}
	return true
}

// end releases what begin took and returns err. A failed signal re-arms the
// gate so that a later Wake tries again instead of being coalesced forever.
func (g *wakeGate) end(err error) error {
	if err != nil {
		g.pending.Store(false)
	}
	g.mu.RUnlock()
	return err
}

// drained re-arms the gate; Wait calls it after consuming the signal. Clearing
// after the drain, not before, means a Wake racing with it either finds the
// flag still set, and its work is picked up by the loop iteration that follows
// this Wait, or signals afresh.
func (g *wakeGate) drained() { g.pending.Store(false) }

// shut marks the gate closed, waiting out any in-flight kernel write, and
// reports whether it was already closed. Wakes after shut do nothing.
func (g *wakeGate) shut() (already bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	already = g.closed
	g.closed = true
	g.pending.Store(true)
	return already
}
