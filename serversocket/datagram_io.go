package serversocket

import (
	"errors"
	"net/netip"
	"strconv"

	"github.com/airsock/airsock/loop"
)

// How datagrams move between a DatagramSocket and its loop.PacketConn.

// Send sends length bytes of bytes from offset as one datagram (length 0:
// the rest of bytes from offset). A connected socket sends to its peer and
// takes no address or port; an unconnected one needs both, and is bound
// first if it is not yet, to "0.0.0.0" or "::" (the destination's family)
// and a free port, as AIR does. bytes may be reused once Send returns.
//
// Errors: IOError #2002 if the socket is closed, cannot be bound, is bound
// to the other IP family than address, or the loop's queue is full
// (loop.ErrQueueFull); RangeError #2006 for a negative offset or length,
// an offset past the end of bytes or a length reaching past it, or a port
// outside 1..65535; IllegalOperationError #2037 for an address or port on
// a connected socket; ArgumentError #2004 for a malformed address on an
// unconnected one. What the kernel refuses later (EMSGSIZE for a datagram
// too long, ECONNREFUSED after an ICMP unreachable on a connected socket)
// comes as an IOErrorType event. As AIR warns, a datagram over the path
// MTU may be dropped without a word. Callable on any goroutine.
func (s *DatagramSocket) Send(bytes []byte, offset, length int, address string, port int) error {
	if offset < 0 || length < 0 || offset > len(bytes) {
		return errOutOfBounds()
	}
	if length == 0 {
		length = len(bytes) - offset
	}
	if length > len(bytes)-offset {
		return errOutOfBounds()
	}
	p := bytes[offset : offset+length]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errInvalidSocket(errSocketClosed)
	}
	to, err := s.destinationLocked(address, port)
	if err != nil {
		return err
	}
	pc := s.pc.Load()
	if s.inDispatch.Load() && pc.AsyncPending() == 0 {
		// The dispatch's end sends it, on the loop, with the batch. Not
		// while Sends made elsewhere still wait for the loop: one of them
		// may be this goroutine's, and it must leave first.
		s.out = append(s.out, p...)
		s.outMsgs = append(s.outMsgs, outDatagram{end: len(s.out), to: to})
		return nil
	}
	if err := pc.AsyncWriteTo(p, to); err != nil {
		return errInvalidSocket(err)
	}
	return nil
}

// destinationLocked checks Send's address and port against the socket's
// state and returns where the datagram goes, binding an unbound socket.
// s.mu is held.
func (s *DatagramSocket) destinationLocked(address string, port int) (loop.PacketAddr, error) {
	if s.connected {
		if address != "" || port != 0 {
			return loop.PacketAddr{}, &IllegalOperationError{ErrorID: IDIncorrectSequence,
				Message: "Functions called in incorrect sequence, or earlier call was unsuccessful.",
				Err:     errors.New("an address or port given to Send on a connected socket")}
		}
		return loop.UDPAddr(s.remote), nil
	}
	ip, err := netip.ParseAddr(address)
	if err != nil {
		return loop.PacketAddr{}, errInvalidParameter(err)
	}
	if port < 1 || port > 65535 {
		return loop.PacketAddr{}, errOutOfBounds()
	}
	ip = ip.Unmap()
	if s.pc.Load() == nil {
		wildcard := netip.IPv4Unspecified()
		if ip.Is6() {
			wildcard = netip.IPv6Unspecified()
		}
		if err := s.bindLocked(netip.AddrPortFrom(wildcard, 0)); err != nil {
			return loop.PacketAddr{}, err
		}
	} else if err := s.sameFamilyLocked(ip); err != nil {
		return loop.PacketAddr{}, err
	}
	return loop.UDPAddr(netip.AddrPortFrom(ip, uint16(port))), nil
}

