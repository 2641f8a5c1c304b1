package loop

// What an io_uring loop keeps for reuse after a burst (send buffers, the
// pages of ring buffers the kernel wrote) is its own, outside the pool the
// scavenger watches. So when the engine scavenges, each loop trims what
// it keeps to what a light load uses, and the rest goes with the
// collection (send buffers, counted freed) or at once (ring pages).
const keepSpareBufs = 16 // send buffers kept through a trim: 272 KiB

// trim drops the send buffers kept beyond keepSpareBufs (the coldest) and
// releases the pages of the held buffers below the minProvided on top of
// idle (the most recently used, kept warm). Buffers the kernel holds stay
// as they are: one may hold data not reaped yet; how many it is given
// shrinks by itself as the load does (provide), and a later trim finds
// them held. Loop goroutine.
func (u *completion) trim() {
	if cold := len(u.spareBufs) - keepSpareBufs; cold > 0 {
		for _, b := range u.spareBufs[:cold] {
			u.freed.Add(int64(cap(b)))
		}
		n := copy(u.spareBufs, u.spareBufs[cold:]) // the top was put last
		clear(u.spareBufs[n:])
		u.spareBufs = u.spareBufs[:n]
	}
	if len(u.idle) <= minProvided {
		return
	}
	var cold [bufCount]bool
	for _, bid := range u.idle[:len(u.idle)-minProvided] {
		cold[bid] = true
	}
	// One madvise per run of consecutive cold buffers.
	for bid := 0; bid < bufCount; {
		if !cold[bid] {
			bid++
			continue
		}
		first := bid
		for bid < bufCount && cold[bid] {
			bid++
		}
		if err := u.bufs.Release(uint16(first), bid-first); err != nil {
			return // the pages stay committed; nothing else depends on it
		}
	}
}
