package loop

import (
	"fmt"
	"net"
	"runtime/debug"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/buffer"
	"github.com/airsock/airsock/poller"
)

// The loop's side of datagram sockets: one batch of receive slots and one
// stage of outgoing datagrams per loop, shared by all its packet sockets
// (a loop serves one socket at a time), made when the loop gets its first.

// packetBatch is a loop's datagram memory.
type packetBatch struct {
	// Receiving: slot i is in[i*size:(i+1)*size], its sender's address
	// names[i]; in is mapped outside the Go heap, so only the pages the
	// kernel writes are committed.
	in    []byte
	size  int
	msgs  []mmsg
	iovs  []unix.Iovec
	names []unix.RawSockaddrAny
	ctrl  []byte // each slot's room for control messages (controlSpace)
	d     Datagram

	// Sending: datagram i of the stage is out[i]'s bytes in stage, to
	// outNames[i], from the socket outConns[i].
	stage    []byte
	out      []mmsg
	outIovs  []unix.Iovec
	outNames []unix.RawSockaddrAny
	outConns []*PacketConn
	staged   int
}

// stageCap is the most payload bytes staged per loop before the stage is
// sent early; a datagram larger than it is sent on its own.
const stageCap = 128 << 10

func (l *eventLoop) packets() *packetBatch {
	if l.pk != nil {
		return l.pk
	}
	n, size := l.cfg.PacketBatch, l.cfg.PacketReadSize
	in, err := unix.Mmap(-1, 0, n*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		in = make([]byte, n*size) // no mapping: the heap will do
	}
	pk := &packetBatch{
		in: in, size: size,
		msgs: make([]mmsg, n), iovs: make([]unix.Iovec, n), names: make([]unix.RawSockaddrAny, n),
		stage: make([]byte, 0, stageCap),
		out:   make([]mmsg, n), outIovs: make([]unix.Iovec, n), outNames: make([]unix.RawSockaddrAny, n),
		outConns: make([]*PacketConn, n),
		ctrl:     make([]byte, n*controlSpace),
	}
	for i := range pk.msgs {
		pk.iovs[i].Base = &in[i*size]
		pk.iovs[i].SetLen(size)
		h := &pk.msgs[i].Hdr
		h.Iov = &pk.iovs[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&pk.names[i]))
		h.Namelen = unix.SizeofSockaddrAny
		if controlSpace > 0 {
			h.Control = &pk.ctrl[i*controlSpace]
		}
		o := &pk.out[i].Hdr
		o.Iov = &pk.outIovs[i]
		o.SetIovlen(1)
		o.Name = (*byte)(unsafe.Pointer(&pk.outNames[i]))
	}
	l.pk = pk
	return pk
}

// releasePackets unmaps the loop's datagram memory once it has stopped.
func (l *eventLoop) releasePackets() {
	if l.pk != nil {
		unix.Munmap(l.pk.in) // an error means it was heap memory
		l.pk = nil
	}
}

func (l *eventLoop) newPacketConn(fd, family int, h PacketHandler, pl *PacketListener) *PacketConn {
	pc := &PacketConn{loop: l, handler: h, listener: pl, fd: fd, family: family, done: make(chan struct{})}
	pc.local = packetName(fd)
	if a, ok := pc.local.(*net.UDPAddr); ok {
		pc.dst = a.AddrPort().Addr().Unmap()
		pc.pktinfo = pc.dst.IsUnspecified() && controlSpace > 0
	}
	return pc
}

// adopt puts pc in its loop's table and starts reading it; loop goroutine.
func (pc *PacketConn) adopt() {
	l := pc.loop
	if l.stopping || pc.closeQ.Load() {
		reason := ErrShutdown
		if !l.stopping {
			reason = nil
		}
		pc.closeFd()
		pc.state = stateClosed
		l.callPacketClose(pc, reason)
		return
	}
	l.packets()
	for pc.fd >= len(l.fds) {
		l.fds = append(l.fds, make([]fdHandler, len(l.fds))...)
	}
	l.fds[pc.fd] = pc
	pc.state = stateOpen
	if !pc.paused {
		l.setPacketInterest(pc, poller.Readable)
	}
}

