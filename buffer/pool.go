package buffer

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

const (
	// MinSize is the smallest size class: Get never returns less, and Free
	// grows a Ring that has less than this much free space. 512 bytes holds
	// a typical request line or small message without growing.
	MinSize = 1 << minShift
	// MaxSize is the largest pooled size class. Get serves bigger requests
	// with fresh arrays and Put drops them, so a rare huge message does not
	// pin its memory in the pool.
	MaxSize = 1 << maxShift

	minShift   = 9
	maxShift   = 26
	numClasses = maxShift - minShift + 1
)

// Pool hands out byte slices whose length and capacity are a power of two,
// one sync.Pool per size class from MinSize to MaxSize. The zero value is
// ready to use; a Pool must not be copied after first use.
//
// A slice is stored as the unsafe.Pointer to its first byte rather than as a
// []byte: a pointer fits in an interface without boxing, so Put and Get do
// not allocate, and the class fixes the length to rebuild the slice with.
//
// The pool also keeps a rough count of the bytes it holds (Idle), for
// memory reporting; sync.Pool itself does not say what it holds.
type Pool struct {
	classes [numClasses]sync.Pool
	idle    atomic.Int64 // bytes Put minus bytes Get took from the pool
}

// Default is the pool used by a Ring that was given none. It is safe for
// concurrent use by any goroutine.
var Default Pool

// Get returns a slice with len == cap == the smallest power of two that is
// at least max(size, MinSize). Its contents are undefined: a reused slice
// keeps the bytes of its previous user. Get may be called from any goroutine.
func (p *Pool) Get(size int) []byte {
	n := roundUp(size)
	class := bits.TrailingZeros(uint(n)) - minShift
	if class >= numClasses {
		return make([]byte, n)
	}
	if v := p.classes[class].Get(); v != nil {
		p.idle.Add(-int64(n))
		return unsafe.Slice((*byte)(v.(unsafe.Pointer)), n)
	}
	return make([]byte, n)
}

// Put gives b's array back to the pool for a later Get of its size class.
// Slices whose capacity is not a power of two between MinSize and MaxSize
// are dropped. The caller must not use b, or any slice sharing its array,
// after Put. Put may be called from any goroutine.
func (p *Pool) Put(b []byte) {
	c := cap(b)
	if c < MinSize || c > MaxSize || c&(c-1) != 0 {
		return
	}
	class := bits.TrailingZeros(uint(c)) - minShift
	p.idle.Add(int64(c))
	p.classes[class].Put(unsafe.Pointer(unsafe.SliceData(b)))
}

// Idle returns about how many bytes sit in the pool waiting for a Get: the
// capacity of every slice Put kept, less what Get has taken back out. It is
// an upper bound, since sync.Pool frees entries at garbage collection (and
// under the race detector drops some Puts) without telling the count. After
// two forced collections the pool has lost what it held before them
// (sync.Pool keeps a victim generation through one), and ForgetIdle takes
// that out of the count. Idle is one atomic load and may be called from any
// goroutine.
func (p *Pool) Idle() int64 { return max(p.idle.Load(), 0) }

// ForgetIdle takes n bytes out of the count Idle reports, never below 0: a
// caller reads Idle, forces two collections (runtime.GC, then
// debug.FreeOSMemory), and forgets what it read. Puts made meanwhile stay
// counted, so memory freed while the collections ran is still seen as idle
// by the next look (setting the count to 0 instead lost it for good). It
// may be called from any goroutine.
func (p *Pool) ForgetIdle(n int64) {
	for {
		old := p.idle.Load()
		if p.idle.CompareAndSwap(old, max(old-n, 0)) {
			return
		}
	}
}

// roundUp returns the smallest power of two >= max(n, MinSize).
func roundUp(n int) int {
	if n <= MinSize {
		return MinSize
	}
	return 1 << bits.Len(uint(n-1))
}
