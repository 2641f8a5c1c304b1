package loop

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/poller"
	"github.com/airsock/airsock/uring"
)

// completion is the backend over io_uring (backend.go has the contract).
// Each loop owns one ring, set up with SINGLE_ISSUER and DEFER_TASKRUN and
// bound to the loop's OS thread by bind; every turn submits what the turn
// prepared and reaps what completed in one io_uring_enter.
//
// Input: a multishot recv per readable connection picks buffers from the
// loop's provided buffer ring; each completion is kept as a chunk until
// input lends it to OnData in place (or read copies it out) and the buffer
// is recycled. Each recv ends at recvLimit bytes and is re-armed once they
// are read. Pausing a connection cancels its recv, and what had arrived is
// copied out of the buffer ring (spillInput). A recv that ran out of
// buffers (ENOBUFS) is re-armed once some are free.
//
// Output: write copies into the connection's send queue (at most sendHeld
// bytes) and one SEND is in flight per connection, from a buffer that
// nothing else touches until its completion; what is written meanwhile
// collects behind it and leaves with the next SEND, all of it in one, as a
// readiness flush leaves in one writev. A short send continues from where
// it stopped. So write never reports an error the
// kernel has not given yet, and held tells the loop what is still on its
// way (pending output for the marks; a close waits for it).
//
// TCP listeners accept by multishot accept (uring_accept_linux.go). Unix
// listeners and connects in progress, whose syscalls the loop makes itself,
// are watched by an epoll instance that the ring polls (multishot), so poll
// and wake work from any goroutine as with the readiness backend.
//
// Every operation carries user data op<<56 | generation<<32 | fd. closeFd
// cancels what is in flight on the descriptor and closes it, by a CLOSE
// SQE after the cancel (the cancel finds its operations by the
// descriptor, which must still be open then). Their completions may
// come after the number was reused: the slot's generation has moved on, so
// completions of an older one are dropped (their buffers recycled).
type completion struct {
	ring  *uring.Ring
	bufs  *uring.BufRing
	epoll *poller.Poller
	bound bool

	slots  [][]ringSlot // pages of slotPage, by descriptor number: slot
	ready  []int32      // fds with something due, each listed once
	events []poller.Event
	polled []poller.Event // the epoll instance's events

	lent     uint16 // the buffer input handed over in place, while lending
	lending  bool
	epollDue bool    // the epoll instance may have events
	starved  []int32 // recvs ended by ENOBUFS, re-armed once buffers come back
	enobufs  uint64  // how many recvs ended so, for tests
	free     int     // buffers the kernel may pick
	// idle holds the free buffers not handed to the kernel, the most
	// recently used on top: each wait hands over from the top until the
	// kernel has provideTarget, so that recvs land in memory more likely
	// still in the cache than when they cycle through all 4 MiB (profiled
	// at 1 connection, 16 KiB messages: the recv's copy cost 2.8 us with
	// this, 4 us without, 0.5 us for epoll's read into its one buffer).
	idle          []uint16
	provideTarget int
	grown         uint64 // enobufs when provideTarget last grew
	lowFree       int    // the fewest free buffers the kernel had at a wait, this period
	provideTurns  int    // waits in this period
	inflight      int    // operations whose last completion has not come
	orphans       map[uint64]*sendQueue
	accepts       []*ringAccept // listeners: uring_accept_linux.go
	acceptIDs     uint32
	ringAccepted  uint64 // connections the ring's accepts took, for tests
	spareSend     []*sendQueue
	spareBufs     [][]byte
	spareIn       []*slotInput
	freed         *atomic.Int64 // the engine's count of dropped memory: see scavenge.go
	sentBytes     counter       // bytes the kernel took from sends: bytesSent
}

// ringSlot is the backend's state of one connection descriptor.
// It is small (32 bytes, TestRingSlotSize) because the table has one per
// descriptor number: what a connection has received waits in its
// slotInput, taken from a spare list while input is pending.
type ringSlot struct {
	gen    uint32
	want   poller.Mask // what the loop watches
	due    poller.Mask // what to report: input in hand, a send completed
	flags  uint8
	listed bool
	in     *slotInput // nil while nothing is received and not read
	out    *sendQueue // nil while nothing is held for sending
}

