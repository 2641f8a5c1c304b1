package uring

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BufRing is a provided buffer ring: count buffers of size bytes that the
// kernel picks from when a recv asks for a buffer of its group (SQE flag
// SQEBufferSelect, BufIndex = the group), instead of the recv naming one.
// Both the ring and the buffers are mapped outside the Go heap, so the
// kernel may write them at any time. A completion names its buffer (Flags
// >> CQEBufferShift); Bytes reads it and Recycle hands it back. Owning
// goroutine only, as the Ring.
type BufRing struct {
	ring  *Ring
	group uint16
	size  int
	mask  uint16
	tail  uint16 // local tail: buffers added, published by Publish
	ents  []bufEntry
	mem   []byte // the ring of entries
	data  []byte // count*size bytes of buffers
}

// NewBufRing registers a buffer ring of count buffers (a power of two, at
// most 32768) of size bytes each as group, with every buffer provided.
func (r *Ring) NewBufRing(group uint16, count, size int) (*BufRing, error) {
	return r.NewBufRingProviding(group, count, size, count)
}

// NewBufRingProviding is NewBufRing with only the first provided buffers
// (ids 0 to provided-1) handed to the kernel; the caller holds the others
// and hands them over with Recycle, so that it can choose which buffers
// the kernel writes next (the most recently used, still in the cache).
func (r *Ring) NewBufRingProviding(group uint16, count, size, provided int) (*BufRing, error) {
	if count <= 0 || count > 1<<15 || count&(count-1) != 0 || size <= 0 || provided < 0 || provided > count {
		return nil, os.NewSyscallError("io_uring_register", unix.EINVAL)
	}
	b := &BufRing{ring: r, group: group, size: size, mask: uint16(count - 1)}
	var err error
	if b.mem, err = anonMap(count*int(unsafe.Sizeof(bufEntry{})), unix.MAP_POPULATE); err != nil {
		return nil, err
	}
	if b.data, err = anonMap(count*size, 0); err != nil {
		b.unmap()
		return nil, err
	}
	b.ents = unsafe.Slice((*bufEntry)(unsafe.Pointer(&b.mem[0])), count)
	reg := bufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&b.mem[0]))), ringEntries: uint32(count), bgid: group}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	if errno != 0 {
		b.unmap()
		return nil, os.NewSyscallError("io_uring_register", errno)
	}
	for i := range provided {
		b.add(uint16(i))
	}
	b.Publish()
	return b, nil
}

// anonMap maps size bytes outside the Go heap; the buffers are not
// populated, so memory is committed only as the kernel fills them.
func anonMap(size int, populate int) ([]byte, error) {
	m, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|populate)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return m, nil
}

// Group returns the buffer group id to put in an SQE's BufIndex.
func (b *BufRing) Group() uint16 { return b.group }

// Bytes returns the first n bytes of buffer bid: the data of a completion
// whose Flags named bid and whose Res was n. Valid until Recycle(bid).
func (b *BufRing) Bytes(bid uint16, n int) []byte {
	off := int(bid) * b.size
	return b.data[off : off+n : off+b.size]
}

// Free returns how many buffers the kernel may still pick: those added
// (published or not) less those it took, from IORING_REGISTER_PBUF_STATUS
// (Linux 6.8). More than the ring's count means one was recycled twice.
func (b *BufRing) Free() (int, error) {
	st := bufStatus{bufGroup: uint32(b.group)}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(b.ring.fd), registerPbufStatus, uintptr(unsafe.Pointer(&st)), 1, 0, 0)
	if errno != 0 {
		return 0, os.NewSyscallError("io_uring_register", errno)
	}
	return int(b.tail - uint16(st.head)), nil
}

// Mapped reports whether the buffers are still mapped (Close unmapped them).
func (b *BufRing) Mapped() bool { return b.data != nil }

// Recycle hands buffer bid back to the kernel at the next Publish.
func (b *BufRing) Recycle(bid uint16) { b.add(bid) }

// Release gives the memory of the n buffers from bid back to the OS
// (MADV_DONTNEED): they read as zeros and are committed again when next
// written. Only for buffers the caller holds: one provided to the kernel
// may hold a completion's data that has not been read yet.
func (b *BufRing) Release(bid uint16, n int) error {
	off := int(bid) * b.size
	return os.NewSyscallError("madvise", unix.Madvise(b.data[off:off+n*b.size], unix.MADV_DONTNEED))
}

// add puts buffer bid at the local tail.
func (b *BufRing) add(bid uint16) {
	e := &b.ents[b.tail&b.mask]
	e.addr = uint64(uintptr(unsafe.Pointer(&b.data[int(bid)*b.size])))
	e.len = uint32(b.size)
	e.bid = bid
	b.tail++
}

// Publish makes the buffers added since the last Publish visible to the
// kernel. The shared tail is the 16 bits after entry 0's bid; sync/atomic
// has no 16-bit store, so one 32-bit store writes both, bid unchanged (only
// this goroutine writes entries; the kernel only reads them).
func (b *BufRing) Publish() {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b.ents[0].bid)), uint32(b.ents[0].bid)|uint32(b.tail)<<16)
}

// Close unregisters the group and unmaps its memory. Recvs still armed on
// the group must have ended first.
func (b *BufRing) Close() error {
	reg := bufReg{bgid: b.group}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(b.ring.fd), unregisterPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	b.unmap()
	if errno != 0 {
		return os.NewSyscallError("io_uring_register", errno)
	}
	return nil
}

func (b *BufRing) unmap() {
	if b.mem != nil {
		unix.Munmap(b.mem)
	}
	if b.data != nil {
		unix.Munmap(b.data)
	}
	b.mem, b.data, b.ents = nil, nil, nil
}
