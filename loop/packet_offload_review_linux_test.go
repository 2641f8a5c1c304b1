package loop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/internal/testutil"
)

// Review tests of UDP segmentation offload (commit d3828e9).

// freeUDPPort returns a loopback address whose port nobody holds now.
func freeUDPPort(t *testing.T) *net.UDPAddr {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	a := c.LocalAddr().(*net.UDPAddr)
	c.Close()
	return a
}

// waitPollErr waits, bounded, until fd has an error pending (POLLERR);
// poll(2) takes nothing.
func waitPollErr(fd int) bool {
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		fds := []unix.PollFd{{Fd: int32(fd)}}
		_, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds())+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return false
		}
		if fds[0].Revents&unix.POLLERR != 0 {
			return true
		}
	}
	return false
}

// TestReviewOffloadReportsPendingRefusal: a connected socket has the ICMP
// error of an earlier send pending (ECONNREFUSED); the peer then comes
// back and the socket writes a run. Without offload, the kernel hands the
// error to the first sendmmsg, the loop tells OnError and sends the
// datagrams again (sendEach's retry). With offload, the segmented send
// takes the error, sendRun treats it as an offload refusal and resends
// the datagrams one by one, which succeed: OnError never hears of it.
func TestReviewOffloadReportsPendingRefusal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int
	}{
		{"run", []int{100, 100, 100}},           // the refused header is a run
		{"singleThenRun", []int{200, 300, 300}}, // the refused header is a single datagram
	} {
		for _, off := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/NoOffload=%v", tc.name, off), func(t *testing.T) {
				addr := freeUDPPort(t)
				e := newEngine(t, Config{Loops: 1, PacketNoOffload: off})
				var errs []error // loop goroutine
				pc, err := e.DialPacket("udp4", addr.String(), PacketFuncs{Error: func(_ *PacketConn, err error) { errs = append(errs, err) }})
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				var peer *net.UDPConn
				var told []error
				pending := false
				onLoopPacket(t, pc, func(pc *PacketConn) {
					pc.Write([]byte("anyone?"))
					pc.loop.flushPackets()
					if pending = waitPollErr(pc.Fd()); !pending {
						return
					}
					// The peer is back before the next writes.
					if peer, err = net.ListenUDP("udp4", addr); err != nil {
						return
					}
					for i, n := range tc.sizes {
						pc.Write(numbered(i, n))
					}
					pc.loop.flushPackets()
					told = append(told, errs...)
				})
				if !pending {
					t.Fatal("the ICMP error of the first send never became pending")
				}
				if peer == nil {
					t.Fatalf("the port did not come back: %v", err)
				}
				defer peer.Close()
				got := testutil.ReadDatagrams(peer, len(tc.sizes), waitTimeout)
				if len(got) != len(tc.sizes) {
					t.Fatalf("the peer got %d datagrams, want %d", len(got), len(tc.sizes))
				}
				refused := false
				for _, err := range told {
					refused = refused || errors.Is(err, syscall.ECONNREFUSED)
				}
				if !refused {
					t.Fatalf("OnError heard %v, want the pending ECONNREFUSED of the first send", told)
				}
			})
		}
	}
}

// TestReviewOffloadBoundKeptOnAddressError: a run of datagrams to an
// address the kernel refuses for its own sake (port 0: EINVAL, as it
// refuses each datagram alone) is no sign that the route cannot segment;
// but sendRun lowers pc.gsoBelow to the run's size, so that from then on
// no datagram of that size or larger leaves segmented, to any peer. A
// single datagram arriving from port 0 that a server answers with two
// same-sized replies turns its offload off for good.
func TestReviewOffloadBoundKeptOnAddressError(t *testing.T) {
	r := newGROReceiver(t)
	e := newEngine(t, Config{Loops: 1})
	pl, errsp := singleWithErrors(t, e, "udp4", "127.0.0.1:0")
	defer pl.Close()
	to := UDPAddr(netip.MustParseAddrPort(r.addr))
	portZero := UDPAddr(netip.MustParseAddrPort("127.0.0.1:0"))
	var told []error
	below := 0
	onLoopPacket(t, pl.Conns()[0], func(pc *PacketConn) {
		pc.WriteTo(numbered(0, 100), portZero)
		pc.WriteTo(numbered(1, 100), portZero)
		pc.loop.flushPackets()
		told = append(told, *errsp...)
		below = pc.gsoBelow
		for i := range 10 {
			pc.WriteTo(numbered(i, 1200), to)
		}
		pc.loop.flushPackets()
	})
	if len(told) == 0 || !errors.Is(told[0], unix.EINVAL) {
		t.Fatalf("OnError heard %v for the sends to port 0, want EINVAL", told)
	}
	b, seg := r.read(t)
	if seg != 1200 || len(b) != 12000 {
		t.Fatalf("the run of 10 x 1,200 bytes after the sends to port 0 arrived as a buffer of %d bytes of segment size %d, want one of 12,000 of 1,200 (pc.gsoBelow after the EINVAL: %d)", len(b), seg, below)
	}
}