// slotInput is what a connection received and the loop has not read.
type slotInput struct {
	chunks []recvChunk // received, behind spill
	spill  []byte      // input of a paused connection, copied out of the buffer ring
	err    error       // after the input: io.EOF or the recv's error
}

const (
	recvArmed    = 1 << iota // a multishot recv is in flight
	recvStopping             // its cancel is submitted
)

// recvChunk is the unread part of one completed recv: n bytes at off in
// provided buffer bid.
type recvChunk struct {
	bid    uint16
	off, n int32
}

// sendQueue holds a connection's bytes on their way to the kernel: one
// buffer in flight (sent so far: done) and one filling behind it.
type sendQueue struct {
	flight []byte
	done   int
	next   []byte
	err    error // the send failed: the connection is finished
}

// The ring's sizes. The buffer ring's memory is committed only as the
// kernel first fills each buffer: at most bufCount*bufSize per loop.
const (
	sqEntries = 1024
	cqEntries = 8192
	bufCount  = 256
	bufSize   = 16 << 10
	sendBuf   = 17 << 10 // a send buffer's first size, 16 KiB and a TLS record's overhead (tls.go); it grows to sendHeld
	sendHeld  = 1 << 20  // per connection, in flight and queued
	// sendAllowance of what a connection's sends hold stands for the
	// socket buffer that takes a reply at once under epoll; the rest counts
	// as pending output for the loop's marks (held).
	sendAllowance = 64 << 10

	maxSpareIn   = 1024 // slotInputs kept per loop
	maxSpareBufs = 256  // send buffers of sendBuf kept per loop: 4.25 MiB

	// recvLimit ends each multishot recv after this many bytes (Linux
	// 6.17's byte limit), and the next is armed only once the loop has
	// read all of them. So a connection the loop paused holds at most this
	// much more, and no connection takes more than its share of buffers
	// in one round.
	recvLimit = bufSize

	// minProvided is the fewest free buffers the kernel is given at each
	// wait (provide): enough for a few connections' recvs in one turn,
	// few enough to stay in the cache. provideWindow is how many waits
	// show that fewer would do.
	minProvided   = 16
	provideWindow = 1024
)

// Operations, in the top byte of user data.
const (
	opRecv = iota + 1
	opSend
	opEpoll
	opAccept
	opOther // cancel, close: nothing to do with the result
)

func userData(op int, gen uint32, fd int) uint64 {
	return uint64(op)<<56 | uint64(gen&0xffffff)<<32 | uint64(uint32(fd))
}

func splitUserData(ud uint64) (op int, gen uint32, fd int) {
	return int(ud >> 56), uint32(ud>>32) & 0xffffff, int(int32(uint32(ud)))
}

// newCompletion sets up a disabled ring (bind enables it on the loop's
// thread), its buffer ring and the epoll instance. Anything the kernel
// refuses (no io_uring, a seccomp filter, RLIMIT_MEMLOCK), and a kernel
// before 6.17, is ErrBackendUnavailable.
func newCompletion(freed *atomic.Int64) (backend, error) {
	if freed == nil {
		freed = new(atomic.Int64)
	}
	unavailable := func(err error) error { return fmt.Errorf("%w: io_uring: %w", ErrBackendUnavailable, err) }
	if err := uringProbe(); err != nil {
		return nil, unavailable(err)
	}
	if !uring.KernelAtLeast(6, 17) {
		return nil, unavailable(errors.New("the backend needs Linux 6.17 (multishot recv byte limits)"))
	}
	ring, err := uring.NewWithCQ(sqEntries, cqEntries,
		uring.SetupSingleIssuer|uring.SetupDeferTaskrun|uring.SetupRDisabled|uring.SetupSubmitAll)
	if err != nil {
		return nil, unavailable(err)
	}
	if ring.Features()&uring.FeatExtArg == 0 {
		ring.Close()
		return nil, unavailable(errors.New("no timed waits (IORING_FEAT_EXT_ARG, Linux 5.11)"))
	}
	bufs, err := ring.NewBufRingProviding(0, bufCount, bufSize, minProvided)
	if err != nil {
		ring.Close()
		return nil, unavailable(err)
	}
	ep, err := poller.New()
	if err != nil {
		bufs.Close()
		ring.Close()
		return nil, err
	}
	return &completion{
		ring: ring, bufs: bufs, epoll: ep,
		events:        make([]poller.Event, 0, 256),
		polled:        make([]poller.Event, 64),
		orphans:       make(map[uint64]*sendQueue),
		free:          minProvided,
		idle:          idleBufs(),
		provideTarget: minProvided,
		lowFree:       minProvided,
		freed:         freed,
	}, nil
}