// endDispatch ends a dispatch of the socket on pc's loop goroutine: what
// was Sent during it is staged on pc (the loop sends it with the batch) and
// the datagram's payload is detached from the event. It runs deferred, so a
// listener's panic (which the loop recovers) leaves the socket consistent.
func (s *DatagramSocket) endDispatch(pc *loop.PacketConn) {
	s.data.detach()
	s.mu.Lock()
	out, msgs := s.out, s.outMsgs
	s.out, s.outMsgs = s.out[:0], s.outMsgs[:0] // reused once the next dispatch starts, after the loop below: WriteTo runs no handler code, so none starts within it
	if cap(out) > maxKeptOut {
		s.out = nil // a burst's memory is not kept for good
	}
	s.inDispatch.Store(false)
	s.mu.Unlock()
	start := 0
	for _, m := range msgs {
		b := out[start:m.end]
		start = m.end
		pc.WriteTo(b, m.to) // where it was Sent, even if a Connect came since
		// Their errors: loop.ErrClosed once the system closed pc, when
		// there is nobody left to tell; loop.ErrNoAddress, which Send's
		// family check rules out but for a datagram Sent to another peer
		// before a Connect on the BSDs, which take no address on a
		// connected socket.
	}
}

// maxKeptOut is the most memory a socket keeps for the datagrams Sent
// during its dispatches between them.
const maxKeptOut = 256 << 10

// datagramHandler is the DatagramSocket as its PacketConn's handler; a
// socket being closed has it too, and its events are ignored: only s.pc's
// are the socket's.
type datagramHandler DatagramSocket

// OnPacket dispatches a Data event for a datagram, once Receive was called
// and, after a Connect over a bound socket, if it comes from the peer.
func (h *datagramHandler) OnPacket(pc *loop.PacketConn, d *loop.Datagram) {
	s := (*DatagramSocket)(h)
	if s.pc.Load() != pc || !s.receiving.Load() {
		return
	}
	from := d.From.AddrPort()
	if d.Truncated {
		s.dispatchIOError(pc, "Error #2031: Socket Error. Datagram from "+from.String()+" truncated: "+
			strconv.Itoa(d.Size)+" bytes, longer than the engine reads (loop.Config.PacketReadSize "+strconv.Itoa(len(d.Data))+"); not dispatched")
		return
	}
	ev := &s.dataEvent
	if from.Addr() != s.lastSrc || s.lastSrcText == "" {
		s.lastSrc, s.lastSrcText = from.Addr(), from.Addr().String()
	}
	ev.SrcAddress, ev.SrcPort = s.lastSrcText, int(from.Port())
	ev.DstAddress, ev.DstPort = s.dstAddress, s.dstPort
	if d.To != s.lastDst {
		s.lastDst, s.lastDstText = d.To, d.To.String()
	}
	if d.To.IsValid() {
		ev.DstAddress = s.lastDstText // the datagram's own destination: a wildcard bind's real address
	}
	ev.Data = &s.data
	s.data.attach(d.Data)
	s.inDispatch.Store(true)
	defer s.endDispatch(pc)
	s.DispatchEvent(ev)
}

// OnError dispatches an IOErrorType event for what the socket reported.
func (h *datagramHandler) OnError(pc *loop.PacketConn, err error) {
	s := (*DatagramSocket)(h)
	if s.pc.Load() != pc {
		return
	}
	text := "Error #2031: Socket Error. " + err.Error()
	if d, ok := errors.AsType[*loop.DroppedError](err); ok {
		text = "Error #2031: Socket Error. " + strconv.Itoa(d.Datagrams) + " datagrams (" + strconv.Itoa(d.Bytes) +
			" bytes) not sent: the socket's send queue was full"
	}
	s.dispatchIOError(pc, text)
}

// dispatchIOError dispatches an IOErrorType event (#2031) with text; the
// listeners may Send as they may from a Data listener.
func (s *DatagramSocket) dispatchIOError(pc *loop.PacketConn, text string) {
	s.inDispatch.Store(true)
	defer s.endDispatch(pc)
	s.DispatchEvent(NewIOErrorEvent(IOErrorType, false, false, text, IDSocketError))
}

// OnClose dispatches Close when the system closed the socket (the engine
// stopped); a local Close (reason nil) dispatches nothing.
func (h *datagramHandler) OnClose(pc *loop.PacketConn, reason error) {
	s := (*DatagramSocket)(h)
	if reason == nil {
		return
	}
	s.mu.Lock()
	current := s.pc.CompareAndSwap(pc, nil)
	if current {
		s.closeLocked()
	}
	s.mu.Unlock()
	if current {
		s.DispatchEvent(NewEvent(Close, false, false))
	}
}