// TestReviewOffloadPendingMsgSize: a connected socket gets an ICMP
// "fragmentation needed" (a router's, in path MTU discovery; here sent
// from a raw socket in a network namespace of the test's own) for an
// earlier datagram: the kernel sets its error to EMSGSIZE, handed to the
// next send. When that send is a run, sendRun takes the pending EMSGSIZE
// for the kernel's refusal of the segment size and lowers pc.gsoBelow to
// the run's size (100 bytes), well below the path's MTU (1,400): from
// then on runs of 100 bytes or more no longer segment. (The error itself
// is not told either: TestReviewOffloadReportsPendingRefusal.)
func TestReviewOffloadPendingMsgSize(t *testing.T) {
	type result struct {
		buf, seg         int
		ctrlBuf, ctrlSeg int // of a fresh socket's run of 10 x 500
		below, mtu       int
		err              error
		skip             error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends in the namespace
		var r result
		defer func() { done <- r }()
		if r.skip = isolatedLoopback(65536); r.skip != nil {
			return
		}
		// The peer: a raw socket with UDP_GRO, to see whether a run left
		// segmented.
		rfd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			r.err = err
			return
		}
		defer unix.Close(rfd)
		if err := unix.Bind(rfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			r.err = err
			return
		}
		if err := unix.SetsockoptInt(rfd, unix.SOL_UDP, unix.UDP_GRO, 1); err != nil {
			r.skip = err
			return
		}
		tv := unix.NsecToTimeval(waitTimeout.Nanoseconds())
		unix.SetsockoptTimeval(rfd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		rsa, _ := unix.Getsockname(rfd)
		rport := rsa.(*unix.SockaddrInet4).Port
		icmp, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		if err != nil {
			r.skip = err
			return
		}
		defer unix.Close(icmp)
		e, stop, err := engineOffTest(Config{Loops: 1})
		if err != nil {
			r.err = err
			return
		}
		defer stop()
		pc, err := e.DialPacket("udp4", fmt.Sprintf("127.0.0.1:%d", rport), PacketFuncs{})
		if err != nil {
			r.err = err
			return
		}
		defer pc.Close()
		lport := pc.LocalAddr().(*net.UDPAddr).Port
		// The ICMP error, for a datagram of pc to the peer, sent on the
		// loop (which would otherwise take it first, from recvmmsg) before
		// pc's next writes.
		msg := fragNeeded(lport, rport, 1400)
		ran := make(chan struct{})
		pc.Run(func(pc *PacketConn) {
			defer close(ran)
			if err := unix.Sendto(icmp, msg, 0, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				r.err = err
				return
			}
			if !waitPollErr(pc.Fd()) {
				r.err = errors.New("the ICMP error never became pending")
				return
			}
			pc.Write(numbered(0, 100))
			pc.Write(numbered(1, 100))
			pc.loop.flushPackets()
			r.below = pc.gsoBelow
			r.mtu, _ = unix.GetsockoptInt(pc.fd, unix.IPPROTO_IP, unix.IP_MTU)
			for i := range 10 {
				pc.Write(numbered(i, 500))
			}
			pc.loop.flushPackets()
		})
		select {
		case <-ran:
		case <-time.After(waitTimeout):
			r.err = errors.New("the loop did not run the writes")
			return
		}
		if r.err != nil {
			return
		}
		// Skip what the first two writes brought, to the run of 500s.
		readRun := func(from int) (int, int, error) {
			buf := make([]byte, 1<<16)
			oob := make([]byte, 64)
			for {
				n, oobn, _, sa, err := unix.Recvmsg(rfd, buf, oob, 0)
				if errors.Is(err, unix.EINTR) {
					continue
				}
				if err != nil {
					return 0, 0, fmt.Errorf("recvmsg: %v", err)
				}
				if a, ok := sa.(*unix.SockaddrInet4); !ok || a.Port != from || n == 100 || n == 200 {
					continue // another socket's, or one of the 100s (or both, segmented)
				}
				msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
				for _, m := range msgs {
					if m.Header.Level == unix.SOL_UDP && m.Header.Type == unix.UDP_GRO {
						return n, int(binary.NativeEndian.Uint32(m.Data)), nil
					}
				}
				return n, 0, nil
			}
		}
		if r.buf, r.seg, r.err = readRun(lport); r.err != nil {
			return
		}
		// The control: a fresh socket on that path segments such a run.
		pc2, err := e.DialPacket("udp4", fmt.Sprintf("127.0.0.1:%d", rport), PacketFuncs{})
		if err != nil {
			r.err = err
			return
		}
		defer pc2.Close()
		ran2 := make(chan struct{})
		pc2.Run(func(pc *PacketConn) {
			defer close(ran2)
			for i := range 10 {
				pc.Write(numbered(i, 500))
			}
		})
		select {
		case <-ran2:
		case <-time.After(waitTimeout):
			r.err = errors.New("the loop did not run the control writes")
			return
		}
		r.ctrlBuf, r.ctrlSeg, r.err = readRun(pc2.LocalAddr().(*net.UDPAddr).Port)
	}()
	r := <-done
	if r.skip != nil {
		t.Skipf("no network namespace, raw socket or GRO of our own here: %v", r.skip)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.ctrlBuf != 5000 || r.ctrlSeg != 500 {
		t.Fatalf("control: a fresh socket's run of 10 x 500 arrived as %d bytes of segment size %d, want 5,000 of 500", r.ctrlBuf, r.ctrlSeg)
	}
	if r.buf != 5000 || r.seg != 500 {
		t.Fatalf("the run of 10 x 500 bytes after the pending EMSGSIZE arrived as a buffer of %d bytes of segment size %d, want one of 5,000 of 500 (pc.gsoBelow after it: %d; the path MTU: %d)", r.buf, r.seg, r.below, r.mtu)
	}
}

// fragNeeded is an ICMP "fragmentation needed" message with next-hop MTU
// mtu about a UDP datagram from 127.0.0.1:sport to 127.0.0.1:dport.
func fragNeeded(sport, dport, mtu int) []byte {
	b := make([]byte, 8+20+8)
	b[0], b[1] = 3, 4 // destination unreachable, fragmentation needed
	binary.BigEndian.PutUint16(b[6:], uint16(mtu))
	ip := b[8:28]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], 1500)
	ip[6] = 0x40 // DF
	ip[8], ip[9] = 64, unix.IPPROTO_UDP
	copy(ip[12:], []byte{127, 0, 0, 1})
	copy(ip[16:], []byte{127, 0, 0, 1})
	binary.BigEndian.PutUint16(ip[10:], inetChecksum(ip))
	udp := b[28:]
	binary.BigEndian.PutUint16(udp[0:], uint16(sport))
	binary.BigEndian.PutUint16(udp[2:], uint16(dport))
	binary.BigEndian.PutUint16(udp[4:], 1480)
	binary.BigEndian.PutUint16(b[2:], inetChecksum(b))
	return b
}