// SetReading stops (false) or resumes (true) reading the socket: while it
// is stopped, datagrams wait in the kernel's buffer, which drops what does
// not fit. Loop goroutine.
func (pc *PacketConn) SetReading(on bool) {
	if pc.state != stateOpen || pc.paused == !on {
		return
	}
	pc.paused = !on
	m := pc.interest &^ poller.Readable
	if on {
		m |= poller.Readable
	}
	pc.loop.setPacketInterest(pc, m)
}

// Connect connects the socket to to, as connect(2) does: from then on the
// kernel delivers only to's datagrams, Write sends to it, and the ICMP
// errors of its sends reach OnError (ECONNREFUSED). A socket of a
// PacketListener may be connected too (a bound socket that settles on one
// peer). It makes the syscall on the caller's goroutine, so it returns its
// result at once, from any goroutine; datagrams staged before it still go
// where they were addressed. ErrClosed once the socket is closed.
func (pc *PacketConn) Connect(to PacketAddr) error {
	var rsa unix.RawSockaddrAny
	n := rawPacketAddr(to, pc.family, &rsa)
	if n == 0 {
		return ErrNoAddress
	}
	pc.fdMu.Lock()
	defer pc.fdMu.Unlock()
	if pc.fdClosed {
		return ErrClosed
	}
	if err := sysConnect(pc.fd, &rsa, n); err != nil {
		return err
	}
	pc.setPeer(to)
	return nil
}

// closeFd closes the socket's descriptor, which Connect may be using.
func (pc *PacketConn) closeFd() {
	pc.fdMu.Lock()
	pc.fdClosed = true
	unix.Close(pc.fd)
	pc.fdMu.Unlock()
	close(pc.done)
}

// Done returns a channel that is closed once the socket is closed and its
// descriptor released (after Close, the listener's Close or Shutdown), for
// a caller off the loop that needs the port free. Any goroutine.
func (pc *PacketConn) Done() <-chan struct{} { return pc.done }

func (l *eventLoop) setPacketInterest(pc *PacketConn, m poller.Mask) {
	if pc.interest == m {
		return
	}
	if err := l.io.poll(pc.fd, pc.interest, m); err != nil {
		l.callPacketError(pc, err)
		return
	}
	pc.interest = m
}

// ready serves a readiness event of pc: room for its queue, datagrams in.
func (pc *PacketConn) ready(m poller.Mask) {
	l := pc.loop
	if m&poller.Writable != 0 && len(pc.queued) > 0 {
		l.sendQueued(pc)
	}
	if m&^poller.Writable != 0 && pc.state == stateOpen {
		l.receive(pc)
		l.flushPackets()
	}
}

// receive reads one batch of pc's datagrams and hands each to OnPacket.
// One batch per readiness: a socket with more ready is reported again at
// the next wait, after the loop's other sockets had their turn.
func (l *eventLoop) receive(pc *PacketConn) {
	pk := l.pk
	n, err := recvBatch(pc.fd, pk.msgs)
	for i := 0; i < n && pc.state == stateOpen; i++ {
		m := &pk.msgs[i]
		size := int(m.Len)
		d := &pk.d
		d.Data = pk.in[i*pk.size : i*pk.size+min(size, pk.size)]
		d.Size = size
		d.Truncated = m.Hdr.Flags&unix.MSG_TRUNC != 0
		d.To = pc.dst
		if pc.pktinfo {
			if a, ok := destinationOf(&m.Hdr); ok {
				d.To = a
			}
		}
		d.From = packetAddrOf(&pk.names[i], m.Hdr.Namelen, pc.lastFrom) // a connected socket's too: its peer
		pc.lastFrom = d.From
		l.callPacket(pc, d)
	}
	pk.d = Datagram{}
	if err != nil && pc.state == stateOpen {
		l.callPacketError(pc, err)
	}
}

