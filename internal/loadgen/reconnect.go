package loadgen

// Connection churn (Config.ReconnectEvery): each connection carries a fixed
// number of requests, closes itself once their replies are in, and a
// successor, dialled as its last request leaves, takes over its share of
// the load. In an open-loop run the successor starts at the slot where its
// predecessor stopped, so the slots that fall due while it connects are
// sent late, once it is open, and measured from their intended times as
// any late send: a server slow to accept shows in the latencies. A
// successor whose dial fails is a connect error, and its share is not sent
// (it is not counted as sent either).

// firstBudget returns how many requests cl may send: ReconnectEvery, less
// for the first connections, so that their successors are dialled evenly
// over time and not in a burst every ReconnectEvery requests of a lane
// (the first connections open together, and their lanes' slots are
// evenly spaced: each would end within one stride of the others).
func (g *generator) firstBudget(cl *client) int {
	every := g.cfg.ReconnectEvery
	if every <= 0 || cl.carried {
		return every
	}
	return every - int(cl.id*uint64(every)/uint64(g.cfg.Conns))%every
}

// allow returns how many of n more requests cl may send, taking them from
// its budget. Loop goroutine.
func (cl *client) allow(n int) int {
	if cl.w.gen.cfg.ReconnectEvery <= 0 {
		return n
	}
	n = min(n, cl.budget)
	cl.budget -= n
	return n
}

// spent reports whether cl has sent every request it may. Loop goroutine.
func (cl *client) spent() bool {
	return cl.w.gen.cfg.ReconnectEvery > 0 && cl.budget == 0
}

// retire, once cl has sent its last request, dials its successor, and
// closes cl if no reply is due. Loop goroutine.
func (cl *client) retire(now int64) {
	if cl.retired {
		return
	}
	cl.retired = true
	cl.w.gen.redial(cl, now)
	cl.closeIfDone()
}

// closeIfDone closes a retired client whose replies are all in: the
// generator's own close, no error. Loop goroutine.
func (cl *client) closeIfDone() {
	if cl.retired && !cl.done && cl.times.len() == 0 {
		cl.done = true
		cl.conn.Close()
	}
}

// redial dials the successor of cl, unless the run has stopped sending.
// Loop goroutine (cl's).
func (g *generator) redial(cl *client, now int64) {
	if !g.sending(now) {
		return
	}
	next := g.newClient(g.nextID.Add(1) - 1)
	next.slot, next.carried = cl.slot, true
	cl.w.successors = append(cl.w.successors, next)
	g.dialClient(next)
}