// inetChecksum is the Internet checksum of b.
func inetChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// TestReviewGROCutAfterConnect: a socket of a listener settles on a peer
// (Connect) from OnPacket of a datagram from another sender: from then on
// only the peer's datagrams reach OnPacket, and those held from others
// are dropped (Connect's documentation; receive checks each datagram of
// the batch). When the other sender's datagrams came coalesced (GRO), the
// rest of the buffer is cut and handed over all the same: the cut loop
// checks pc.state but not the peer.
func TestReviewGROCutAfterConnect(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoOffload=%v", off), func(t *testing.T) {
			settle, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer settle.Close()
			settleAddr := UDPAddr(settle.LocalAddr().(*net.UDPAddr).AddrPort())
			e := newEngine(t, Config{Loops: 1, PacketNoOffload: off})
			fromOther := 0
			synced := make(chan int, 1)
			pl, err := e.ListenPacketWith("udp4", "127.0.0.1:0", PacketFuncs{Packet: func(pc *PacketConn, d *Datagram) {
				if string(d.Data) == "sync" {
					synced <- fromOther
					return
				}
				fromOther++
				if fromOther == 1 {
					if err := pc.Connect(settleAddr); err != nil {
						t.Error(err)
					}
				}
			}}, PacketOptions{Single: true})
			if err != nil {
				t.Fatal(err)
			}
			defer pl.Close()
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				t.Fatal(err)
			}
			var buf []byte
			for i := range 3 {
				buf = append(buf, numbered(i, 1000)...)
			}
			to := pl.Addr().(*net.UDPAddr)
			if err := unix.Sendmsg(fd, buf, segmentControl(1000), &unix.SockaddrInet4{Port: to.Port, Addr: [4]byte{127, 0, 0, 1}}, 0); err != nil {
				t.Skipf("no UDP_SEGMENT here: %v", err)
			}
			// The settled peer's datagram tells when the others were read.
			if _, err := settle.WriteTo([]byte("sync"), to); err != nil {
				t.Fatal(err)
			}
			select {
			case n := <-synced:
				if n != 1 {
					t.Fatalf("OnPacket got %d datagrams of the other sender, want 1 (the one before Connect); the rest were held from a sender that is not the peer", n)
				}
			case <-time.After(waitTimeout):
				t.Fatal("the settled peer's datagram never came")
			}
		})
	}
}

