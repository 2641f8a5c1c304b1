package loop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/internal/testutil"
)

// UDP segmentation offload (packet_offload_linux.go), tested against raw
// sockets that see what the kernel hands over: a receiver with UDP_GRO
// gets a segmented send as one buffer with its segment size, so it tells
// whether the loop segmented; a receiver without gets the datagrams.

// numbered is datagram i of a test: n bytes, its number in the first two
// and its low byte in the rest.
func numbered(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i)
	}
	if n >= 2 {
		binary.BigEndian.PutUint16(b, uint16(i))
	}
	return b
}

// groReceiver is a raw UDP socket on 127.0.0.1 with UDP_GRO on.
type groReceiver struct {
	fd   int
	addr string
}

func newGROReceiver(t *testing.T) *groReceiver { return newGROReceiverOn(t, unix.AF_INET) }

// newGROReceiverOn is newGROReceiver on 127.0.0.1 (AF_INET) or ::1
// (AF_INET6); skipped where the family or UDP_GRO is missing.
func newGROReceiverOn(t *testing.T, family int) *groReceiver {
	t.Helper()
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	var sa unix.Sockaddr = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if family == unix.AF_INET6 {
		sa = &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		t.Skip(err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_UDP, unix.UDP_GRO, 1); err != nil {
		t.Skipf("no UDP_GRO here: %v", err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	tv := unix.NsecToTimeval(waitTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	name, _ := unix.Getsockname(fd)
	addr := UDPAddr(netipAddrPort(sockAddrOf(name))).String()
	return &groReceiver{fd: fd, addr: addr}
}

// read returns the next buffer the kernel hands over and its segment size
// (0 for a single datagram).
func (r *groReceiver) read(t *testing.T) ([]byte, int) {
	t.Helper()
	b, seg, err := readGROErr(r)
	if err != nil {
		t.Fatalf("recvmsg: %v", err)
	}
	return b, seg
}

// readGROErr reads the next buffer, going on after EINTR (a blocking
// recvmsg with SO_RCVTIMEO is not restarted after the runtime's signals).
func readGROErr(r *groReceiver) ([]byte, int, error) {
	buf := make([]byte, 1<<16)
	oob := make([]byte, 64)
	for {
		n, oobn, _, _, err := unix.Recvmsg(r.fd, buf, oob, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, 0, err
		}
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_UDP && m.Header.Type == unix.UDP_GRO {
				return buf[:n], int(binary.NativeEndian.Uint32(m.Data)), nil
			}
		}
		return buf[:n], 0, nil
	}
}

// TestPacketSegmentsRuns: 40 datagrams of 1,200 bytes and a last of 700
// written in one turn to one peer leave as one segmented buffer of 48,700
// bytes with segment size 1,200 (the receiver, on GRO, gets it whole),
// every byte in order; with PacketNoOffload, as 41 datagrams.
func TestPacketSegmentsRuns(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoOffload=%v", off), func(t *testing.T) {
			r := newGROReceiver(t)
			e := newEngine(t, Config{Loops: 1, PacketNoOffload: off})
			pc, err := e.DialPacket("udp4", r.addr, PacketFuncs{})
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			var want []byte
			onLoopPacket(t, pc, func(pc *PacketConn) {
				for i := range 41 {
					b := numbered(i, 1200)
					if i == 40 {
						b = numbered(i, 700)
					}
					want = append(want, b...)
					if _, err := pc.Write(b); err != nil {
						t.Error(err)
					}
				}
			})
			var got []byte
			buffers := 0
			for len(got) < len(want) {
				b, seg := r.read(t)
				buffers++
				if !off && (seg != 1200 || len(b) != len(want)) {
					t.Fatalf("buffer %d: %d bytes of segment size %d, want all %d bytes in one of segment size 1200", buffers, len(b), seg, len(want))
				}
				got = append(got, b...)
			}
			if string(got) != string(want) {
				t.Fatal("the datagrams' bytes differ from those written")
			}
			if off && buffers != 41 {
				t.Fatalf("NoOffload: %d buffers, want the 41 datagrams one by one", buffers)
			}
		})
	}
}