// WriteTo sends b to the datagram socket at to. It is staged and leaves
// with the loop's other staged datagrams when the current batch ends (one
// sendmmsg per socket), so b may be reused on return. A datagram the
// kernel buffer cannot take waits in the socket's queue, up to
// Config.PacketQueueBytes; beyond that it is dropped and OnError hears of
// it (*DroppedError). ErrNoAddress: to cannot be sent to from this socket
// (a connected socket sends only to its peer: use Write). Loop goroutine.
func (pc *PacketConn) WriteTo(b []byte, to PacketAddr) (int, error) {
	if pc.state != stateOpen {
		return 0, ErrClosed
	}
	if pc.Connected() {
		return 0, ErrNoAddress
	}
	return len(b), pc.loop.stagePacket(pc, b, to)
}

// Write sends b to a connected socket's peer, as WriteTo does.
// ErrNoAddress on a socket that is not connected. Loop goroutine.
func (pc *PacketConn) Write(b []byte) (int, error) {
	if pc.state != stateOpen {
		return 0, ErrClosed
	}
	if !pc.Connected() {
		return 0, ErrNoAddress
	}
	return len(b), pc.loop.stagePacket(pc, b, PacketAddr{})
}

// stagePacket adds one datagram to the loop's stage.
func (l *eventLoop) stagePacket(pc *PacketConn, b []byte, to PacketAddr) error {
	pk := l.pk
	if pk.staged == len(pk.out) || len(pk.stage)+len(b) > cap(pk.stage) {
		l.flushPackets()
	}
	i := pk.staged
	h := &pk.out[i].Hdr
	h.Namelen = 0
	if !pc.Connected() {
		h.Namelen = rawPacketAddr(to, pc.family, &pk.outNames[i])
		if h.Namelen == 0 {
			return ErrNoAddress
		}
	}
	if len(b) > cap(pk.stage) {
		// Too large to stage (a big unixgram datagram): on its own, now,
		// behind what the stage holds (flushed above).
		pk.outIovs[i].Base = unsafe.SliceData(b)
		pk.outIovs[i].SetLen(len(b))
		pk.outConns[i] = pc
		pk.staged = 1
		l.flushPackets()
		return nil
	}
	off := len(pk.stage)
	pk.stage = append(pk.stage, b...)
	if len(b) > 0 {
		pk.outIovs[i].Base = &pk.stage[off]
	} else {
		pk.outIovs[i].Base = nil
	}
	pk.outIovs[i].SetLen(len(b))
	pk.outConns[i] = pc
	pk.staged++
	l.packetsDirty = true // a batch's end sends it, or else the turn's
	return nil
}

// flushPackets sends the stage: each run of one socket's datagrams with
// one call. What a socket's kernel buffer cannot take goes to its queue.
func (l *eventLoop) flushPackets() {
	pk := l.pk
	l.packetsDirty = false
	if pk == nil || pk.staged == 0 {
		return
	}
	for i := 0; i < pk.staged; {
		pc := pk.outConns[i]
		j := i + 1
		for j < pk.staged && pk.outConns[j] == pc {
			j++
		}
		l.sendRun(pc, pk.out[i:j], pk.outNames[i:j])
		i = j
	}
	clear(pk.outConns[:pk.staged])
	pk.staged = 0
	pk.stage = pk.stage[:0]
}

