package loop

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP segmentation offload on Linux. Sending (GSO, UDP_SEGMENT): a run of
// same-sized datagrams from one socket to one address, consecutive in the
// stage, leaves as one buffer with the segment size in a control message,
// and the kernel cuts it into datagrams past the socket layer, so the run
// costs the socket, route and IP work of one datagram. Receiving (GRO,
// UDP_GRO): the kernel may hand a run of one sender's same-sized datagrams
// as one buffer with the segment size beside it, which receive cuts back
// into datagrams before OnPacket: a handler sees the same datagrams either
// way.

// Offload limits: the kernel takes at most 64 segments a send on every
// kernel with UDP_SEGMENT (128 on newer ones), and an IPv4 datagram's
// payload is at most 65,507 bytes, the bound on a segmented buffer too.
const (
	gsoMaxSegments = 64
	gsoMaxBytes    = 65507
)

// offloadSpace is a send header's room for its UDP_SEGMENT control message.
var offloadSpace = unix.CmsgSpace(2)

// setOffload turns segmentation on for pc, a fresh UDP socket, where the
// kernel has it and the configuration lets it: GSO if the kernel knows
// UDP_SEGMENT, GRO if whole coalesced buffers fit a receive slot.
func (pc *PacketConn) setOffload(cfg *Config) {
	if cfg.PacketNoOffload || pc.family == unix.AF_UNIX {
		return
	}
	if _, err := unix.GetsockoptInt(pc.fd, unix.SOL_UDP, unix.UDP_SEGMENT); err == nil {
		pc.gsoBelow = gsoMaxBytes
	}
	if cfg.PacketReadSize >= 1<<16 && unix.SetsockoptInt(pc.fd, unix.SOL_UDP, unix.UDP_GRO, 1) == nil {
		pc.gro = true
	}
}

// segmentRuns builds in pk.seg the headers that send msgs, all from pc,
// with each run of datagrams that can go as one buffer made one header
// (pk.segCount[k] datagrams). It returns the number of headers, len(msgs)
// when no run was found (msgs are then sent as they are).
func (pk *packetBatch) segmentRuns(pc *PacketConn, msgs []mmsg) int {
	k := 0
	for i := 0; i < len(msgs) && k < len(pk.seg); k++ {
		j, total := pc.runFrom(msgs, i)
		h := &pk.seg[k].Hdr
		*h = msgs[i].Hdr
		pk.segCount[k] = j - i
		if j-i > 1 {
			size := int(msgs[i].Hdr.Iov.Len)
			pk.segIovs[k] = unix.Iovec{Base: msgs[i].Hdr.Iov.Base}
			pk.segIovs[k].SetLen(total)
			h.Iov = &pk.segIovs[k]
			ctrl := pk.segCtrl[k*offloadSpace : (k+1)*offloadSpace]
			c := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
			c.Level, c.Type = unix.SOL_UDP, unix.UDP_SEGMENT
			c.SetLen(unix.CmsgLen(2))
			*(*uint16)(unsafe.Pointer(&ctrl[unix.CmsgLen(0)])) = uint16(size)
			h.Control = &ctrl[0]
			h.SetControllen(offloadSpace)
		}
		i = j
	}
	return k
}

// runFrom returns the end of the run of datagrams that starts at msgs[i]
// and can leave as one segmented buffer, and its bytes: same destination,
// adjacent in the stage, the size of the first (below pc.gsoBelow), but
// for a last that may be shorter.
func (pc *PacketConn) runFrom(msgs []mmsg, i int) (int, int) {
	first := &msgs[i].Hdr
	size := int(first.Iov.Len)
	total := size
	j := i + 1
	if size == 0 || size >= pc.gsoBelow {
		return j, total
	}
	for ; j < len(msgs) && j-i < gsoMaxSegments; j++ {
		h := &msgs[j].Hdr
		n := int(h.Iov.Len)
		if n == 0 || n > size || total+n > gsoMaxBytes ||
			unsafe.Add(unsafe.Pointer(first.Iov.Base), total) != unsafe.Pointer(h.Iov.Base) ||
			!sameName(first, h) {
			break
		}
		total += n
		if n < size {
			j++ // a shorter datagram ends a run
			break
		}
	}
	return j, total
}

// sameName reports whether a and b are addressed alike.
func sameName(a, b *unix.Msghdr) bool {
	if a.Namelen != b.Namelen {
		return false
	}
	return a.Namelen == 0 || string(unsafe.Slice(a.Name, a.Namelen)) == string(unsafe.Slice(b.Name, b.Namelen))
}

// offloadErrno reports whether err is one the kernel gives a segmented
// send that the route refuses (offloadRefused).
func offloadErrno(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EMSGSIZE)
}

// offloadRefused adjusts pc after the route refused a segmented send of
// segments of size bytes with err, while the first datagram alone went
// (segmentRefused): EIO says the route cannot segment (no checksum
// offload, IPsec), so pc stops segmenting; EINVAL or EMSGSIZE say a
// segment of that size is over the route's MTU, so pc segments only
// smaller ones.
func (pc *PacketConn) offloadRefused(size int, err error) {
	switch {
	case errors.Is(err, unix.EIO):
		pc.gsoBelow = 0
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EMSGSIZE):
		pc.gsoBelow = min(pc.gsoBelow, size)
	}
}
