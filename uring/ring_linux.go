package uring

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance: its descriptor and the three shared
// mappings (submission ring, completion ring, SQE array). Every method
// belongs to the ring's owning goroutine (see the package doc).
type Ring struct {
	fd       int
	features uint32

	sqMap, cqMap, sqeMap []byte // the mappings; cqMap aliases sqMap with FeatSingleMmap
	sqHead, sqTail       *uint32
	sqMask, sqEntries    uint32
	sqes                 []SQE
	next                 uint32 // the tail after the SQEs handed out by GetSQE

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []CQE

	waitArg getEventsArg // SubmitAndWait's
	waitTS  unix.Timespec

	enters atomic.Uint64 // io_uring_enter calls: written by the owner only, read by any goroutine
}

// Enters returns how many io_uring_enter calls the ring has made, retries
// after a signal included. Any goroutine.
func (r *Ring) Enters() uint64 { return r.enters.Load() }

// entered counts one io_uring_enter: a load and a store, as only the
// owner's goroutine calls it.
func (r *Ring) entered() { r.enters.Store(r.enters.Load() + 1) }

// ErrUnsupported wraps the error of an io_uring_setup that the kernel or a
// seccomp filter refused (ENOSYS, EPERM, or EINVAL for unknown flags), so a
// caller can fall back to a readiness poller.
var ErrUnsupported = errors.New("uring: io_uring refused by the kernel")

// New sets up a ring with at least entries submission entries (the kernel
// rounds up to a power of two; SetupClamp caps it) and the given Setup*
// flags, and maps its queues. Call it on the goroutine that will own the
// ring, locked to its thread when flags include SetupSingleIssuer.
func New(entries uint32, flags uint32) (*Ring, error) {
	return NewWithCQ(entries, 0, flags)
}

// NewWithCQ is New with a completion ring of at least cqEntries entries (0:
// the kernel's default, twice the submission ring): multishot operations
// post many completions per submission, and a larger ring keeps them out of
// the kernel's overflow list.
func NewWithCQ(entries, cqEntries uint32, flags uint32) (*Ring, error) {
	var p params
	p.flags = flags
	if cqEntries > 0 {
		p.flags |= SetupCQSize
		p.cqEntries = cqEntries
	}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		err := os.NewSyscallError("io_uring_setup", errno)
		if errno == unix.ENOSYS || errno == unix.EPERM || errno == unix.EINVAL {
			return nil, errors.Join(ErrUnsupported, err)
		}
		return nil, err
	}
	r := &Ring{fd: int(fd), features: p.features}
	if err := r.mapRings(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// mapRings maps the submission ring, the completion ring (the same mapping
// when the kernel offers FeatSingleMmap) and the SQE array.
func (r *Ring) mapRings(p *params) error {
	sqSize := int(p.sqOff.array) + int(p.sqEntries)*4
	cqSize := int(p.cqOff.cqes) + int(p.cqEntries)*int(unsafe.Sizeof(CQE{}))
	single := p.features&FeatSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	if r.sqMap, err = mmap(r.fd, offSQRing, sqSize); err != nil {
		return err
	}
	r.cqMap = r.sqMap
	if !single {
		if r.cqMap, err = mmap(r.fd, offCQRing, cqSize); err != nil {
			return err
		}
	}
	if r.sqeMap, err = mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(SQE{}))); err != nil {
		return err
	}
	r.sqHead = u32At(r.sqMap, p.sqOff.head)
	r.sqTail = u32At(r.sqMap, p.sqOff.tail)
	r.sqMask = *u32At(r.sqMap, p.sqOff.ringMask)
	r.sqEntries = *u32At(r.sqMap, p.sqOff.ringEntries)
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMap[0])), p.sqEntries)
	// SQEs are used in ring order, so the indirection array is the
	// identity, written once.
	array := unsafe.Slice(u32At(r.sqMap, p.sqOff.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.next = *r.sqTail
	r.cqHead = u32At(r.cqMap, p.cqOff.head)
	r.cqTail = u32At(r.cqMap, p.cqOff.tail)
	r.cqMask = *u32At(r.cqMap, p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&r.cqMap[p.cqOff.cqes])), p.cqEntries)
	return nil
}

func mmap(fd int, offset int64, size int) ([]byte, error) {
	b, err := unix.Mmap(fd, offset, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return b, nil
}

func u32At(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }

// Features returns the kernel's IORING_FEAT_* bits for this ring.
func (r *Ring) Features() uint32 { return r.features }

// Fd returns the ring's descriptor (for registering an eventfd, say).
func (r *Ring) Fd() int { return r.fd }

// GetSQE returns the next free submission entry, zeroed, or nil when every
// entry is prepared but not yet consumed by the kernel: Submit, then try
// again. The entry goes to the kernel at the next Submit.
func (r *Ring) GetSQE() *SQE {
	if r.next-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
		return nil
	}
	sqe := &r.sqes[r.next&r.sqMask]
	*sqe = SQE{}
	r.next++
	return sqe
}