// idleBufs returns the buffers NewBufRingProviding held back, the
// lowest id on top.
func idleBufs() []uint16 {
	idle := make([]uint16, 0, bufCount)
	for bid := bufCount - 1; bid >= minProvided; bid-- {
		idle = append(idle, uint16(bid))
	}
	return idle
}

// uringProbe stands in for the kernel's refusal in tests of the fallback.
var uringProbe = func() error { return nil }

func (u *completion) ownsThread() bool { return true }
func (u *completion) pollApart() bool  { return true }

// syscalls returns the ring's io_uring_enter calls: the backend's I/O
// goes through the ring, and a turn's submissions and completions share
// one call. Any goroutine.
func (u *completion) syscalls() uint64 { return u.ring.Enters() }

func (u *completion) bytesSent() uint64 { return u.sentBytes.load() }

// bind makes the loop's thread the ring's only submitter and starts
// watching the epoll instance.
func (u *completion) bind() error {
	if err := u.ring.EnableRings(); err != nil {
		return err
	}
	u.bound = true
	u.armEpoll()
	return nil
}

func (u *completion) armEpoll() {
	u.sqe().PrepPollMultishot(u.epoll.Fd(), unix.POLLIN, userData(opEpoll, 0, 0))
	u.inflight++
}

// sqe returns a free submission entry, submitting the prepared ones first
// if the queue is full.
func (u *completion) sqe() *uring.SQE {
	for {
		if s := u.ring.GetSQE(); s != nil {
			return s
		}
		if _, err := u.ring.Submit(0); err != nil {
			// Nothing was consumed and the queue stays full: the kernel
			// refuses this ring, so there is no recovering.
			panic(fmt.Sprintf("loop: io_uring submit with a full queue: %v", err))
		}
	}
}

// slotPage is how many descriptor numbers one page of the slot table
// covers. Every loop's table covers the descriptor numbers of the whole
// process, so it is paged, not one slice that doubles: it grows by a page
// at a time and never leaves a copy behind (32 bytes a descriptor number,
// not up to 96 with the old copies not yet returned to the OS).
const slotPage = 1024

// slot returns fd's slot, adding pages to the table as needed.
func (u *completion) slot(fd int) *ringSlot {
	p := fd / slotPage
	for p >= len(u.slots) {
		u.slots = append(u.slots, make([]ringSlot, slotPage))
	}
	return &u.slots[p][fd%slotPage]
}

// list puts fd on the ready list once.
func (u *completion) list(fd int, s *ringSlot) {
	if !s.listed {
		s.listed = true
		u.ready = append(u.ready, int32(fd))
	}
}

