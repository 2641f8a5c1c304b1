package loop

import (
	"container/heap"
	"time"
)

// Timers live on a binary heap per loop. A heap costs O(log n) per schedule
// and needs no tick, so an idle loop sleeps until the nearest deadline. A
// timing wheel would make scheduling O(1) but wakes the loop every tick, and
// the timers here (dial, idle, write, inbound, linger, AfterFunc) are
// re-armed rarely: activity only records the loop's time, and a timer that
// fires early re-arms itself for the rest (timeouts.go).

// epoch anchors the loops' monotonic clock.
var epoch = time.Now()

// now returns monotonic nanoseconds since epoch.
func now() int64 { return int64(time.Since(epoch)) }

// timer calls f on its loop goroutine at when. index is its heap position,
// -1 while unscheduled.
type timer struct {
	when  int64
	f     func()
	index int
}

func newTimer(f func()) *timer { return &timer{f: f, index: -1} }

// timerHeap orders timers by deadline; it is owned by one loop goroutine.
type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// schedule sets t to fire at when, adding it or moving it.
func (h *timerHeap) schedule(t *timer, when int64) {
	t.when = when
	if t.index >= 0 {
		heap.Fix(h, t.index)
		return
	}
	heap.Push(h, t)
}

// stop unschedules t; stopping an unscheduled timer does nothing.
func (h *timerHeap) stop(t *timer) {
	if t != nil && t.index >= 0 {
		heap.Remove(h, t.index)
	}
}

// wait returns how long the loop may sleep before the next timer is due:
// -1 when there is none.
func (h timerHeap) wait(now int64) time.Duration {
	if len(h) == 0 {
		return -1
	}
	if d := h[0].when - now; d > 0 {
		return time.Duration(d)
	}
	return 0
}

// fire runs every timer due at now. A timer may reschedule itself or others.
func (h *timerHeap) fire(now int64) {
	for len(*h) > 0 && (*h)[0].when <= now {
		t := heap.Pop(h).(*timer)
		t.f()
	}
}
