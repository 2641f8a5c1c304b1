package loop

import (
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/poller"
	"github.com/airsock/airsock/uring"
)

// Datagram sockets on the io_uring backend. The loop makes their syscalls
// itself (recvmmsg, sendmmsg), so the ring only tells it when one is ready:
// a multishot poll on the socket in the ring, not the epoll instance the
// ring polls, which would cost an epoll_wait per wake-up on top. A ring
// poll reports a wake-up of the socket, not a level: a socket left with
// datagrams after a full batch is reported again (packetAgain), and each
// report clears what it reported.

// Poll operations of a datagram socket, beside those of uring_linux.go.
const (
	opPollIn = opOther + 1 + iota
	opPollOut
)

// Slot flags of a datagram socket.
const (
	pollInArmed  = 1 << (iota + 2) // its POLLIN multishot poll is in flight
	pollOutArmed                   // its POLLOUT one
	packetSlot                     // the slot is a datagram socket's
)

// watchPacket arms or cancels fd's polls for want.
func (u *completion) watchPacket(fd int, _, want poller.Mask) error {
	s := u.slot(fd)
	s.flags |= packetSlot
	s.want = want
	u.armPoll(fd, s, want&poller.Readable != 0, pollInArmed, opPollIn, unix.POLLIN)
	u.armPoll(fd, s, want&poller.Writable != 0, pollOutArmed, opPollOut, unix.POLLOUT)
	s.due &= want | poller.Error
	return nil
}

// armPoll arms (on) or cancels one of fd's polls. A cancelled poll's last
// completion (-ECANCELED) is ignored, so arming again at once is safe: the
// cancel, submitted first, finds the old one.
func (u *completion) armPoll(fd int, s *ringSlot, on bool, flag uint8, op int, events uint32) {
	armed := s.flags&flag != 0
	switch {
	case on && !armed:
		u.sqe().PrepPollMultishot(fd, events, userData(op, s.gen, fd))
		s.flags |= flag
		u.inflight++
	case !on && armed:
		u.sqe().PrepCancel(userData(op, s.gen, fd), userData(opOther, 0, fd))
		s.flags &^= flag
		u.inflight++
	}
}

// pollDone handles a completion of a datagram socket's poll: what it
// reports becomes due, and a poll the kernel ended is armed again.
func (u *completion) pollDone(op, fd int, gen uint32, res int32, flags uint32) {
	s := u.slot(fd)
	if s.gen&0xffffff != gen || s.flags&packetSlot == 0 {
		return // the socket was closed since
	}
	if flags&uring.CQEMore == 0 {
		if syscall.Errno(-res) == unix.ECANCELED {
			return // cancelled by armPoll, which has moved on
		}
		flag, events := uint8(pollInArmed), uint32(unix.POLLIN)
		if op == opPollOut {
			flag, events = pollOutArmed, unix.POLLOUT
		}
		s.flags &^= flag
		u.armPoll(fd, s, s.want&maskOf(events) != 0, flag, op, events)
	}
	if res <= 0 {
		return
	}
	ev := uint32(res)
	if ev&(unix.POLLERR|unix.POLLHUP) != 0 {
		s.due |= poller.Error
	}
	if ev&unix.POLLIN != 0 {
		s.due |= poller.Readable
	}
	if ev&unix.POLLOUT != 0 {
		s.due |= poller.Writable
	}
	u.list(fd, s)
}

// maskOf is the poller mask of one poll event.
func maskOf(events uint32) poller.Mask {
	if events == unix.POLLOUT {
		return poller.Writable
	}
	return poller.Readable
}

// packetAgain reports fd readable again at the next wait: its last batch
// was full, so more may wait, and no new wake-up will say so.
func (u *completion) packetAgain(fd int) {
	s := u.slot(fd)
	s.due |= poller.Readable
	u.list(fd, s)
}

// closePacket cancels fd's polls and closes it. The cancel goes to the
// kernel at once, with the completions it makes (which release the
// polls' hold on the socket), so that the port is free when the close
// returns. It cancels whatever the flags say: a cancel prepared this turn
// (SetReading(false) before the close) has cleared its flag but not yet
// reached the kernel.
func (u *completion) closePacket(fd int, _ poller.Mask) error {
	s := u.slot(fd)
	if s.flags&packetSlot != 0 && u.bound {
		u.sqe().PrepCancelFd(fd, userData(opOther, 0, fd))
		u.inflight++
		u.ring.SubmitAndReap()
	}
	*s = ringSlot{gen: s.gen + 1, listed: s.listed}
	return unix.Close(fd)
}
