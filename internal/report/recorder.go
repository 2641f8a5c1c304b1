package report

import (
	"runtime"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Recorder gathers latencies from several goroutines, one Shard each, and
// hands them to one reader goroutine as interval snapshots.
//
// Recording takes no lock. Each shard has two sets of counts: the writer
// records into the active one, and Interval swaps it for the idle one, waits
// until the writer is not inside a Record that may still use the old set
// (the shard's sequence number says so), then reads it. This is the
// writer-reader phaser of HdrHistogram's Recorder, reduced to the one writer
// a shard has.
type Recorder struct {
	shards []Shard
	total  Counts
}

// Shard is one writer's part of a Recorder. Its Record and Error methods
// must be called from a single goroutine at a time (one event loop, say).
type Shard struct {
	// seq is odd while the writer is inside Record or Error.
	seq    atomic.Uint64
	active atomic.Pointer[Counts]
	idle   *Counts // owned by the reader
	_      [40]byte
}

// Counts is what was recorded over a span of time: latencies, bytes moved
// and errors.
type Counts struct {
	Hist   *hdrhistogram.Histogram // latencies in nanoseconds, from NewHistogram
	Bytes  int64                   // bytes moved, as passed to Record
	Errors int64                   // calls to Error
}

func newCounts() *Counts { return &Counts{Hist: NewHistogram()} }

// add merges o into c.
func (c *Counts) add(o *Counts) {
	c.Hist.Merge(o.Hist) // same geometry: nothing can be dropped
	c.Bytes += o.Bytes
	c.Errors += o.Errors
}

func (c *Counts) reset() {
	c.Hist.Reset()
	c.Bytes, c.Errors = 0, 0
}

// NewRecorder returns a Recorder with n shards (at least 1). It may be
// called from any goroutine.
func NewRecorder(n int) *Recorder {
	r := &Recorder{shards: make([]Shard, max(n, 1)), total: *newCounts()}
	for i := range r.shards {
		r.shards[i].active.Store(newCounts())
		r.shards[i].idle = newCounts()
	}
	return r
}

// Shard returns shard i, for one writer goroutine.
func (r *Recorder) Shard(i int) *Shard { return &r.shards[i] }

// Shards returns the number of shards.
func (r *Recorder) Shards() int { return len(r.shards) }

// Record adds one message of latency d that moved the given bytes. It
// takes no lock and allocates nothing; call it from the shard's writer
// goroutine only.
func (s *Shard) Record(d time.Duration, bytes int) {
	s.seq.Add(1)
	c := s.active.Load()
	_ = c.Hist.RecordValue(clampNs(d)) // clamped into range: cannot fail
	c.Bytes += int64(bytes)
	s.seq.Add(1)
}

// Error counts one failed message. Call it from the shard's writer
// goroutine only.
func (s *Shard) Error() {
	s.seq.Add(1)
	s.active.Load().Errors++
	s.seq.Add(1)
}

// swap makes the idle counts active and returns the previously active
// ones once the writer can no longer touch them.
func (s *Shard) swap() *Counts {
	old := s.active.Swap(s.idle)
	// A writer that entered before the swap may hold old; one that enters
	// after it loads the new set. The sequence number's parity tells
	// whether one is inside now; if so, wait for it to leave.
	if v := s.seq.Load(); v&1 == 1 {
		for s.seq.Load() == v {
			runtime.Gosched()
		}
	}
	return old
}

// Interval returns what all shards recorded since the previous call (or
// since NewRecorder) and adds it to the total. The result is the caller's.
// Call Interval and Total from one reader goroutine only; writers keep
// recording meanwhile.
func (r *Recorder) Interval() Counts {
	iv := newCounts()
	for i := range r.shards {
		s := &r.shards[i]
		old := s.swap()
		iv.add(old)
		old.reset()
		s.idle = old
	}
	r.total.add(iv)
	return *iv
}

// Total returns a copy of everything returned by Interval so far: call
// Interval first to include the latest records. Reader goroutine only.
func (r *Recorder) Total() Counts {
	return Counts{Hist: r.total.Hist.Clone(), Bytes: r.total.Bytes, Errors: r.total.Errors}
}