// TestReviewOffloadNoAllocs (passes, coverage): writing a run of
// same-sized datagrams and sending it segmented allocates nothing.
func TestReviewOffloadNoAllocs(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e := newEngine(t, Config{Loops: 1})
	pc, err := e.DialPacket("udp4", c.LocalAddr().String(), PacketFuncs{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	b := make([]byte, 1200)
	var allocs float64
	below := 0
	onLoopPacket(t, pc, func(pc *PacketConn) {
		below = pc.gsoBelow
		allocs = testing.AllocsPerRun(100, func() {
			for range 16 {
				pc.Write(b)
			}
			pc.loop.flushPackets()
		})
	})
	if below == 0 {
		t.Skip("no UDP_SEGMENT here")
	}
	if allocs != 0 {
		t.Fatalf("%v allocations per segmented run of 16", allocs)
	}
}

// TestReviewOffloadDualStack (passes, coverage): a dual-stack socket
// (":0", not V6ONLY) segments runs to an IPv4 peer (as ::ffff:127.0.0.1) and to an
// IPv6 one; on IPv6, a run whose segment plus the 48 bytes of headers
// exceeds loopback's MTU (65,536) is refused (EINVAL) and goes one by one,
// whole.
func TestReviewOffloadDualStack(t *testing.T) {
	r4 := newGROReceiver(t)
	r6 := newGROReceiverOn(t, unix.AF_INET6)
	plain6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skip(err)
	}
	defer plain6.Close()
	plain6.SetReadBuffer(4 << 20)
	e := newEngine(t, Config{Loops: 1})
	pl, errsp := singleWithErrors(t, e, "udp", ":0")
	defer pl.Close()
	to4 := UDPAddr(netip.MustParseAddrPort(r4.addr))
	to6 := UDPAddr(netip.MustParseAddrPort(r6.addr))
	toPlain := UDPAddr(plain6.LocalAddr().(*net.UDPAddr).AddrPort())
	below := 0
	onLoopPacket(t, pl.Conns()[0], func(pc *PacketConn) {
		for i := range 8 {
			pc.WriteTo(numbered(i, 1000), to4)
		}
		for i := range 8 {
			pc.WriteTo(numbered(i, 900), to6)
		}
		pc.loop.flushPackets()
		pc.WriteTo(numbered(1, 65490), toPlain)
		pc.WriteTo(numbered(2, 10), toPlain)
		pc.loop.flushPackets()
		below = pc.gsoBelow
	})
	if len(*errsp) != 0 {
		t.Fatalf("OnError heard %v", *errsp)
	}
	if b, seg := r4.read(t); seg != 1000 || len(b) != 8000 {
		t.Fatalf("IPv4 peer of a dual-stack socket: a buffer of %d bytes of segment size %d, want 8,000 of 1,000", len(b), seg)
	}
	if b, seg := r6.read(t); seg != 900 || len(b) != 7200 {
		t.Fatalf("IPv6 peer: a buffer of %d bytes of segment size %d, want 7,200 of 900", len(b), seg)
	}
	got := testutil.ReadDatagrams(plain6, 2, waitTimeout)
	if len(got) != 2 || got[0] != string(numbered(1, 65490)) || got[1] != string(numbered(2, 10)) {
		t.Fatalf("the run over loopback's IPv6 MTU: got %d datagrams, want both whole", len(got))
	}
	if below != 65490 {
		t.Fatalf("gsoBelow after the IPv6 refusal at 65,490 is %d", below)
	}
}

// TestReviewOffloadIPv4MaxTotal (passes, coverage): a run whose bytes are
// exactly the IPv4 bound (65,507: 32,754 + 32,753) is taken by the kernel
// as one segmented send, without refusal or a lowered bound, and arrives
// whole. (Loopback's gso_max_size is 65,536 with its link header counted,
// so the kernel cuts this one in software before the device: the receiver
// gets two datagrams, not one coalesced buffer.)
func TestReviewOffloadIPv4MaxTotal(t *testing.T) {
	r := newGROReceiver(t)
	e := newEngine(t, Config{Loops: 1})
	var errs []error
	pc, err := e.DialPacket("udp4", r.addr, PacketFuncs{Error: func(_ *PacketConn, err error) { errs = append(errs, err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	below := 0
	onLoopPacket(t, pc, func(pc *PacketConn) {
		pc.Write(numbered(0, 32754))
		pc.Write(numbered(1, 32753))
		pc.loop.flushPackets()
		below = pc.gsoBelow
	})
	if len(errs) != 0 || below != gsoMaxBytes {
		t.Fatalf("OnError heard %v; gsoBelow %d, want %d", errs, below, gsoMaxBytes)
	}
	want := string(numbered(0, 32754)) + string(numbered(1, 32753))
	var got []byte
	for len(got) < len(want) {
		b, _ := r.read(t)
		got = append(got, b...)
	}
	if string(got) != want {
		t.Fatalf("%d bytes arrived, not the 65,507 written", len(got))
	}
}

// TestReviewGROWithPktinfoDualStack (passes, coverage): a dual-stack
// socket bound to the wildcard address has both PKTINFOs and UDP_GRO in a
// slot's control messages for a coalesced IPv4 arrival; OnPacket gets its
// datagrams cut, each with its destination (Datagram.To) and sender.
func TestReviewGROWithPktinfoDualStack(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	type seen struct {
		data string
		to   netip.Addr
		from PacketAddr
	}
	got := make(chan seen, 64)
	pl, err := e.ListenPacketWith("udp", ":0", PacketFuncs{Packet: func(_ *PacketConn, d *Datagram) {
		got <- seen{string(d.Data), d.To, d.From}
	}}, PacketOptions{Single: true})
	if err != nil {
		t.Skip(err)
	}
	defer pl.Close()
	if !pl.Conns()[0].gro || !pl.Conns()[0].pktinfo {
		t.Fatalf("gro %v, pktinfo %v: want both", pl.Conns()[0].gro, pl.Conns()[0].pktinfo)
	}
	fd := rawSender(t)
	buf, want := segmentedRun(5, 700, 10)
	port := pl.Addr().(*net.UDPAddr).Port
	if err := unix.Sendmsg(fd, buf, segmentControl(700), &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}, 0); err != nil {
		t.Skipf("no UDP_SEGMENT here: %v", err)
	}
	sa, _ := unix.Getsockname(fd)
	from := UDPAddr(netipAddrPort(sockAddrOf(sa)))
	for i, w := range want {
		select {
		case s := <-got:
			if s.data != w || s.to != netip.MustParseAddr("127.0.0.1") || !samePeer(s.from, from) {
				t.Fatalf("datagram %d: %d bytes to %v from %v, want %d bytes to 127.0.0.1 from %v", i, len(s.data), s.to, s.from, len(w), from)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("datagram %d of %d never came", i, len(want))
		}
	}
}

// TestReviewOffloadPartialBatch (passes, coverage): a sendmmsg of three
// headers (a run, a datagram the kernel refuses, a run) stops after the
// first; the loop goes on from there: the refused one is told once
// (EINVAL, port 0), the second run leaves, segmented, and the peer gets
// its ten datagrams in order.
func TestReviewOffloadPartialBatch(t *testing.T) {
	r := newGROReceiver(t)
	e := newEngine(t, Config{Loops: 1})
	pl, errsp := singleWithErrors(t, e, "udp4", "127.0.0.1:0")
	defer pl.Close()
	to := UDPAddr(netip.MustParseAddrPort(r.addr))
	var told []error
	below := 0
	onLoopPacket(t, pl.Conns()[0], func(pc *PacketConn) {
		for i := range 5 {
			pc.WriteTo(numbered(i, 1000), to)
		}
		pc.WriteTo(numbered(99, 1000), UDPAddr(netip.MustParseAddrPort("127.0.0.1:0")))
		for i := 5; i < 10; i++ {
			pc.WriteTo(numbered(i, 1000), to)
		}
		pc.loop.flushPackets()
		told = append(told, *errsp...)
		below = pc.gsoBelow
	})
	if len(told) != 1 || !errors.Is(told[0], unix.EINVAL) || below != gsoMaxBytes {
		t.Fatalf("OnError heard %v, want one EINVAL; gsoBelow %d", told, below)
	}
	var want []byte
	for i := range 10 {
		want = append(want, numbered(i, 1000)...)
	}
	var got []byte
	for buffers := 0; len(got) < len(want); buffers++ {
		b, seg := r.read(t)
		if seg != 1000 || len(b) != 5000 {
			t.Fatalf("buffer %d: %d bytes of segment size %d, want 5,000 of 1,000", buffers, len(b), seg)
		}
		got = append(got, b...)
	}
	if string(got) != string(want) {
		t.Fatal("the datagrams differ from those written, or their order")
	}
}

// TestReviewOffloadAsyncThenClose (passes, coverage): datagrams written
// with AsyncWriteTo just before Close leave with the close's flush,
// segmented, all of them and in order.
func TestReviewOffloadAsyncThenClose(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoOffload=%v", off), func(t *testing.T) { testAsyncThenClose(t, off) })
	}
}

func testAsyncThenClose(t *testing.T, off bool) {
	r := newGROReceiver(t)
	e := newEngine(t, Config{Loops: 1, PacketNoOffload: off})
	pl, err := e.ListenPacketWith("udp4", "127.0.0.1:0", PacketFuncs{}, PacketOptions{Single: true})
	if err != nil {
		t.Fatal(err)
	}
	pc := pl.Conns()[0]
	onLoopPacket(t, pc, func(*PacketConn) {}) // adopted (a Close before the adoption closes it unopened)
	to := UDPAddr(netip.MustParseAddrPort(r.addr))
	var want []byte
	for i := range 20 {
		b := numbered(i, 1000)
		want = append(want, b...)
		if err := pc.AsyncWriteTo(b, to); err != nil {
			t.Fatal(err)
		}
	}
	pl.Close()
	select {
	case <-pc.Done():
	case <-time.After(waitTimeout):
		t.Fatal("the socket never closed")
	}
	var got []byte
	for len(got) < len(want) {
		b, _, err := readGROErr(r)
		if err != nil {
			t.Fatalf("%d of %d bytes came: %v", len(got), len(want), err)
		}
		got = append(got, b...)
	}
	if string(got) != string(want) {
		t.Fatal("the datagrams differ from those written, or their order")
	}
}
