package loop

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/buffer"
	"github.com/airsock/airsock/poller"
)

// The send path of datagram sockets. A datagram is addressed when it is
// written (its destination is in its header from then on, so a Connect
// before it leaves cannot redirect it), staged in the loop's stage, and
// sent with the stage: one sendmmsg per run of one socket's datagrams.
// What a socket's kernel buffer cannot take waits in its queue. No handler
// code runs while the stage or a queue's batch is being sent: refusals and
// drops are noted and told to OnError once the send is over
// (reportPacketErrors), so a handler that writes from OnError stages into
// an empty stage and never into the one being sent.

// WriteTo sends b to the datagram socket at to. It is staged and leaves
// with the loop's other staged datagrams when the current batch ends (one
// sendmmsg per socket), so b may be reused on return. A datagram the
// kernel buffer cannot take waits in the socket's queue, up to
// Config.PacketQueueBytes; beyond that it is dropped and OnError hears of
// it (*DroppedError). On a connected socket, to may be its peer; on Linux
// any address (the kernel sends there), elsewhere only the peer.
// ErrNoAddress: to cannot be sent to from this socket. Loop goroutine.
func (pc *PacketConn) WriteTo(b []byte, to PacketAddr) (int, error) {
	if pc.state != stateOpen {
		return 0, ErrClosed
	}
	return len(b), pc.loop.stagePacket(pc, b, to)
}

// Write sends b to a connected socket's peer, as WriteTo does.
// ErrNoAddress on a socket that is not connected. Loop goroutine.
func (pc *PacketConn) Write(b []byte) (int, error) {
	if pc.state != stateOpen {
		return 0, ErrClosed
	}
	peer := pc.peer.Load()
	if peer == nil {
		return 0, ErrNoAddress
	}
	return len(b), pc.loop.stagePacket(pc, b, *peer)
}

// address writes the header name for a datagram from pc to to: the
// address, or none for the peer of a connected socket where the kernel
// refuses one (the BSDs: EISCONN). It returns false if to cannot be sent
// to from pc.
func (pc *PacketConn) address(h *unix.Msghdr, name *unix.RawSockaddrAny, to PacketAddr) bool {
	if !namedOnConnected {
		if peer := pc.peer.Load(); peer != nil {
			if !samePeer(to, *peer) {
				return false
			}
			h.Name, h.Namelen = nil, 0
			return true
		}
	}
	h.Name = (*byte)(unsafe.Pointer(name))
	h.Namelen = rawPacketAddr(to, pc.family, name)
	return h.Namelen != 0
}

// samePeer reports whether a and b name the same peer (a zone given by
// name or reported by index does not tell them apart).
func samePeer(a, b PacketAddr) bool { return a.ap == b.ap && a.path == b.path }

// stagePacket adds one datagram to the loop's stage, sending the stage
// first when it is full.
func (l *eventLoop) stagePacket(pc *PacketConn, b []byte, to PacketAddr) error {
	pk := l.pk
	if pk.staged == len(pk.out) || len(pk.stage)+len(b) > cap(pk.stage) {
		l.sendStage()
	}
	i := pk.staged
	if !pc.address(&pk.out[i].Hdr, &pk.outNames[i], to) {
		return ErrNoAddress
	}
	l.packetsDirty = true // a batch's end sends it, or else the turn's
	if len(b) > cap(pk.stage) {
		// Too large to stage (a big unixgram datagram): on its own, now,
		// from the caller's memory, behind what the stage held (sent above).
		pk.outIovs[i].Base = unsafe.SliceData(b)
		pk.outIovs[i].SetLen(len(b))
		pk.outConns[i] = pc
		pk.staged = 1
		l.sendStage()
		return nil
	}
	off := len(pk.stage)
	pk.stage = append(pk.stage, b...)
	pk.outIovs[i].Base = nil
	if len(b) > 0 {
		pk.outIovs[i].Base = &pk.stage[off]
	}
	pk.outIovs[i].SetLen(len(b))
	pk.outConns[i] = pc
	pk.staged++
	return nil
}

// flushPackets sends the stage and then tells the handlers what the sends
// refused or dropped. It runs where handler code may run: a batch's end,
// a queue's room, the turn's end.
func (l *eventLoop) flushPackets() {
	l.packetsDirty = false
	l.sendStage()
	l.reportPacketErrors()
}

