package backend

import "sync/atomic"

// Stats counts a backend's connections and bytes. Bytes in are those read
// from sockets, or for the event-loop backends those the protocol consumed
// (equal but for a partial request still buffered); bytes out are the
// replies the protocol wrote. A UDP server (Config.UDP) has no
// connections: it counts datagrams received and sent, their payload bytes,
// and the replies it could not send (Dropped: refused by the kernel, or
// dropped by the loop's full socket queue).
type Stats struct {
	Open     int64 // connections open now
	Accepted int64 // connections accepted since start
	BytesIn  int64
	BytesOut int64

	DatagramsIn, DatagramsOut, Dropped int64
}

// counterShards spreads byte counting over independent cache lines, picked
// by loop or connection, so that loops do not fight over one counter.
const counterShards = 16

type counterShard struct {
	in, out     atomic.Int64
	dgIn, dgOut atomic.Int64
	_           [32]byte // one cache line each
}

// counters is shared by a backend's goroutines; every method is safe from
// any goroutine.
type counters struct {
	open, accepted atomic.Int64
	dropped        atomic.Int64
	shards         [counterShards]counterShard
}

func (c *counters) opened() {
	c.open.Add(1)
	c.accepted.Add(1)
}

func (c *counters) closed() { c.open.Add(-1) }

// add counts bytes moved by shard i (any int; it is reduced here).
func (c *counters) add(i int, in, out int) {
	s := &c.shards[uint(i)%counterShards]
	if in > 0 {
		s.in.Add(int64(in))
	}
	if out > 0 {
		s.out.Add(int64(out))
	}
}

// datagrams counts datagrams received and sent by shard i, with their
// bytes.
func (c *counters) datagrams(i int, in, out, bytesIn, bytesOut int) {
	s := &c.shards[uint(i)%counterShards]
	if in > 0 {
		s.dgIn.Add(int64(in))
		s.in.Add(int64(bytesIn))
	}
	if out > 0 {
		s.dgOut.Add(int64(out))
		s.out.Add(int64(bytesOut))
	}
}

func (c *counters) stats() Stats {
	st := Stats{Open: c.open.Load(), Accepted: c.accepted.Load(), Dropped: c.dropped.Load()}
	for i := range c.shards {
		st.BytesIn += c.shards[i].in.Load()
		st.BytesOut += c.shards[i].out.Load()
		st.DatagramsIn += c.shards[i].dgIn.Load()
		st.DatagramsOut += c.shards[i].dgOut.Load()
	}
	return st
}
