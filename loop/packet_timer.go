package loop

import "time"

// AfterFunc runs f on the socket's loop goroutine after d, unless the
// socket has closed by then or the returned stop function was called (on
// the loop goroutine) first. Datagrams f writes leave at the end of the
// loop's turn. It must be called on the loop goroutine; it allocates (the
// timer and its closure): a periodic task re-arms from f.
func (pc *PacketConn) AfterFunc(d time.Duration, f func(pc *PacketConn)) (stop func()) {
	l := pc.loop
	var t *timer
	t = newTimer(func() {
		pc.forgetTimer(t)
		if pc.state == stateOpen {
			defer l.recoveredPacket(pc, "AfterFunc")
			f(pc)
		}
	})
	pc.timers = append(pc.timers, t)
	l.timers.schedule(t, now()+int64(d))
	return func() {
		l.timers.stop(t)
		pc.forgetTimer(t)
	}
}

// forgetTimer drops t from pc's AfterFunc timers, which closePacket stops.
func (pc *PacketConn) forgetTimer(t *timer) {
	for i, u := range pc.timers {
		if u == t {
			pc.timers = append(pc.timers[:i], pc.timers[i+1:]...)
			return
		}
	}
}

// stopTimers stops every AfterFunc timer of a closing socket.
func (l *eventLoop) stopTimers(pc *PacketConn) {
	for _, t := range pc.timers {
		l.timers.stop(t)
	}
	pc.timers = nil
}