func (u *completion) wait(timeout time.Duration) ([]poller.Event, error) {
	u.events = u.events[:0]
	u.returnLent()
	u.provide()
	if n := min(u.free, len(u.starved)); n > 0 {
		// At most as many starved recvs as there are buffers, oldest
		// first: more would only end with ENOBUFS again.
		for _, fd := range u.starved[:n] {
			u.armRecv(int(fd), u.slot(int(fd)))
		}
		u.starved = u.starved[:copy(u.starved, u.starved[n:])]
	}
	u.armAccepts()
	if len(u.ready) > 0 || u.epollDue || u.acceptsDue(false) {
		timeout = 0
	}
	var err error
	if timeout == 0 {
		err = u.ring.SubmitAndReap()
	} else {
		err = u.ring.SubmitAndWait(timeout)
	}
	u.reap()
	u.acceptsDue(true)
	if u.epollDue {
		n, perr := u.epoll.Wait(u.polled, 0)
		// More may be ready than one call returns (level-triggered
		// listeners), and the ring's poll fires on new events only: poll
		// again next turn until the instance is empty.
		u.epollDue = n > 0
		u.events = append(u.events, u.polled[:n]...)
		err = errors.Join(err, perr)
	}
	for _, fd := range u.ready {
		s := u.slot(int(fd))
		s.listed = false
		switch m := s.due & s.want; {
		case s.flags&packetSlot != 0:
			// A poll's report, all of it at once (an error with the input
			// or the room it came with, as epoll reports it); the next
			// comes with the next wake-up, or packetAgain.
			if m |= s.due & poller.Error; m != 0 {
				u.events = append(u.events, poller.Event{Fd: int(fd), Mask: m})
				s.due &^= m
			}
		case s.due&poller.Error != 0:
			u.events = append(u.events, poller.Event{Fd: int(fd), Mask: poller.Error})
			s.due &^= poller.Error
		case m != 0:
			u.events = append(u.events, poller.Event{Fd: int(fd), Mask: m})
			s.due &^= poller.Writable // one report per completed send; input stays due until read
		}
	}
	u.ready = u.ready[:0]
	return u.events, err
}

// reap handles every completion posted.
func (u *completion) reap() {
	for cqe := u.ring.PeekCQE(); cqe != nil; cqe = u.ring.PeekCQE() {
		ud, res, flags := cqe.UserData, cqe.Res, cqe.Flags
		u.ring.SeenCQE()
		if flags&uring.CQEMore == 0 {
			u.inflight--
		}
		op, gen, fd := splitUserData(ud)
		switch op {
		case opRecv:
			u.received(fd, gen, res, flags)
		case opSend:
			u.sent(ud, fd, gen, res)
		case opAccept:
			u.accepted(gen, res, flags)
		case opPollIn, opPollOut:
			u.pollDone(op, fd, gen, res, flags)
		case opEpoll:
			u.epollDue = true
			if flags&uring.CQEMore == 0 && u.bound {
				u.armEpoll()
			}
		}
	}
}

// armRecv starts fd's multishot recv unless one is in flight or its input
// has ended.
func (u *completion) armRecv(fd int, s *ringSlot) {
	if s.flags&recvArmed != 0 || s.want&poller.Readable == 0 || s.in != nil {
		return // armed, not wanted, or input (or its end) not all read
	}
	sqe := u.sqe()
	sqe.PrepRecvMultishot(fd, u.bufs.Group(), userData(opRecv, s.gen, fd))
	sqe.SetRecvLimit(recvLimit)
	s.flags |= recvArmed
	u.inflight++
}

// received handles a recv completion: data becomes a chunk, the end of the
// stream or an error follows the chunks, and a recv that ended is armed
// again if the loop still wants input.
func (u *completion) received(fd int, gen uint32, res int32, flags uint32) {
	bid := uint16(flags >> uring.CQEBufferShift)
	hasBuf := flags&uring.CQEBuffer != 0
	if hasBuf {
		u.free--
	}
	s := u.slot(fd)
	if s.gen&0xffffff != gen { // the descriptor was closed since
		if hasBuf {
			u.recycle(bid)
		}
		return
	}
	if flags&uring.CQEMore == 0 {
		s.flags &^= recvArmed | recvStopping
	}
	errno := syscall.Errno(-res)
	switch {
	case res > 0 && hasBuf:
		in := u.inputOf(s)
		in.chunks = append(in.chunks, recvChunk{bid: bid, n: res})
		hasBuf = false
		s.due |= poller.Readable
		if s.want&poller.Readable == 0 {
			u.spillInput(s) // arrived as the loop paused it: free the ring's buffer
		} else {
			u.list(fd, s)
		}
	case res == 0:
		u.inputOf(s).err = io.EOF
		s.due |= poller.Readable
		u.list(fd, s)
	case errno == unix.ENOBUFS:
		u.starved = append(u.starved, int32(fd))
		u.enobufs++
	case errno == unix.ECANCELED: // paused by watch; armed again below if wanted since
	case res < 0:
		u.inputOf(s).err = os.NewSyscallError("recv", errno)
		s.due |= poller.Readable
		u.list(fd, s)
	}
	if hasBuf {
		u.recycle(bid)
	}
	if errno != unix.ENOBUFS {
		u.armRecv(fd, s)
	}
}

