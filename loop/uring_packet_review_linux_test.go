package loop

import (
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Review tests of datagram sockets polled in the ring (efece86): a poll
// report carrying an error with input waiting or with room for the queue,
// and the port after Done when the socket's last poll is still being
// cancelled. They run on every backend; the readiness one is the
// reference.

// stallWait bounds the wait for something the loop should do at once; it
// is short of waitTimeout so that a stall fails in seconds.
const stallWait = 3 * time.Second

// blockLoop runs a function on pc's loop that holds it until the returned
// release is called; it returns once the loop is held.
func blockLoop(t *testing.T, pc *PacketConn) (release func()) {
	t.Helper()
	held, free := make(chan struct{}), make(chan struct{})
	if err := pc.Run(func(*PacketConn) { close(held); <-free }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-time.After(waitTimeout):
		t.Fatal("the loop did not run the blocking function")
	}
	done := false
	release = func() {
		if !done {
			done = true
			close(free)
		}
	}
	t.Cleanup(release)
	return release
}

// pollFor waits (bounded, by poll(2), which clears nothing) until fd
// reports every event of want.
func pollFor(t *testing.T, fd int, want int16) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: want &^ (unix.POLLERR | unix.POLLHUP)}}
		if _, err := unix.Poll(fds, 100); err != nil && !errors.Is(err, unix.EINTR) {
			t.Fatal(err)
		}
		if fds[0].Revents&want == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fd %d: revents %#x, never %#x", fd, fds[0].Revents, want)
		}
	}
}