// Submit hands the prepared entries to the kernel and, if wait > 0, waits
// until at least wait completions are ready, in one io_uring_enter. It
// returns how many entries the kernel consumed. A signal interrupting the
// wait (Go's runtime sends them) is retried.
func (r *Ring) Submit(wait uint32) (int, error) {
	atomic.StoreUint32(r.sqTail, r.next) // release: the entries are written
	var flags uintptr
	if wait > 0 {
		flags = enterGetEvents
	}
	for {
		// What the kernel has not consumed yet, counted afresh on a retry.
		toSubmit := r.next - atomic.LoadUint32(r.sqHead)
		if toSubmit == 0 && wait == 0 {
			return 0, nil
		}
		r.entered()
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(wait), flags, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, os.NewSyscallError("io_uring_enter", errno)
	}
}

// EnableRings starts a ring set up with SetupRDisabled; with
// SetupSingleIssuer the calling thread becomes the only one that may
// submit. So a ring can be made (and its failure reported) on one
// goroutine and handed to the goroutine that will own it.
func (r *Ring) EnableRings() error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEnableRings, 0, 0, 0, 0)
	if errno != 0 {
		return os.NewSyscallError("io_uring_register", errno)
	}
	return nil
}

// SubmitAndReap hands the prepared entries to the kernel and lets it post
// the completions that are ready, without waiting: with SetupDeferTaskrun
// completions are only posted inside an io_uring_enter that asks for
// events, so a busy owner calls this once per turn. It is a raw syscall,
// as the call does not block.
func (r *Ring) SubmitAndReap() error {
	atomic.StoreUint32(r.sqTail, r.next)
	for {
		toSubmit := r.next - atomic.LoadUint32(r.sqHead)
		r.entered()
		_, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), 0, enterGetEvents, 0, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return os.NewSyscallError("io_uring_enter", errno)
	}
}

// SubmitAndWait hands the prepared entries to the kernel and waits until a
// completion is ready or d has passed (d < 0: no bound), in one
// io_uring_enter; the time bound needs FeatExtArg (Linux 5.11). A wait
// that times out is not an error. A signal interrupting the wait (Go's
// runtime sends them) is retried, with the bound counted afresh.
func (r *Ring) SubmitAndWait(d time.Duration) error {
	atomic.StoreUint32(r.sqTail, r.next)
	flags := uintptr(enterGetEvents)
	// The argument and its timespec are the ring's (on the heap): a
	// uintptr to a stack value would go stale if the stack moved.
	// Without enterExtArg the last two arguments are a signal mask and
	// its size: none.
	var argp, argSize uintptr
	if d >= 0 {
		r.waitTS = unix.NsecToTimespec(int64(d))
		r.waitArg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&r.waitTS)))}
		argp, argSize = uintptr(unsafe.Pointer(&r.waitArg)), unsafe.Sizeof(r.waitArg)
		flags |= enterExtArg
	}
	for {
		toSubmit := r.next - atomic.LoadUint32(r.sqHead)
		r.entered()
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), 1, flags, argp, argSize)
		switch errno {
		case 0, unix.ETIME:
			return nil
		case unix.EINTR:
			continue
		}
		return os.NewSyscallError("io_uring_enter", errno)
	}
}

// Pending returns how many prepared entries the kernel has not consumed.
func (r *Ring) Pending() uint32 { return r.next - atomic.LoadUint32(r.sqHead) }

// PeekCQE returns the oldest completion not yet marked seen, or nil if none
// is ready. The entry stays valid until SeenCQE.
func (r *Ring) PeekCQE() *CQE {
	head := *r.cqHead // only this goroutine writes it
	if head == atomic.LoadUint32(r.cqTail) {
		return nil
	}
	return &r.cqes[head&r.cqMask]
}

// SeenCQE marks the completion returned by PeekCQE consumed, so the kernel
// may reuse its slot.
func (r *Ring) SeenCQE() {
	atomic.StoreUint32(r.cqHead, *r.cqHead+1)
}

// Close unmaps the queues and closes the ring, which cancels what is still
// in flight. Buffers of operations in flight must stay alive until then.
func (r *Ring) Close() error {
	if r.sqeMap != nil {
		unix.Munmap(r.sqeMap)
	}
	if r.cqMap != nil && (r.sqMap == nil || &r.cqMap[0] != &r.sqMap[0]) {
		unix.Munmap(r.cqMap)
	}
	if r.sqMap != nil {
		unix.Munmap(r.sqMap)
	}
	r.sqeMap, r.cqMap, r.sqMap = nil, nil, nil
	if r.fd < 0 {
		return nil
	}
	err := syscall.Close(r.fd)
	r.fd = -1
	return err
}
