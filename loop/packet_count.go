package loop

// The datagram path's syscalls (recvmmsg, sendmmsg) are the loop's own, not
// its backend's, so it counts them for Metrics here: one read or write per
// batch, and the bytes of the datagrams it moved (mmsg's Len, which both
// calls set per datagram).

func (l *eventLoop) recvCounted(fd int, msgs []mmsg) (int, error) {
	n, err := recvBatch(fd, msgs)
	l.counters.packetCalls.inc()
	if n > 0 {
		l.counters.reads.inc()
		l.counters.bytesIn.add(batchBytes(msgs[:n]))
	}
	return n, err
}

func (l *eventLoop) sendCounted(fd int, msgs []mmsg) (int, error) {
	n, err := sendBatch(fd, msgs)
	l.counters.packetCalls.inc()
	l.counters.writes.inc()
	l.counters.packetBytesOut.add(batchBytes(msgs[:n]))
	return n, err
}

func batchBytes(msgs []mmsg) uint64 {
	var b uint64
	for i := range msgs {
		b += uint64(msgs[i].Len)
	}
	return b
}