// sendRun sends msgs, all from pc, in order; a datagram the kernel refuses
// is reported and skipped, the rest waits in the queue if the kernel has no
// room (or the queue already holds some: order is kept).
func (l *eventLoop) sendRun(pc *PacketConn, msgs []mmsg, names []unix.RawSockaddrAny) {
	for len(msgs) > 0 && pc.state == stateOpen {
		if len(pc.queued) > 0 {
			l.queuePackets(pc, msgs, names)
			break
		}
		n, err := sendBatch(pc.fd, msgs)
		switch {
		case err == nil && n == 0 && pc.waitsForRoom():
			l.queuePackets(pc, msgs, names)
			n = len(msgs)
		case err == nil && n == 0: // that peer's queue is full: drop for it alone
			l.drop(pc, msgs[0])
			n = 1
		case err != nil: // msgs[0] was refused
			l.callPacketError(pc, err)
			n = 1
		}
		msgs, names = msgs[n:], names[n:]
	}
	l.reportDropped(pc)
}

// waitsForRoom reports whether pc's EAGAIN means that its own kernel
// buffer is full, so that readiness reports room later: UDP, and a
// connected unixgram socket (the kernel watches its peer's queue). An
// unconnected unixgram socket gets EAGAIN from whichever peer's queue is
// full while it stays writable: queueing would spin the loop and let one
// peer that does not read hold up the replies to all, so its datagram to
// that peer is dropped and reported instead.
func (pc *PacketConn) waitsForRoom() bool { return pc.family != unix.AF_UNIX || pc.Connected() }

// drop counts a datagram that cannot be sent, for reportDropped.
func (l *eventLoop) drop(pc *PacketConn, m mmsg) {
	pc.dropped.Datagrams++
	pc.dropped.Bytes += int(m.Hdr.Iov.Len)
}

