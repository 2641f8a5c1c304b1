package loop

import (
	"runtime"
	"runtime/debug"
	"time"

	"github.com/airsock/airsock/buffer"
)

// After a burst (large frames, clients that stopped reading and then left)
// the buffers it took sit idle in the pool or wait as garbage for a
// collection that an idle server never triggers, since it allocates
// nothing: the process would keep its peak RSS for good. So a loop about to
// sleep checks how much is idle, and past Config.ScavengeAbove the engine
// collects twice (sync.Pool keeps a victim generation for one collection)
// and returns the freed memory to the OS, off the loop and at most once a
// second. What is left after that, below the threshold, is returned too,
// less eagerly: a sixteenth of it is enough once every five seconds.
// Each scavenge has every loop trim what its backend keeps for reuse
// (backend.trim): the loop that starts it first, so that the collection
// takes what it dropped; the others, woken, on their way back to sleep,
// their drops counted for the next look.

const (
	scavengeEvery     = int64(time.Second)
	scavengeRestEvery = int64(5 * time.Second)
	scavengeRestShare = 16
)

// maybeScavenge starts a scavenge if enough memory is idle and none ran in
// the last second, after l trims its backend. It runs on l's goroutine,
// about to sleep, and costs two atomic loads when there is nothing to do.
// When a scavenge is due but one ran too recently it returns how long the
// loop may sleep before asking again; otherwise -1.
func (e *Engine) maybeScavenge(l *eventLoop) time.Duration {
	if e.cfg.ScavengeAbove < 0 {
		return -1
	}
	idle := buffer.Default.Idle() + e.freed.Load()
	every := scavengeEvery
	switch {
	case idle >= e.cfg.ScavengeAbove:
	case idle >= e.cfg.ScavengeAbove/scavengeRestShare:
		every = scavengeRestEvery
	default:
		return -1
	}
	t := now()
	last := e.scavenged.Load()
	if last != 0 && t-last < every {
		return time.Duration(last + every - t)
	}
	if !e.scavenged.CompareAndSwap(last, t) {
		return -1 // another loop starts it
	}
	l.trimmed.Store(e.scavengeRuns.Add(1))
	l.io.trim()
	for _, other := range e.loops {
		if other != l {
			other.wakeIfSleeping() // to trim on its way back to sleep
		}
	}
	e.freed.Store(0)
	e.scavenges.Add(1)
	go func() {
		defer e.scavenges.Done()
		pooled := buffer.Default.Idle()
		runtime.GC()
		debug.FreeOSMemory()
		// Only what was pooled before the collections is gone: buffers
		// connections still closing Put meanwhile stay counted, so the
		// next look sees them and hands them back too.
		buffer.Default.ForgetIdle(pooled)
	}()
	return -1
}
