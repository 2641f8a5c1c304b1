package uring

// The kernel ABI (include/uapi/linux/io_uring.h), written out here: x/sys
// has the syscall numbers but not the structs.

// SQE is a submission queue entry (struct io_uring_sqe, 64 bytes). The
// unions of the C struct are represented by their most used member; OpFlags
// is the per-opcode flags word (msg_flags, accept_flags, cancel_flags, ...)
// and Ioprio doubles as the recv/send/accept flags of multishot operations.
type SQE struct {
	Opcode      uint8
	Flags       uint8
	Ioprio      uint16
	Fd          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	OpFlags     uint32
	UserData    uint64
	BufIndex    uint16 // or buf_group with SQEBufferSelect
	Personality uint16
	FileIndex   uint32
	Addr3       uint64
	_           uint64
}

// CQE is a completion queue entry (struct io_uring_cqe, 16 bytes).
type CQE struct {
	UserData uint64
	Res      int32 // the result: >= 0 as the syscall's, or -errno
	Flags    uint32
}

// sqringOffsets is struct io_sqring_offsets.
type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqringOffsets is struct io_cqring_offsets.
type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// Setup flags (IORING_SETUP_*).
const (
	SetupCQSize       = 1 << 3 // params' cqEntries sets the completion ring's size
	SetupClamp        = 1 << 4
	SetupRDisabled    = 1 << 6 // start disabled: EnableRings binds the submitting thread
	SetupSubmitAll    = 1 << 7
	SetupCoopTaskrun  = 1 << 8
	SetupSingleIssuer = 1 << 12
	SetupDeferTaskrun = 1 << 13 // only with SetupSingleIssuer
)

// Features reported by the kernel (IORING_FEAT_*).
const (
	FeatSingleMmap = 1 << 0
	FeatNoDrop     = 1 << 1
	FeatExtArg     = 1 << 8
)

// Opcodes (IORING_OP_*).
const (
	OpNop         = 0
	OpPollAdd     = 6
	OpAccept      = 13
	OpAsyncCancel = 14
	OpClose       = 19
	OpSend        = 26
	OpRecv        = 27
	OpShutdown    = 34
)

// SQE flags (IOSQE_*).
const (
	SQEBufferSelect = 1 << 5
)

// Ioprio flags of accept and recv (IORING_ACCEPT_*, IORING_RECV_*).
const (
	AcceptMultishot = 1 << 0
	AcceptPollFirst = 1 << 2
	RecvMultishot   = 1 << 1
)

// Poll flags (IORING_POLL_*, in the SQE's Len) and cancel flags
// (IORING_ASYNC_CANCEL_*, in OpFlags).
const (
	PollAddMulti = 1 << 0
	CancelAll    = 1 << 0
	CancelFd     = 1 << 1
	CancelAny    = 1 << 2
)

// CQE flags (IORING_CQE_F_*).
const (
	CQEBuffer = 1 << 0 // the upper 16 bits of Flags name the provided buffer
	CQEMore   = 1 << 1 // a multishot operation stays armed
)

// io_uring_enter flags and the mmap offsets of the rings.
const (
	enterGetEvents = 1 << 0
	enterExtArg    = 1 << 3
	offSQRing      = 0
	offCQRing      = 0x8000000
	offSQEs        = 0x10000000
)

// Provided buffer rings (IORING_REGISTER_PBUF_RING): struct io_uring_buf
// and struct io_uring_buf_reg.
type bufEntry struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16 // in entry 0: the ring's tail
}

type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// io_uring_register opcodes.
const (
	registerEnableRings = 12
	registerPbufRing    = 22
	registerPbufStatus  = 26
	unregisterPbufRing  = 23
)

// CQEBufferShift is where a completion's Flags keep the buffer id.
const CQEBufferShift = 16

// getEventsArg is struct io_uring_getevents_arg, passed with enterExtArg:
// its ts points to a timespec bounding the wait.
type getEventsArg struct {
	sigmask     uint64
	sigmaskSz   uint32
	minWaitUsec uint32
	ts          uint64
}

// bufStatus is struct io_uring_buf_status: the kernel's head of a buffer
// ring (IORING_REGISTER_PBUF_STATUS).
type bufStatus struct {
	bufGroup uint32
	head     uint32
	resv     [8]uint32
}