// sendStage sends the stage: each run of one socket's datagrams with one
// call. It runs no handler code.
func (l *eventLoop) sendStage() {
	pk := l.pk
	if pk == nil || pk.staged == 0 {
		return
	}
	for i := 0; i < pk.staged; {
		pc := pk.outConns[i]
		j := i + 1
		for j < pk.staged && pk.outConns[j] == pc {
			j++
		}
		l.sendRun(pc, pk.out[i:j])
		i = j
	}
	clear(pk.outConns[:pk.staged])
	pk.staged = 0
	pk.stage = pk.stage[:0]
}

// sendRun sends msgs, all from pc, in order: with runs of same-sized
// datagrams to one address as one segmented buffer each where pc can
// (packet_offload_linux.go), or else as they are (sendEach). A refusal is
// told and skipped as sendEach does, but for the errors that may be the
// segmenting's (segmentRefused).
func (l *eventLoop) sendRun(pc *PacketConn, msgs []mmsg) {
	pk := l.pk
	retried := false
	for len(msgs) > 1 && pc.gsoBelow > 0 && pc.state == stateOpen && len(pc.queued) == 0 {
		k := pk.segmentRuns(pc, msgs)
		if k == len(msgs) {
			break // no run: as they are
		}
		n, err := l.sendCounted(pc.fd, pk.seg[:k])
		sent := 0
		for _, c := range pk.segCount[:n] {
			sent += c
		}
		msgs = msgs[sent:]
		switch {
		case n > 0:
		case err == nil: // no room in pc's buffer (UDP: readiness tells of room)
			l.queuePackets(pc, msgs)
			return
		case pk.segCount[0] > 1 && offloadErrno(err):
			msgs = msgs[l.segmentRefused(pc, msgs[:pk.segCount[0]], err):]
		case errors.Is(err, unix.ECONNREFUSED) && !retried: // an earlier send's ICMP error: told, then tried again
			l.refused(pc, &msgs[0], err)
			retried = true
		default:
			l.refused(pc, &msgs[0], err)
			msgs = msgs[1:]
		}
	}
	l.sendEach(pc, msgs)
}

// segmentRefused handles the kernel's EIO, EINVAL or EMSGSIZE for a
// segmented run, the first of pk.seg: the route's refusal to segment (EIO:
// it cannot; EINVAL, EMSGSIZE: a segment is over its MTU), an error of the
// socket's that an earlier datagram left (an ICMP "fragmentation needed"),
// which this send took, or one of the datagrams' own (a destination the
// kernel refuses). Sent again, the run goes if the error was the socket's,
// which is then told; else its first datagram alone tells the route's
// refusal (it goes, and pc adjusts) from the datagrams' (it fails too: the
// run, all to one destination, is refused and told as one). It returns how
// many of run are done with.
func (l *eventLoop) segmentRefused(pc *PacketConn, run []mmsg, err error) int {
	switch n, again := l.sendCounted(pc.fd, l.pk.seg[:1]); {
	case n == 1:
		l.socketError(pc, err)
		return len(run)
	case again == nil:
		return 0 // no room now: the caller queues
	}
	n, alone := l.sendCounted(pc.fd, run[:1])
	switch {
	case n == 1:
		pc.offloadRefused(int(run[0].Hdr.Iov.Len), err)
		return 1
	case alone == nil:
		return 0
	}
	l.refused(pc, &run[0], alone)
	for i := 1; i < len(run); i++ {
		l.drop(pc, int(run[i].Hdr.Iov.Len))
	}
	return len(run)
}

// socketError notes for OnError an error the socket reported that no
// datagram of this send caused (one refusal per report, as refused).
func (l *eventLoop) socketError(pc *PacketConn, err error) {
	if !pc.errNoted {
		pc.errNoted = true
		l.pkErrs = append(l.pkErrs, packetErr{pc: pc, err: err})
	}
}

