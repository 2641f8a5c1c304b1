package loop

import (
	"sync"
	"sync/atomic"

	"github.com/airsock/airsock/buffer"
)

// The task queue carries work from other goroutines onto a loop. Producers
// append under a mutex; the loop swaps the whole slice out in one lock and
// runs the batch without holding it, so a burst of AsyncWrites costs the loop
// one lock and at most one wake-up.

type taskKind uint8

const (
	taskFunc     taskKind = iota // run fn
	taskConnFunc                 // run cfn(c) if c is open
	taskWrite                    // append data to c's output
	taskClose                    // close c
	taskRegister                 // adopt c (accepted elsewhere or dialled)
	taskPacket                   // send data from pc to to (AsyncWriteTo)
)

type task struct {
	kind taskKind
	c    *Conn
	data []byte // taskWrite: a pooled copy, returned to the pool after use
	fn   func()
	cfn  func(*Conn)
	pc   *PacketConn
	to   PacketAddr
}

type taskQueue struct {
	mu      sync.Mutex
	tasks   []task
	spare   []task
	pending atomic.Int32 // tasks queued, read without the lock
	bytes   int          // queued write bytes, under mu
	limit   int
}

// push queues t and reports whether it was taken: a write that would take
// the queued bytes past the limit is refused.
func (q *taskQueue) push(t task) bool {
	q.mu.Lock()
	if t.kind == taskWrite || t.kind == taskPacket {
		if q.bytes+len(t.data) > q.limit && q.bytes > 0 {
			q.mu.Unlock()
			return false
		}
		q.bytes += len(t.data)
	}
	q.tasks = append(q.tasks, t)
	q.pending.Add(1)
	q.mu.Unlock()
	return true
}

// take returns the queued tasks and empties the queue. The slice stays the
// loop's until the next take.
func (q *taskQueue) take() []task {
	if q.pending.Load() == 0 {
		return nil
	}
	q.mu.Lock()
	batch := q.tasks
	q.tasks = q.spare[:0]
	q.spare = batch
	q.pending.Store(0)
	q.bytes = 0
	q.mu.Unlock()
	return batch
}

// releaseCopy returns an AsyncWrite copy to the pool.
func releaseCopy(b []byte) { buffer.Default.Put(b[:cap(b)]) }