// inputOf returns s's input, taking one from the spares if s has none.
func (u *completion) inputOf(s *ringSlot) *slotInput {
	if s.in == nil {
		if n := len(u.spareIn); n > 0 {
			s.in = u.spareIn[n-1]
			u.spareIn = u.spareIn[:n-1]
		} else {
			s.in = &slotInput{}
		}
	}
	return s.in
}

// releaseInput gives back s's input once it is all read and did not end.
func (u *completion) releaseInput(s *ringSlot) {
	in := s.in
	if in == nil || len(in.chunks) > 0 || len(in.spill) > 0 || in.err != nil {
		return
	}
	s.in = nil
	if cap(in.chunks) > 8 || len(u.spareIn) >= maxSpareIn {
		return // a large one, or enough spares: garbage
	}
	u.spareIn = append(u.spareIn, in)
}

// recycle keeps buffer bid for the next provide.
func (u *completion) recycle(bid uint16) {
	u.idle = append(u.idle, bid)
}

// provide hands the kernel buffers from the top of idle until it has
// provideTarget free. The target doubles when a recv found none
// (ENOBUFS), and halves, down to minProvided, after a period of
// provideWindow waits in which the kernel never used more than half.
func (u *completion) provide() {
	u.lowFree = min(u.lowFree, u.free)
	if u.enobufs != u.grown {
		u.grown = u.enobufs
		u.provideTarget = min(bufCount, 2*u.provideTarget)
		u.lowFree, u.provideTurns = u.provideTarget, 0
	} else if u.provideTurns++; u.provideTurns >= provideWindow {
		if u.lowFree > u.provideTarget/2 {
			u.provideTarget = max(minProvided, u.provideTarget/2)
		}
		u.lowFree, u.provideTurns = u.provideTarget, 0
	}
	n := 0
	for u.free < u.provideTarget && len(u.idle) > 0 {
		bid := u.idle[len(u.idle)-1]
		u.idle = u.idle[:len(u.idle)-1]
		u.bufs.Recycle(bid)
		u.free++
		n++
	}
	if n > 0 {
		u.bufs.Publish()
	}
}

func (u *completion) wake() error { return u.epoll.Wake() }

func (u *completion) poll(fd int, old, want poller.Mask) error {
	return pollerWatch(u.epoll, fd, old, want)
}

// watch arms or cancels fd's recv and reports at the next wait what became
// due while it was not watched: input in hand, or room to send.
func (u *completion) watch(fd int, _, want poller.Mask) error {
	s := u.slot(fd)
	added := want &^ s.want
	s.want = want
	if want&poller.Readable != 0 {
		u.armRecv(fd, s)
	} else {
		u.stopRecv(fd, s)
		u.spillInput(s)
	}
	if added&poller.Readable != 0 && s.in != nil {
		u.list(fd, s)
	}
	if all, _ := u.held(fd); added&poller.Writable != 0 && all == 0 {
		s.due |= poller.Writable
		u.list(fd, s)
	}
	return nil
}

// stopRecv cancels fd's recv, if one is armed and not already stopping.
func (u *completion) stopRecv(fd int, s *ringSlot) {
	if s.flags&(recvArmed|recvStopping) == recvArmed {
		u.sqe().PrepCancel(userData(opRecv, s.gen, fd), userData(opOther, 0, fd))
		u.inflight++
		s.flags |= recvStopping
	}
}

