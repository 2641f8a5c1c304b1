package loop

import (
	"fmt"
	"net"
	"runtime/debug"
	"unsafe"

	"golang.org/x/sys/unix"

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
	// outNames[i], from the socket outConns[i]. A queue is sent with
	// headers of its own (qOut), never the stage's.
	stage    []byte
	out      []mmsg
	outIovs  []unix.Iovec
	outNames []unix.RawSockaddrAny
	outConns []*PacketConn
	staged   int
	qOut     []mmsg
	qIovs    []unix.Iovec
	qNames   []unix.RawSockaddrAny

	// Segmented sending: header k sends segCount[k] datagrams of the
	// stage, as one buffer (segIovs[k], with segCtrl's k-th control
	// message) when there are more than one.
	seg      []mmsg
	segIovs  []unix.Iovec
	segCtrl  []byte
	segCount []int
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
		qOut:     make([]mmsg, n), qIovs: make([]unix.Iovec, n), qNames: make([]unix.RawSockaddrAny, n),
		seg: make([]mmsg, n), segIovs: make([]unix.Iovec, n), segCtrl: make([]byte, n*offloadSpace),
		segCount: make([]int, n),
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
		q := &pk.qOut[i].Hdr
		q.Iov = &pk.qIovs[i]
		q.SetIovlen(1)
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
		pc.setOffload(l.cfg)
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
// not fit. Stopped from OnPacket, the rest of the batch already read is
// still handed over. Loop goroutine.
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

// Connect connects the socket to to, as connect(2) does: from then on only
// to's datagrams reach OnPacket (the kernel takes no others, and those it
// held from others before are dropped), Write sends to it, and the ICMP
// errors of its sends reach OnError (ECONNREFUSED). A socket of a
// PacketListener may be connected too (a bound socket that settles on one
// peer). It makes the syscall on the caller's goroutine, so it returns its
// result at once, from any goroutine; datagrams written before it still go
// where they were addressed. ErrClosed once the loop has closed the socket.
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

// closeFd stops watching the socket and closes its descriptor, which
// Connect may be using. Loop goroutine.
func (pc *PacketConn) closeFd() {
	pc.fdMu.Lock()
	pc.fdClosed = true
	pc.loop.io.closePacket(pc.fd, pc.interest)
	pc.interest = 0
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
	if err := l.io.watchPacket(pc.fd, pc.interest, m); err != nil {
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
	switch {
	case m&^poller.Writable == 0 || pc.state != stateOpen:
	case !pc.paused:
		l.receive(pc)
	case m&poller.Error != 0:
		// Paused, but the socket has an error (an ICMP one) that would be
		// reported again at every wait: take it and tell it.
		if err := pendingError(pc.fd, "recvmsg"); err != nil {
			l.callPacketError(pc, err)
		}
	}
	l.flushPackets()
}

// receive reads one batch of pc's datagrams and hands each to OnPacket.
// One batch per readiness: a socket with more ready is reported again at
// the next wait, after the loop's other sockets had their turn.
func (l *eventLoop) receive(pc *PacketConn) {
	pk := l.pk
	n, err := l.recvCounted(pc.fd, pk.msgs)
	if n == len(pk.msgs) || err != nil {
		l.io.packetAgain(pc.fd) // more may wait: behind a full batch, or behind the error
	}
	for i := 0; i < n && pc.state == stateOpen; i++ {
		m := &pk.msgs[i]
		size := int(m.Len)
		d := &pk.d
		data := pk.in[i*pk.size : i*pk.size+min(size, pk.size)]
		d.Truncated = m.Hdr.Flags&unix.MSG_TRUNC != 0
		d.To = pc.dst
		var r received
		if pc.pktinfo || pc.gro {
			r = controlOf(&m.Hdr)
			if r.to.IsValid() {
				d.To = r.to
			}
		}
		d.From = packetAddrOf(&pk.names[i], m.Hdr.Namelen, pc.lastFrom)
		pc.lastFrom = d.From
		if peer := pc.peer.Load(); peer != nil && !samePeer(d.From, *peer) {
			continue // queued before the socket connected: not from its peer
		}
		if r.segment <= 0 || size <= r.segment || d.Truncated {
			d.Data, d.Size = data, size
			l.callPacket(pc, d)
			continue
		}
		// A coalesced buffer (GRO): its datagrams, each of r.segment
		// bytes but for a shorter last.
		for len(data) > 0 && pc.state == stateOpen {
			if peer := pc.peer.Load(); peer != nil && !samePeer(d.From, *peer) {
				break // connected meanwhile (OnPacket): the rest is not from its peer
			}
			d.Data = data[:min(len(data), r.segment)]
			d.Size = len(d.Data)
			data = data[len(d.Data):]
			l.callPacket(pc, d)
		}
	}
	pk.d = Datagram{}
	if err != nil && pc.state == stateOpen {
		l.callPacketError(pc, err)
	}
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
		l.counters.panic.inc()
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
