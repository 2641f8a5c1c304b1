//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package loop

// The BSDs and macOS have no UDP segmentation offload: datagrams leave and
// arrive one by one (packet_offload_linux.go).

var offloadSpace = 0

func (pc *PacketConn) setOffload(*Config) {}

func (pk *packetBatch) segmentRuns(_ *PacketConn, msgs []mmsg) int { return len(msgs) }

func (pc *PacketConn) offloadRefused(int, error) {}

func offloadErrno(error) bool { return false }