// spillInput copies a paused connection's chunks out of the buffer ring,
// so that connections the loop does not read cannot starve the others of
// buffers. What it holds is what arrived before the recv's cancel took
// effect: the unread rest of a chunk and one more recv, at most two
// recvLimits.
func (u *completion) spillInput(s *ringSlot) {
	in := s.in
	if in == nil {
		return
	}
	for _, ch := range in.chunks {
		in.spill = append(in.spill, u.bufs.Bytes(ch.bid, int(ch.off+ch.n))[ch.off:]...)
		u.recycle(ch.bid)
	}
	in.chunks = in.chunks[:0]
}

// dropSpill lets in's spill go, counted for the scavenger.
func (u *completion) dropSpill(in *slotInput) {
	u.freed.Add(int64(cap(in.spill)))
	in.spill = nil
}

// read copies fd's received input into a, then b: the spilled bytes, then
// the chunks.
func (u *completion) read(fd int, a, b []byte) (int, error) {
	s := u.slot(fd)
	in := s.in
	if in == nil {
		return 0, nil
	}
	n := 0
	if len(in.spill) > 0 {
		n, a, b = fill(a, b, in.spill)
		in.spill = in.spill[:copy(in.spill, in.spill[n:])]
		if len(in.spill) == 0 {
			u.dropSpill(in) // a paused connection's memory, not kept
		}
	}
	for len(in.chunks) > 0 && len(a)+len(b) > 0 {
		ch := &in.chunks[0]
		k, a2, b2 := fill(a, b, u.bufs.Bytes(ch.bid, int(ch.off+ch.n))[ch.off:])
		a, b = a2, b2
		n += k
		ch.off += int32(k)
		ch.n -= int32(k)
		if ch.n > 0 {
			break
		}
		u.recycle(ch.bid)
		in.chunks = in.chunks[:copy(in.chunks, in.chunks[1:])]
	}
	return n, u.afterRead(fd, s, n)
}

// input hands over fd's input in place when it is one whole chunk that
// fits buf (the common case: what one recv brought), lent until the next
// input or wait; otherwise it copies into buf as read does.
func (u *completion) input(fd int, buf []byte) ([]byte, error) {
	u.returnLent()
	s := u.slot(fd)
	in := s.in
	// Not more than buf would hold: the loop keeps what OnData leaves in a
	// ring sized for one read of buf's size.
	if in == nil || len(in.spill) > 0 || len(in.chunks) != 1 || in.chunks[0].off != 0 || int(in.chunks[0].n) > len(buf) {
		n, err := u.read(fd, buf, nil)
		return buf[:n], err
	}
	ch := in.chunks[0]
	in.chunks = in.chunks[:0]
	u.lent, u.lending = ch.bid, true
	return u.bufs.Bytes(ch.bid, int(ch.n)), u.afterRead(fd, s, int(ch.n))
}

// returnLent recycles the buffer input lent.
func (u *completion) returnLent() {
	if u.lending {
		u.lending = false
		u.recycle(u.lent)
	}
}

// afterRead gives back an input all read, re-arms the recv, keeps fd
// reported while input (or its end) remains, and returns the end once n
// bytes were the last of it.
func (u *completion) afterRead(fd int, s *ringSlot, n int) error {
	u.releaseInput(s)
	u.armRecv(fd, s)
	in := s.in
	if in == nil {
		s.due &^= poller.Readable
		return nil
	}
	pending := len(in.spill) > 0 || len(in.chunks) > 0
	if pending || n > 0 {
		u.list(fd, s) // more in hand, or the end after it: report it next turn
		return nil
	}
	return in.err
}

// fill copies data into a, then b, and returns how much it copied and what
// is left of a and b.
func fill(a, b, data []byte) (int, []byte, []byte) {
	k := copy(a, data)
	a = a[k:]
	k2 := copy(b, data[k:])
	return k + k2, a, b[k2:]
}