// sendEach sends msgs, all from pc, in order. A datagram the kernel refuses
// is noted and skipped; when the kernel has no room, the rest waits in the
// queue (as does everything while the queue holds some: order is kept).
// A refusal that was an earlier send's ICMP error (ECONNREFUSED on a
// connected socket, which the kernel reports instead of sending) is tried
// once more.
func (l *eventLoop) sendEach(pc *PacketConn, msgs []mmsg) {
	retried := false
	for len(msgs) > 0 && pc.state == stateOpen {
		if len(pc.queued) > 0 {
			l.queuePackets(pc, msgs)
			return
		}
		n, err := l.sendCounted(pc.fd, msgs)
		switch {
		case err == nil && n == 0 && pc.waitsForRoom():
			l.queuePackets(pc, msgs)
			return
		case err == nil && n == 0: // that peer's queue is full: drop for it alone
			l.drop(pc, int(msgs[0].Hdr.Iov.Len))
			n = 1
		case errors.Is(err, unix.ECONNREFUSED) && !retried:
			l.refused(pc, &msgs[0], err)
			retried = true
		case err != nil:
			l.refused(pc, &msgs[0], err)
			n = 1
		}
		msgs = msgs[n:]
	}
}

// waitsForRoom reports whether pc's EAGAIN means that its own kernel
// buffer is full, so that readiness reports room later: UDP, and a
// connected unixgram socket (the kernel watches its peer's queue). An
// unconnected unixgram socket gets EAGAIN from whichever peer's queue is
// full while it stays writable: queueing would spin the loop and let one
// peer that does not read hold up the replies to all, so its datagram to
// that peer is dropped and reported instead.
func (pc *PacketConn) waitsForRoom() bool { return pc.family != unix.AF_UNIX || pc.Connected() }

// queuePackets copies datagrams the kernel had no room for into pc's
// queue, each with its destination, dropping what would take the queue
// past Config.PacketQueueBytes (and, from a unixgram socket, what is not
// for its peer: see waitsForRoom), and watches pc for room.
func (l *eventLoop) queuePackets(pc *PacketConn, msgs []mmsg) {
	for i := range msgs {
		m := &msgs[i]
		b := unsafe.Slice(m.Hdr.Iov.Base, int(m.Hdr.Iov.Len))
		to := pc.RemoteAddr() // a nameless datagram is for the peer
		if m.Hdr.Namelen != 0 {
			to = packetAddrOf((*unix.RawSockaddrAny)(unsafe.Pointer(m.Hdr.Name)), m.Hdr.Namelen, PacketAddr{})
		}
		if pc.qbytes+len(b) > l.cfg.PacketQueueBytes || pc.family == unix.AF_UNIX && !samePeer(to, pc.RemoteAddr()) {
			l.drop(pc, len(b))
			continue
		}
		cp := buffer.Default.Get(len(b))[:len(b)]
		copy(cp, b)
		pc.queued = append(pc.queued, queuedDatagram{data: cp, to: to})
		pc.qbytes += len(b)
	}
	if len(pc.queued) > 0 {
		l.setPacketInterest(pc, pc.interest|poller.Writable)
	}
}

// sendQueued sends what waits in pc's queue now that there is room, with
// headers of its own (the stage's may hold datagrams staged meanwhile),
// and then reports what was refused.
func (l *eventLoop) sendQueued(pc *PacketConn) {
	pk := l.pk
	for len(pc.queued) > 0 && pc.state == stateOpen {
		n := 0
		for ; n < len(pc.queued) && n < len(pk.qOut); n++ {
			q := &pc.queued[n]
			if !pc.address(&pk.qOut[n].Hdr, &pk.qNames[n], q.to) {
				break // for a former peer, where the kernel takes no address: dropped below
			}
			pk.qIovs[n].Base = unsafe.SliceData(q.data)
			pk.qIovs[n].SetLen(len(q.data))
		}
		if n == 0 {
			l.drop(pc, len(pc.queued[0].data))
			l.unqueue(pc, 1)
			continue
		}
		sent, err := l.sendCounted(pc.fd, pk.qOut[:n])
		if err != nil {
			l.refused(pc, &pk.qOut[0], err)
			sent = 1
		}
		if sent == 0 {
			break // still full: wait for more room
		}
		l.unqueue(pc, sent)
	}
	if len(pc.queued) == 0 && pc.state == stateOpen {
		l.setPacketInterest(pc, pc.interest&^poller.Writable)
	}
}

// unqueue drops the first n datagrams of pc's queue.
func (l *eventLoop) unqueue(pc *PacketConn, n int) {
	for i := 0; i < n; i++ {
		pc.qbytes -= len(pc.queued[i].data)
		releaseCopy(pc.queued[i].data)
		pc.queued[i] = queuedDatagram{}
	}
	pc.queued = pc.queued[:copy(pc.queued, pc.queued[n:])]
}