// TestPacketSegmentRunsEnd: runs end where the destination, the size or
// the adjacency changes: a mix of sizes to two peers, with empty
// datagrams, arrives at plain receivers as the datagrams written, each in
// order and whole.
func TestPacketSegmentRunsEnd(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	peers := [2]*net.UDPConn{}
	for i := range peers {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadBuffer(4 << 20)
		defer c.Close()
		peers[i] = c
	}
	pl, err := e.ListenPacket("udp4", "127.0.0.1:0", PacketFuncs{})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	// (peer, count, size): runs that merge, break on a larger size, on a
	// shorter last, on the other peer, on empty datagrams, on the
	// segment limit (70 of one size), and a datagram too large to segment.
	plan := []struct{ peer, count, size int }{
		{0, 5, 1000}, {1, 3, 1000}, {0, 1, 1000}, {0, 4, 500}, {0, 1, 800}, {1, 1, 0},
		{1, 2, 300}, {1, 1, 100}, {1, 2, 300}, {0, 70, 64}, {0, 1, 0}, {0, 1, 0}, {1, 1, 60000},
		{1, 3, 20000}, {0, 2, 1},
	}
	var want [2][]string
	n := 0
	onLoopPacket(t, pl.Conns()[0], func(pc *PacketConn) {
		for _, p := range plan {
			to := UDPAddr(peers[p.peer].LocalAddr().(*net.UDPAddr).AddrPort())
			for range p.count {
				b := numbered(n, p.size)
				n++
				want[p.peer] = append(want[p.peer], string(b))
				if _, err := pc.WriteTo(b, to); err != nil {
					t.Error(err)
				}
			}
		}
	})
	for i, c := range peers {
		got := testutil.ReadDatagrams(c, len(want[i]), waitTimeout)
		if len(got) != len(want[i]) {
			t.Fatalf("peer %d got %d datagrams, want %d", i, len(got), len(want[i]))
		}
		for j := range got {
			if got[j] != want[i][j] {
				t.Fatalf("peer %d datagram %d is not the one written (%d bytes, want %d)", i, j, len(got[j]), len(want[i][j]))
			}
		}
	}
}

// TestPacketCutsCoalesced: a sender that segments (UDP_SEGMENT, 30 of
// 1,000 bytes and a last of 300) reaches OnPacket as its 31 datagrams, in
// order and whole, from the sender, whether the loop takes them coalesced
// (GRO, by default) or the kernel cuts them (PacketNoOffload).
func TestPacketCutsCoalesced(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoOffload=%v", off), func(t *testing.T) {
			e := newEngine(t, Config{Loops: 1, PacketNoOffload: off})
			got := make(chan Datagram, 64)
			pl, err := e.ListenPacket("udp4", "127.0.0.1:0", PacketFuncs{Packet: func(_ *PacketConn, d *Datagram) {
				c := *d
				c.Data = append([]byte(nil), d.Data...)
				got <- c
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer pl.Close()
			if gro := pl.Conns()[0].gro; gro == off {
				t.Fatalf("the socket's GRO is %v with PacketNoOffload %v", gro, off)
			}
			fd := rawSender(t)
			buf, want := segmentedRun(31, 1000, 300)
			to := pl.Addr().(*net.UDPAddr)
			if err := unix.Sendmsg(fd, buf, segmentControl(1000), &unix.SockaddrInet4{Port: to.Port, Addr: [4]byte{127, 0, 0, 1}}, 0); err != nil {
				t.Skipf("no UDP_SEGMENT here: %v", err)
			}
			sa, _ := unix.Getsockname(fd)
			from := UDPAddr(netipAddrPort(sockAddrOf(sa)))
			for i, w := range want {
				select {
				case d := <-got:
					if string(d.Data) != w || d.Size != len(w) || d.Truncated || !samePeer(d.From, from) {
						t.Fatalf("datagram %d: %d bytes (Size %d, Truncated %v) from %v, want %d bytes from %v", i, len(d.Data), d.Size, d.Truncated, d.From, len(w), from)
					}
				case <-time.After(waitTimeout):
					t.Fatalf("datagram %d of 31 never came", i)
				}
			}
		})
	}
}

// segmentControl is a UDP_SEGMENT control message of segment size size.
func segmentControl(size int) []byte {
	b := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(size))
	return b
}

// TestPacketSegmentsBelowMTU: on a route whose MTU is below a segment
// (loopback at MTU 1,300, in a network namespace of the test's own), the
// kernel refuses a segmented send (EINVAL); the loop sends those datagrams
// one by one (IP fragments them) and segments only smaller ones after, so
// every datagram arrives and the next run of that size costs no refusal.
func TestPacketSegmentsBelowMTU(t *testing.T) {
	type result struct {
		got   []string
		below int
		err   error
	}
	done := make(chan result, 1)
	go func() {
		// The thread stays in the namespace and ends with this goroutine
		// (it is never unlocked); sockets made here belong to it.
		runtime.LockOSThread()
		var r result
		defer func() { done <- r }()
		if r.err = isolatedLoopback(1300); r.err != nil {
			return
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			r.err = err
			return
		}
		defer c.Close()
		c.SetReadBuffer(4 << 20)
		e, stop, err := engineOffTest(Config{Loops: 1})
		if err != nil {
			r.err = err
			return
		}
		defer stop()
		pc, err := e.DialPacket("udp4", c.LocalAddr().String(), PacketFuncs{})
		if err != nil {
			r.err = err
			return
		}
		defer pc.Close()
		ran := make(chan int, 1)
		write := func(from int) {
			pc.Run(func(pc *PacketConn) {
				for i := from; i < from+10; i++ {
					pc.Write(numbered(i, 1400))
				}
				l := pc.loop
				l.flushPackets()
				ran <- pc.gsoBelow
			})
			select {
			case r.below = <-ran:
			case <-time.After(waitTimeout):
				r.err = errors.New("the loop did not run the writes")
			}
		}
		write(0)
		write(10)
		r.got = testutil.ReadDatagrams(c, 20, waitTimeout)
	}()
	r := <-done
	if r.err != nil {
		t.Skipf("no network namespace of our own here: %v", r.err)
	}
	if len(r.got) != 20 {
		t.Fatalf("got %d datagrams, want 20", len(r.got))
	}
	for i, g := range r.got {
		if g != string(numbered(i, 1400)) {
			t.Fatalf("datagram %d differs (%d bytes)", i, len(g))
		}
	}
	if r.below != 1400 {
		t.Fatalf("after the refusal the socket segments datagrams below %d bytes, want below 1400", r.below)
	}
}