// TestReviewPacketErrorWithInputStalls: a connected UDP socket has a
// datagram from its peer waiting and, behind it, the ICMP error of one of
// its sends (ECONNREFUSED). The kernel hands out the error first
// (recvmmsg fails before any datagram), so the loop hears the error and
// must then read the datagram, which no new wake-up announces. With
// epoll, the socket stays readable (level-triggered); the ring's poll
// reported POLLIN|POLLERR once, and wait() reported only the error and
// left Readable due without listing the socket again: the datagram waits
// until another one arrives.
func TestReviewPacketErrorWithInputStalls(t *testing.T) {
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	got := make(chan string, 4)
	errs := make(chan error, 4)
	e := newEngine(t, Config{Loops: 1})
	pc, err := e.DialPacket("udp4", peer.LocalAddr().String(), PacketFuncs{
		Packet: func(_ *PacketConn, d *Datagram) { got <- string(d.Data) },
		Error:  func(_ *PacketConn, err error) { errs <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	onLoopPacket(t, pc, func(*PacketConn) {}) // adopted and watched
	release := blockLoop(t, pc)
	// While the loop is held: the peer's datagram arrives, the peer goes,
	// and a send to it brings back the ICMP error.
	if _, err := peer.WriteTo([]byte("waiting"), pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	pollFor(t, pc.Fd(), unix.POLLIN)
	peer.Close()
	if _, err := unix.Write(pc.Fd(), []byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	pollFor(t, pc.Fd(), unix.POLLIN|unix.POLLERR)
	release()
	select {
	case err := <-errs:
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("OnError: %v, want ECONNREFUSED", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the ICMP error was never reported")
	}
	select {
	case s := <-got:
		if s != "waiting" {
			t.Fatalf("OnPacket: %q, want %q", s, "waiting")
		}
	case <-time.After(stallWait):
		t.Fatalf("the datagram waiting behind the error was not read within %v (the socket stalled)", stallWait)
	}
}

// TestReviewPacketPortFreeAfterPauseAndClose: SetReading(false) and the
// close run in one turn of the loop. watchPacket prepared the POLLIN
// poll's cancel and cleared pollInArmed, so closePacket saw no poll armed,
// did not submit, and closed the descriptor while the poll, still armed in
// the kernel, held the socket: Done closed with the port still taken,
// until the loop's next wait submitted the cancel.
func TestReviewPacketPortFreeAfterPauseAndClose(t *testing.T) {
	e := newEngine(t, Config{Loops: 1})
	pl, err := e.ListenPacketWith("udp4", "127.0.0.1:0", packetEcho(), PacketOptions{Single: true})
	if err != nil {
		t.Fatal(err)
	}
	pc := pl.Conns()[0]
	// A second socket on the same loop, to hold it.
	other, err := e.DialPacket("udp4", pl.Addr().String(), PacketFuncs{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	onLoopPacket(t, pc, func(*PacketConn) {}) // pc is watched: its poll is in the kernel
	release := blockLoop(t, other)
	// One batch of tasks for the next turn: pause, close, then hold the
	// loop so that it cannot reach its next wait before the port is tried.
	if err := pc.Run(func(pc *PacketConn) { pc.SetReading(false) }); err != nil {
		t.Fatal(err)
	}
	if err := pl.Close(); err != nil {
		t.Fatal(err)
	}
	held, free := make(chan struct{}), make(chan struct{})
	if err := other.Run(func(*PacketConn) { close(held); <-free }); err != nil {
		t.Fatal(err)
	}
	defer close(free)
	release()
	select {
	case <-pc.Done():
	case <-time.After(waitTimeout):
		t.Fatal("Done not closed after Close")
	}
	select {
	case <-held:
	case <-time.After(waitTimeout):
		t.Fatal("the loop did not run the function after the close")
	}
	p, err := net.ListenPacket("udp4", pl.Addr().String())
	if err != nil {
		t.Fatalf("port held once Done (SetReading(false) and Close in one turn): %v", err)
	}
	p.Close()
}

// TestReviewPacketErrorWithRoomStallsQueue: a connected unixgram socket
// whose peer (connected back to it) does not read has datagrams waiting in
// its queue, watched for room. The peer then disconnects (connect
// AF_UNSPEC): the kernel purges the peer's queue, which frees the room,
// and gives our socket ECONNRESET. The ring's POLLOUT poll reports
// POLLOUT|POLLERR once; wait() reported only the error (ready then skips
// sendQueued) and left Writable due without listing the socket again, and
// the purge was the last wake-up: the queue never leaves. With epoll the
// socket stays writable (level-triggered) and the queue goes at once.
func TestReviewPacketErrorWithRoomStallsQueue(t *testing.T) {
	dir := t.TempDir()
	qpath := filepath.Join(dir, "peer")
	q, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(q)
	if err := unix.Bind(q, &unix.SockaddrUnix{Name: qpath}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, Config{Loops: 1, PacketQueueBytes: 4 << 20})
	pc, err := e.DialPacket("unixgram", qpath, PacketFuncs{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	onLoopPacket(t, pc, func(*PacketConn) {})
	// The peer connects back: its queue is then bounded by our socket's
	// send buffer, not max_dgram_qlen.
	if err := unix.Connect(q, &unix.SockaddrUnix{Name: pc.LocalAddr().String()}); err != nil {
		t.Fatalf("peer connect to %s: %v", pc.LocalAddr(), err)
	}
	const total, size = 2000, 1024
	onLoopPacket(t, pc, func(pc *PacketConn) {
		for seq := 0; seq < total; seq++ {
			pc.Write(datagram(1, seq, size))
		}
	})
	queued := 0
	onLoopPacket(t, pc, func(pc *PacketConn) { queued = len(pc.queued) }) // a later turn: the stage was sent
	if queued == 0 {
		t.Skip("the peer took every datagram: no queue to watch")
	}
	release := blockLoop(t, pc)
	// Disconnect the peer: its queue (our datagrams) is purged, our socket
	// gets room and ECONNRESET in one go.
	var unspec [16]byte // sockaddr with sa_family AF_UNSPEC
	if _, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(q), uintptr(unsafe.Pointer(&unspec[0])), uintptr(len(unspec))); errno != 0 {
		t.Fatalf("peer connect AF_UNSPEC: %v", errno)
	}
	pollFor(t, pc.Fd(), unix.POLLOUT|unix.POLLERR)
	release()
	buf := make([]byte, 2*size)
	tv := unix.NsecToTimeval(stallWait.Nanoseconds())
	if err := unix.SetsockoptTimeval(q, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	for {
		n, _, err := unix.Recvfrom(q, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("none of the %d queued datagrams reached the peer within %v once it had room: %v", queued, stallWait, err)
		}
		if n != size {
			t.Fatalf("peer read %d bytes, want %d", n, size)
		}
		return
	}
}