// queuePackets copies datagrams the kernel had no room for into pc's
// queue, dropping (and counting) what would take it past
// Config.PacketQueueBytes, and watches pc for room.
func (l *eventLoop) queuePackets(pc *PacketConn, msgs []mmsg, names []unix.RawSockaddrAny) {
	for i := range msgs {
		iov := msgs[i].Hdr.Iov
		b := unsafe.Slice(iov.Base, int(iov.Len))
		if pc.qbytes+len(b) > l.cfg.PacketQueueBytes {
			l.drop(pc, msgs[i])
			continue
		}
		var to PacketAddr
		if !pc.Connected() {
			to = packetAddrOf(&names[i], msgs[i].Hdr.Namelen, PacketAddr{})
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

// reportDropped tells OnError of the datagrams dropped since it last did.
func (l *eventLoop) reportDropped(pc *PacketConn) {
	if pc.dropped.Datagrams > 0 {
		err := pc.dropped
		pc.dropped = DroppedError{}
		l.callPacketError(pc, &err)
	}
}

// sendQueued sends what waits in pc's queue now that there is room, with
// the stage's arrays (the stage is empty between batches, and sent first
// if not).
func (l *eventLoop) sendQueued(pc *PacketConn) {
	l.flushPackets()
	pk := l.pk
	for len(pc.queued) > 0 && pc.state == stateOpen {
		n := min(len(pc.queued), len(pk.out))
		for i := 0; i < n; i++ {
			q := &pc.queued[i]
			h := &pk.out[i].Hdr
			h.Namelen = 0
			if !pc.Connected() {
				h.Namelen = rawPacketAddr(q.to, pc.family, &pk.outNames[i])
			}
			pk.outIovs[i].Base = unsafe.SliceData(q.data)
			pk.outIovs[i].SetLen(len(q.data))
		}
		sent, err := sendBatch(pc.fd, pk.out[:n])
		if err != nil {
			l.callPacketError(pc, err)
			sent = 1
		}
		if sent == 0 {
			return // still full: wait for more room
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

// AsyncWriteTo sends a copy of b to to (a connected socket: to is ignored
// and the peer is used) from any goroutine: it is queued to the socket's
// loop, bounded by Config.AsyncQueueBytes over the loop (ErrQueueFull),
// and sent as WriteTo would. ErrClosed once Close was called.
func (pc *PacketConn) AsyncWriteTo(b []byte, to PacketAddr) error {
	if pc.closeQ.Load() {
		return ErrClosed
	}
	cp := buffer.Default.Get(len(b))[:len(b)]
	copy(cp, b)
	if !pc.loop.submit(task{kind: taskPacket, pc: pc, data: cp, to: to}) {
		releaseCopy(cp)
		return ErrQueueFull
	}
	return nil
}

// writeQueued sends an AsyncWriteTo's copy on the loop.
func (l *eventLoop) writeQueued(pc *PacketConn, data []byte, to PacketAddr) {
	if pc.state == stateOpen {
		if pc.Connected() {
			to = PacketAddr{}
		}
		if err := l.stagePacket(pc, data, to); err != nil {
			l.callPacketError(pc, err)
		}
	}
	releaseCopy(data) // staging copied it
}

// Run runs f on the socket's loop goroutine, where WriteTo may be called;
// datagrams it writes leave at the end of the loop's turn. It allocates
// (the closure). ErrClosed once Close was called. Any goroutine.
func (pc *PacketConn) Run(f func(pc *PacketConn)) error {
	if pc.closeQ.Load() {
		return ErrClosed
	}
	l := pc.loop
	l.submit(task{kind: taskFunc, fn: func() {
		if pc.state == stateOpen {
			defer l.recoveredPacket(pc, "Run")
			f(pc)
		}
	}})
	return nil
}

// Close closes the socket: datagrams already staged are sent first, the
// queue is dropped, and OnClose runs on the loop with a nil error. Any
// goroutine; closing twice returns ErrClosed.
func (pc *PacketConn) Close() error {
	if pc.closeQ.Swap(true) {
		return ErrClosed
	}
	l := pc.loop
	l.submit(task{kind: taskFunc, fn: func() { l.closePacket(pc, nil) }})
	return nil
}

// closePacket closes pc on its loop and tells its handler.
func (l *eventLoop) closePacket(pc *PacketConn, reason error) {
	if pc.state != stateOpen {
		return
	}
	l.flushPackets()
	pc.closeQ.Store(true)
	pc.state = stateClosed
	if pc.interest != 0 {
		l.io.poll(pc.fd, pc.interest, 0)
		pc.interest = 0
	}
	if l.fds[pc.fd] == fdHandler(pc) {
		l.fds[pc.fd] = nil
	}
	pc.closeFd()
	l.stopTimers(pc)
	l.unqueue(pc, len(pc.queued))
	l.callPacketClose(pc, reason)
}

// The handler's callbacks, each behind a recover: a panic is logged with
// its stack and the socket stays open (one bad datagram must not end a
// server's socket).

func (l *eventLoop) callPacket(pc *PacketConn, d *Datagram) {
	defer l.recoveredPacket(pc, "OnPacket")
	pc.handler.OnPacket(pc, d)
}

func (l *eventLoop) callPacketError(pc *PacketConn, err error) {
	defer l.recoveredPacket(pc, "OnError")
	pc.handler.OnError(pc, err)
}

func (l *eventLoop) callPacketClose(pc *PacketConn, err error) {
	defer l.recoveredPacket(pc, "OnClose")
	pc.handler.OnClose(pc, err)
}

func (l *eventLoop) recoveredPacket(pc *PacketConn, callback string) {
	if r := recover(); r != nil {
		err := &PanicError{Callback: callback, Value: r, Stack: debug.Stack()}
		l.cfg.Logger.Error("loop: packet handler panic; the socket stays open",
			"callback", callback, "panic", fmt.Sprint(r), "local", fmt.Sprint(pc.local), "stack", string(err.Stack))
	}
}

// packetAddrOfSockaddr converts a resolved address.
func packetAddrOfSockaddr(sa unix.Sockaddr) PacketAddr {
	switch a := sa.(type) {
	case *unix.SockaddrUnix:
		return UnixgramAddr(a.Name)
	default:
		s := sockAddrOf(sa)
		return UDPAddr(netipAddrPort(s))
	}
}