// isolatedLoopback moves the calling thread into a new network namespace
// and brings its loopback up at mtu.
func isolatedLoopback(mtu int) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// TestOffloadRefused: EIO (the route cannot segment) stops segmenting;
// EINVAL and EMSGSIZE (a segment over the MTU) lower the bound to that
// size, never raise it; other errors change nothing.
func TestOffloadRefused(t *testing.T) {
	pc := &PacketConn{gsoBelow: gsoMaxBytes}
	pc.offloadRefused(1400, unix.ECONNREFUSED)
	if pc.gsoBelow != gsoMaxBytes {
		t.Fatalf("ECONNREFUSED changed the bound to %d", pc.gsoBelow)
	}
	pc.offloadRefused(1400, &net.OpError{Err: unix.EINVAL})
	pc.offloadRefused(2000, unix.EMSGSIZE)
	if pc.gsoBelow != 1400 {
		t.Fatalf("after EINVAL at 1400 and EMSGSIZE at 2000 the bound is %d, want 1400", pc.gsoBelow)
	}
	pc.offloadRefused(1000, unix.EIO)
	if pc.gsoBelow != 0 {
		t.Fatalf("after EIO the bound is %d, want 0 (no segmenting)", pc.gsoBelow)
	}
}

// TestMemoryBoundSegmentedFlood: the datagram flood of
// TestMemoryBoundDatagramFlood, sent segmented (each send 64 datagrams of
// 1,000 bytes, which GRO hands the server as one buffer per receive
// slot): small datagrams then commit whole slots, and the server stays
// within the same bound, the receive batches being all it holds.
func TestMemoryBoundSegmentedFlood(t *testing.T) {
	addr, pid, probe, base := startFloodServer(t)
	defer probe.Close()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	to := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	const senders, each = 100, 200
	var buf []byte
	for i := range 64 {
		buf = append(buf, numbered(i, 1000)...)
	}
	ctrl := segmentControl(1000)
	var wg sync.WaitGroup
	for range senders {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer unix.Close(fd)
			for range each {
				unix.Sendmsg(fd, buf, ctrl, to, 0) // a full socket buffer drops some: that is fine
			}
		}()
	}
	wg.Wait()
	checkFloodBound(t, pid, probe, base, fmt.Sprintf("%d senders sent %d MiB segmented", senders, senders*each*len(buf)>>20))
}

// singleWithErrors listens with one socket (PacketOptions.Single) on
// network and address whose OnError appends to the slice returned (read
// it on the loop); skipped where the address cannot be bound.
func singleWithErrors(t *testing.T, e *Engine, network, address string) (*PacketListener, *[]error) {
	t.Helper()
	errs := new([]error)
	pl, err := e.ListenPacketWith(network, address, PacketFuncs{Error: func(_ *PacketConn, err error) { *errs = append(*errs, err) }}, PacketOptions{Single: true})
	if err != nil {
		t.Skip(err)
	}
	return pl, errs
}

// rawSender is a raw UDP socket on 127.0.0.1, closed by t.Cleanup.
func rawSender(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	return fd
}

// segmentedRun is count numbered datagrams of size bytes, the last of
// last bytes: end to end, as a segmented send carries them, and each.
func segmentedRun(count, size, last int) ([]byte, []string) {
	var buf []byte
	var each []string
	for i := range count {
		b := numbered(i, size)
		if i == count-1 {
			b = numbered(i, last)
		}
		buf = append(buf, b...)
		each = append(each, string(b))
	}
	return buf, each
}

// engineOffTest starts an engine for a goroutine that cannot hand t its
// cleanup (one locked in a network namespace), with the stop that shuts it
// down.
func engineOffTest(cfg Config) (*Engine, func(), error) {
	e, err := New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return e, func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		e.Shutdown(ctx)
	}, nil
}
