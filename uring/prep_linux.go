package uring

import "unsafe"

// Preparing operations. A buffer given to an operation is read or written by
// the kernel after Submit returns, so it must not live on a goroutine stack
// and must stay alive and unmoved until the operation's completion is
// reaped (heap memory the caller keeps a reference to, or memory outside
// the Go heap).

// PrepNop prepares an operation that does nothing and completes with 0.
func (s *SQE) PrepNop(userData uint64) {
	s.Opcode, s.UserData = OpNop, userData
}

// PrepRecv prepares a recv(2) of fd into buf with the given MSG_* flags.
func (s *SQE) PrepRecv(fd int, buf []byte, msgFlags uint32, userData uint64) {
	s.Opcode, s.Fd, s.OpFlags, s.UserData = OpRecv, int32(fd), msgFlags, userData
	s.Addr, s.Len = bufAddr(buf), uint32(len(buf))
}

// PrepRecvMultishot prepares a recv on fd that stays armed and takes a
// buffer from the BufRing group for each completion: Res is the byte
// count, Flags names the buffer (CQEBuffer, >> CQEBufferShift) and keeps
// CQEMore while armed. It ends (CQEMore clear) at EOF (Res 0), on an error,
// or with -ENOBUFS when the group ran out of buffers: recycle and re-arm.
func (s *SQE) PrepRecvMultishot(fd int, group uint16, userData uint64) {
	s.Opcode, s.Fd, s.UserData = OpRecv, int32(fd), userData
	s.Ioprio = RecvMultishot
	s.Flags |= SQEBufferSelect
	s.BufIndex = group
}

// SetRecvLimit ends a multishot recv (its last completion without
// CQEMore) once total bytes have arrived, so that a connection the owner
// stops reading cannot keep filling buffers: flow control without a cancel,
// which can miss a recv the kernel is busy re-running (-ENOENT). The kernel
// field is the SQE's optlen (the FileIndex union). Linux 6.17; older
// kernels ignore it.
func (s *SQE) SetRecvLimit(total uint32) { s.FileIndex = total }

// PrepSend prepares a send(2) of buf on fd with the given MSG_* flags.
func (s *SQE) PrepSend(fd int, buf []byte, msgFlags uint32, userData uint64) {
	s.Opcode, s.Fd, s.OpFlags, s.UserData = OpSend, int32(fd), msgFlags, userData
	s.Addr, s.Len = bufAddr(buf), uint32(len(buf))
}

// PrepMultishotAccept prepares an accept on the listening socket fd that
// stays armed: each connection completes with its descriptor (made with
// the SOCK_* flags given, e.g. SOCK_NONBLOCK|SOCK_CLOEXEC) and CQEMore set,
// until an error or a cancel ends it (CQEMore clear). The peer's address
// is not asked for.
func (s *SQE) PrepMultishotAccept(fd int, sockFlags uint32, userData uint64) {
	s.Opcode, s.Fd, s.OpFlags, s.UserData = OpAccept, int32(fd), sockFlags, userData
	s.Ioprio = AcceptMultishot
}

// PrepCancel prepares the cancellation of the operation submitted with
// userData target; it completes with 0, -ENOENT (nothing matched) or
// -EALREADY, and the cancelled operation completes with -ECANCELED.
func (s *SQE) PrepCancel(target, userData uint64) {
	s.Opcode, s.Fd, s.Addr, s.UserData = OpAsyncCancel, -1, target, userData
}

// PrepClose prepares a close(2) of fd.
func (s *SQE) PrepClose(fd int, userData uint64) {
	s.Opcode, s.Fd, s.UserData = OpClose, int32(fd), userData
}

// bufAddr is the address of buf's first byte for the kernel, 0 if empty.
func bufAddr(buf []byte) uint64 {
	if len(buf) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&buf[0])))
}

// PrepPollMultishot asks to be told, with one completion each time, that fd
// became ready for events (unix.POLLIN, ...); it stays armed while the
// completions carry CQEMore.
func (s *SQE) PrepPollMultishot(fd int, events uint32, userData uint64) {
	s.Opcode, s.Fd, s.OpFlags, s.UserData = OpPollAdd, int32(fd), events, userData
	s.Len = PollAddMulti
}

// PrepCancelFd cancels every operation in flight on fd. The kernel finds
// them by the file fd names when it consumes this entry, so fd must still
// be open then: prepare the close after it.
func (s *SQE) PrepCancelFd(fd int, userData uint64) {
	s.Opcode, s.Fd, s.UserData = OpAsyncCancel, int32(fd), userData
	s.OpFlags = CancelAll | CancelFd
}
