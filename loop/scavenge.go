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
// second.

const scavengeEvery = int64(time.Second)

// maybeScavenge starts a scavenge if enough memory is idle and none ran in
// the last second. It runs on a loop goroutine about to sleep, and costs
// two atomic loads when there is nothing to do. When a scavenge is due but
// one ran too recently it returns how long the loop may sleep before
// asking again; otherwise -1.
func (e *Engine) maybeScavenge() time.Duration {
	if e.cfg.ScavengeAbove < 0 || buffer.Default.Idle()+e.freed.Load() < e.cfg.ScavengeAbove {
		return -1
	}
	t := now()
	last := e.scavenged.Load()
	if last != 0 && t-last < scavengeEvery {
		return time.Duration(last + scavengeEvery - t)
	}
	if !e.scavenged.CompareAndSwap(last, t) {
		return -1 // another loop starts it
	}
	e.freed.Store(0)
	e.scavenges.Add(1)
	go func() {
		defer e.scavenges.Done()
		runtime.GC()
		debug.FreeOSMemory()
		buffer.Default.ResetIdle()
	}()
	return -1
}
