package serversocket

import (
	"sync/atomic"
	"unsafe"
)

// Metrics is a snapshot of the package's counters, over every socket of the
// process (ReadMetrics): the AIR layer's part, beside loop.Metrics for the
// engines under it.
type Metrics struct {
	SocketsOpened uint64 // Sockets that got a connection (accepted, or connected by Connect)
	SocketsClosed uint64 // of those, the connections that ended: SocketsOpened - SocketsClosed are open
	// Events counts the events dispatched, by type: EventTypes[i]'s in
	// Events[i], every other type in the last.
	Events [len(EventTypes)]uint64
}

// EventTypes are the event types Metrics counts apiece, in the order of
// Metrics.Events; the last, "other", stands for every other type
// (an application's own, say).
var EventTypes = [...]string{Connect, SocketData, Close, OutputProgress, IOErrorType, SecurityErrorType, CertificateError, Data, "other"}

// eventShards spreads the event counters over cache lines: dispatchers on
// different loops mostly count on different lines, so counting costs an
// uncontended atomic add, not a line bounced between cores.
const eventShards = 16

type eventShard struct {
	n [len(EventTypes)]atomic.Uint64
	_ [128 - len(EventTypes)*8%128]byte
}

var (
	eventCounts                  [eventShards]eventShard
	socketsOpened, socketsClosed atomic.Uint64
)

// countEvent counts one dispatch of typ by d.
func countEvent(d *EventDispatcher, typ string) {
	i := len(EventTypes) - 1
	for k := range len(EventTypes) - 1 {
		if sameType(EventTypes[k], typ) {
			i = k
			break
		}
	}
	shard := uintptr(unsafe.Pointer(d)) >> 7 % eventShards
	eventCounts[shard].n[i].Add(1)
}

// ReadMetrics fills m with the counters as they are now. Any goroutine;
// no lock.
func ReadMetrics(m *Metrics) {
	m.SocketsClosed = socketsClosed.Load() // first: a close counted between the loads cannot make Closed exceed Opened
	m.SocketsOpened = socketsOpened.Load()
	m.Events = [len(EventTypes)]uint64{}
	for s := range eventCounts {
		for i := range m.Events {
			m.Events[i] += eventCounts[s].n[i].Load()
		}
	}
}