// write copies a, then b, into fd's send queue, as much as sendHeld
// allows, and starts a send if none is in flight.
func (u *completion) write(fd int, a, b []byte) (int, error) {
	s := u.slot(fd)
	q := s.out
	if q == nil {
		q = u.newSendQueue()
		s.out = q
	}
	if q.err != nil {
		return 0, q.err
	}
	room := sendHeld - (len(q.flight) - q.done) - len(q.next)
	ka := min(room, len(a))
	kb := min(room-ka, len(b))
	if ka+kb == 0 {
		return 0, nil // full: the rest when the send in flight completes
	}
	if q.next == nil {
		q.next = u.getSendBuf()
	}
	if need := len(q.next) + ka + kb; need > cap(q.next) {
		// Grown here rather than by append, so that the array left
		// behind is counted for the scavenger (putSendBuf).
		grown := make([]byte, len(q.next), max(need, 2*cap(q.next)))
		copy(grown, q.next)
		u.putSendBuf(q.next)
		q.next = grown
	}
	q.next = append(append(q.next, a[:ka]...), b[:kb]...)
	if q.flight == nil {
		u.startSend(fd, s)
	}
	n := ka + kb
	return n, nil
}

// startSend puts the filling buffer in flight.
func (u *completion) startSend(fd int, s *ringSlot) {
	q := s.out
	q.flight, q.next, q.done = q.next, nil, 0
	u.sqe().PrepSend(fd, q.flight, unix.MSG_NOSIGNAL, userData(opSend, s.gen, fd))
	u.inflight++
}

// sent handles a send completion: a short send goes on from where it
// stopped, a finished one lets the next buffer go, and a waiting close or
// a connection with output queued above hears that it may go on.
func (u *completion) sent(ud uint64, fd int, gen uint32, res int32) {
	if res > 0 {
		u.sentBytes.add(uint64(res)) // a closed connection's last sends too: they left
	}
	s := u.slot(fd)
	if s.gen&0xffffff != gen {
		if q := u.orphans[ud]; q != nil {
			delete(u.orphans, ud)
			u.freeSendQueue(q)
		}
		return
	}
	q := s.out
	switch {
	case res < 0:
		q.err = os.NewSyscallError("send", syscall.Errno(-res))
		if in := u.inputOf(s); in.err == nil {
			in.err = q.err // so the recv is not re-armed, and a read hears of it
		}
		u.putSendBuf(q.flight)
		q.flight = nil
		// Reported whatever the loop watches: a paused connection with
		// its output all in sends would otherwise never hear of it.
		s.due |= poller.Error
		u.list(fd, s)
		return
	case q.done+int(res) < len(q.flight):
		q.done += int(res)
		u.sqe().PrepSend(fd, q.flight[q.done:], unix.MSG_NOSIGNAL, ud)
		u.inflight++
		if res > 0 && s.want&poller.Writable != 0 {
			s.due |= poller.Writable // progress: for the write timeout and the marks
			u.list(fd, s)
		}
		return
	}
	sentBuf := q.flight[:0]
	q.flight = nil
	if len(q.next) > 0 {
		u.startSend(fd, s)
		// The sent buffer fills behind the new send: a pipelining
		// connection's two buffers take turns, grown once to what it
		// needs, rather than a larger array made for each send.
		q.next = sentBuf
	} else {
		u.putSendBuf(sentBuf)
		u.dropSendQueue(s)
	}
	if s.want&poller.Writable != 0 {
		s.due |= poller.Writable
		u.list(fd, s)
	}
}

func (u *completion) failure(fd int) error {
	if q := u.slot(fd).out; q != nil {
		return q.err
	}
	return nil
}

func (u *completion) canWrite(fd int, _ bool) bool {
	all, _ := u.held(fd)
	return all < sendHeld
}

func (u *completion) held(fd int) (all, over int) {
	q := u.slot(fd).out
	if q == nil {
		return 0, 0
	}
	all = len(q.flight) - q.done + len(q.next)
	return all, max(0, all-sendAllowance)
}

// getSendBuf returns an empty send buffer of capacity sendBuf or more.
func (u *completion) getSendBuf() []byte {
	if n := len(u.spareBufs); n > 0 {
		b := u.spareBufs[n-1]
		u.spareBufs = u.spareBufs[:n-1]
		return b
	}
	return make([]byte, 0, sendBuf)
}