// refused notes a datagram the kernel refused with err, for OnError. Only
// the first refusal of a socket between two reports is told as itself;
// the others count as drops, so a dead peer costs one OnError a flush,
// not one per datagram.
func (l *eventLoop) refused(pc *PacketConn, m *mmsg, err error) {
	if pc.errNoted {
		l.drop(pc, int(m.Hdr.Iov.Len))
		return
	}
	pc.errNoted = true
	l.pkErrs = append(l.pkErrs, packetErr{pc: pc, err: err})
}

// drop counts a datagram of n bytes that cannot be sent, for OnError.
func (l *eventLoop) drop(pc *PacketConn, n int) {
	pc.dropped.Datagrams++
	pc.dropped.Bytes += n
	if !pc.dropNoted {
		pc.dropNoted = true
		l.pkDrops = append(l.pkDrops, pc)
	}
}

// packetErr is a refusal noted for OnError.
type packetErr struct {
	pc  *PacketConn
	err error
}

// maxReports bounds the OnError calls of one report: a handler that
// answers each error with a datagram that fails again cannot hold the
// loop; what is left is told on the next turn. A variable for the tests.
var maxReports = 1024

// reportPacketErrors tells OnError what the sends refused and dropped
// since the last report, refusals first. It is not re-entered: a flush
// that a handler's write causes meanwhile adds to the lists, which this
// call goes on reading.
func (l *eventLoop) reportPacketErrors() {
	if l.reporting || len(l.pkErrs) == 0 && len(l.pkDrops) == 0 {
		return
	}
	l.reporting = true
	told := 0
	for ; told < len(l.pkErrs) && told < maxReports; told++ {
		e := l.pkErrs[told]
		l.pkErrs[told] = packetErr{}
		e.pc.errNoted = false
		if e.pc.state == stateOpen {
			l.callPacketError(e.pc, e.err)
		}
	}
	l.pkErrs = l.pkErrs[:copy(l.pkErrs, l.pkErrs[told:])]
	n := 0
	for ; n < len(l.pkDrops) && told < maxReports; n, told = n+1, told+1 {
		pc := l.pkDrops[n]
		l.pkDrops[n] = nil
		pc.dropNoted = false
		err := pc.dropped
		pc.dropped = DroppedError{}
		if pc.state == stateOpen {
			l.callPacketError(pc, &err)
		}
	}
	l.pkDrops = l.pkDrops[:copy(l.pkDrops, l.pkDrops[n:])]
	l.reporting = false
	if len(l.pkErrs) > 0 || len(l.pkDrops) > 0 {
		l.packetsDirty = true // the rest on the next turn, which does not sleep
	}
}

// AsyncWriteTo sends a copy of b to to from any goroutine: it is queued to
// the socket's loop, bounded by Config.AsyncQueueBytes over the loop
// (ErrQueueFull), and sent as WriteTo would. Those of one goroutine keep
// their order; AsyncPending says how many have not reached the loop yet.
// ErrClosed once Close was called.
func (pc *PacketConn) AsyncWriteTo(b []byte, to PacketAddr) error {
	if pc.closeQ.Load() {
		return ErrClosed
	}
	cp := buffer.Default.Get(len(b))[:len(b)]
	copy(cp, b)
	pc.asyncPending.Add(1)
	if !pc.loop.submit(task{kind: taskPacket, pc: pc, data: cp, to: to}) {
		pc.asyncPending.Add(-1)
		releaseCopy(cp)
		return ErrQueueFull
	}
	return nil
}

// AsyncPending returns how many AsyncWriteTo datagrams wait for the loop
// (queued, not staged yet): a caller that also writes on the loop keeps
// its order by going through AsyncWriteTo while this is not 0. Any
// goroutine.
func (pc *PacketConn) AsyncPending() int { return int(pc.asyncPending.Load()) }

// writeQueued stages an AsyncWriteTo's copy on the loop.
func (l *eventLoop) writeQueued(pc *PacketConn, data []byte, to PacketAddr) {
	if pc.state == stateOpen {
		if err := l.stagePacket(pc, data, to); err != nil {
			l.pkErrs = append(l.pkErrs, packetErr{pc: pc, err: err})
			l.packetsDirty = true
		}
	}
	releaseCopy(data) // staging copied it
	pc.asyncPending.Add(-1)
}