// putSendBuf keeps b for reuse, up to a bound; the rest is garbage,
// counted for the scavenger.
func (u *completion) putSendBuf(b []byte) {
	if len(u.spareBufs) < maxSpareBufs && cap(b) == sendBuf {
		u.spareBufs = append(u.spareBufs, b[:0])
		return
	}
	u.freed.Add(int64(cap(b)))
}

func (u *completion) newSendQueue() *sendQueue {
	if n := len(u.spareSend); n > 0 {
		q := u.spareSend[n-1]
		u.spareSend = u.spareSend[:n-1]
		return q
	}
	return &sendQueue{}
}

// dropSendQueue gives back an idle connection's queue (an error stays).
func (u *completion) dropSendQueue(s *ringSlot) {
	if q := s.out; q != nil && q.err == nil {
		s.out = nil
		u.freeSendQueue(q)
	}
}

// freeSendQueue returns q's buffers to the pool and q to the spares.
func (u *completion) freeSendQueue(q *sendQueue) {
	if q.flight != nil {
		u.putSendBuf(q.flight)
	}
	if q.next != nil {
		u.putSendBuf(q.next)
	}
	*q = sendQueue{}
	if len(u.spareSend) < 1024 {
		u.spareSend = append(u.spareSend, q)
	}
}

// closeFd drops what fd holds and closes it by SQE, after cancelling what
// is in flight on it.
func (u *completion) closeFd(fd int) error {
	s := u.slot(fd)
	if in := s.in; in != nil {
		for _, ch := range in.chunks {
			u.recycle(ch.bid)
		}
		in.chunks = in.chunks[:0]
		u.dropSpill(in)
		in.err = nil
		u.releaseInput(s)
	}
	busy := s.flags&recvArmed != 0
	if q := s.out; q != nil {
		if q.flight != nil {
			busy = true
			u.orphans[userData(opSend, s.gen, fd)] = q // alive until its completion
		} else {
			u.freeSendQueue(q)
		}
	}
	*s = ringSlot{gen: s.gen + 1, listed: s.listed}
	if !u.bound {
		return unix.Close(fd) // no turn will submit a CLOSE
	}
	if busy {
		u.sqe().PrepCancelFd(fd, userData(opOther, 0, fd))
		u.inflight++
	}
	// By SQE even when nothing is in flight: it leaves with the turn's
	// enter, one syscall fewer per connection.
	u.sqe().PrepClose(fd, userData(opOther, 0, fd))
	u.inflight++
	return nil
}

// close cancels whatever is still in flight, waits (bounded) for the
// completions, so that no buffer is unmapped while the kernel may use it,
// and releases the ring, the buffers and the epoll instance.
func (u *completion) close() error {
	u.returnLent()
	drained := !u.bound
	if u.bound {
		u.bound = false
		s := u.sqe()
		s.PrepCancel(0, userData(opOther, 0, 0))
		s.OpFlags = uring.CancelAny | uring.CancelAll
		u.inflight++
		deadline := time.Now().Add(5 * time.Second)
		for u.inflight > 0 && time.Now().Before(deadline) {
			if err := u.ring.SubmitAndWait(10 * time.Millisecond); err != nil {
				break
			}
			u.reap()
		}
		drained = u.inflight <= 0
	}
	u.closeAccepts()
	var errs []error
	if drained {
		errs = append(errs, u.bufs.Close())
	} // else leave the buffers mapped: the kernel may still write them
	errs = append(errs, u.ring.Close(), u.epoll.Close())
	return errors.Join(errs...)
}

// ioUringHeld is the most the backend holds per connection beyond what
// the loop's marks bound in its own ring: input received as the loop
// paused it (the rest of the chunk the pause left unread, and what the
// armed recv brought before its cancel took effect, up to its recvLimit:
// two recvLimits; arming recvs only at the turn's end did not lower it),
// and the sends' allowance (pending output past the marks may sit in sends
// rather than in the ring, but it is counted there).
const ioUringHeld = 2*recvLimit + sendAllowance
