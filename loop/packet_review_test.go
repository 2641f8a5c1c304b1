package loop

import (
	"bytes"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"golang.org/x/sys/unix"
)

// Review tests of the datagram path: a handler that writes from OnError
// while the loop is sending (its stage and headers in use), and queued
// datagrams that must keep the destination they were written to.

// TestReviewPacketErrorReplyDuringFlush: OnError runs while flushPackets
// is sending the stage (the kernel refused a datagram: EMSGSIZE). A reply
// written there, with the stage full, flushes the stage again from inside
// the flush: the datagrams the outer flush had not yet sent go twice, and
// the reply, staged into the reset stage, is then forgotten by the outer
// flush's reset. Every datagram must leave once.
func TestReviewPacketErrorReplyDuringFlush(t *testing.T) {
	rc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	to := UDPAddr(rc.LocalAddr().(*net.UDPAddr).AddrPort())
	var errs atomic.Int32
	e := newEngine(t, Config{Loops: 1, PacketBatch: 2})
	pl := listenPacket(t, e, "udp4", "127.0.0.1:0", PacketFuncs{Error: func(pc *PacketConn, err error) {
		if errs.Add(1) == 1 {
			pc.WriteTo([]byte("error reply"), to)
		}
	}})
	pc := pl.Conns()[0]
	onLoopPacket(t, pc, func(pc *PacketConn) {
		pc.WriteTo(make([]byte, 70000), to) // over UDP's 65507: EMSGSIZE at the flush
		pc.WriteTo([]byte("A"), to)         // the stage (2 slots) is full
	})
	onLoopPacket(t, pc, func(*PacketConn) {})           // a later turn: the first one's stage was sent
	got := testutil.ReadDatagrams(rc, 3, 2*time.Second) // one more than due: a duplicate shows
	if testutil.CountOf(got, "A") != 1 || testutil.CountOf(got, "error reply") != 1 || len(got) != 2 {
		t.Fatalf("received %q (OnError ran %d times); want \"A\" and \"error reply\" once each", got, errs.Load())
	}
}

// TestReviewPacketQueuedErrorReply: sendQueued fills the stage's headers
// with the queue's datagrams. A reply written from OnError (a queued
// datagram the kernel refused: EMSGSIZE) is staged into header 0, which
// sendQueued's next round then points at its own queued datagram, whose
// pooled copy it releases once sent. The turn's flush then sends that
// released buffer (a duplicate of the queued datagram) instead of the reply.
func TestReviewPacketQueuedErrorReply(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "peer")
	peer := unixgramPeer(t, path)
	var errs atomic.Int32
	e := newEngine(t, Config{Loops: 1})
	pc, err := e.DialPacket("unixgram", path, PacketFuncs{Error: func(pc *PacketConn, err error) {
		if errs.Add(1) == 1 {
			pc.Write([]byte("error reply"))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// A send buffer of 128 KiB (the kernel doubles 64 KiB) makes the large
	// datagram below one the kernel refuses, whatever the host's default.
	if err := unix.SetsockoptInt(pc.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 64<<10); err != nil {
		t.Fatal(err)
	}
	const small = 40 // well past the peer's max_dgram_qlen: most wait in the loop's queue
	onLoopPacket(t, pc, func(pc *PacketConn) {
		for i := range small {
			pc.Write([]byte{'q', byte(i)})
		}
		pc.Write(make([]byte, 300<<10)) // over the send buffer, under PacketQueueBytes: queued, then EMSGSIZE
		pc.Write([]byte("tail"))
	})
	onLoopPacket(t, pc, func(*PacketConn) {})                   // the stage went to the kernel and the queue
	got := testutil.ReadDatagrams(peer, small+3, 2*time.Second) // one more than due: a duplicate shows
	for i := range small {
		if testutil.CountOf(got, string([]byte{'q', byte(i)})) != 1 {
			t.Fatalf("datagram q%d arrived %d times; received %d datagrams", i, testutil.CountOf(got, string([]byte{'q', byte(i)})), len(got))
		}
	}
	if testutil.CountOf(got, "tail") != 1 || testutil.CountOf(got, "error reply") != 1 {
		t.Fatalf("\"tail\" arrived %d times, \"error reply\" %d times (OnError ran %d times); want each once. Last datagrams: %q",
			testutil.CountOf(got, "tail"), testutil.CountOf(got, "error reply"), errs.Load(), got[max(0, len(got)-3):])
	}
}

// TestReviewPacketReconnectKeepsQueuedDestination: Connect says that
// "datagrams staged before it still go where they were addressed". Those
// written to the first peer that waited in the socket's queue (its peer
// full) are sent after a Connect to a second peer without an address, so
// the kernel gives them to the second peer.
func TestReviewPacketReconnectKeepsQueuedDestination(t *testing.T) {
	dir := t.TempDir()
	p1path, p2path := filepath.Join(dir, "p1"), filepath.Join(dir, "p2")
	p1 := unixgramPeer(t, p1path)
	p2 := unixgramPeer(t, p2path)
	e := newEngine(t, Config{Loops: 1})
	pc, err := e.DialPacket("unixgram", p1path, PacketFuncs{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	const n = 40 // past p1's max_dgram_qlen: the rest waits in the loop's queue
	onLoopPacket(t, pc, func(pc *PacketConn) {
		for i := range n {
			pc.Write([]byte{'1', byte(i)})
		}
	})
	onLoopPacket(t, pc, func(*PacketConn) {}) // the stage went to the kernel and the queue
	if err := pc.Connect(UnixgramAddr(p2path)); err != nil {
		t.Fatalf("Connect to the second peer: %v", err)
	}
	onLoopPacket(t, pc, func(pc *PacketConn) { pc.Write([]byte("for p2")) })
	go testutil.ReadDatagrams(p1, n, 3*time.Second) // p1 reads now: room for what was written to it
	got := testutil.ReadDatagrams(p2, 1, 3*time.Second)
	if len(got) != 1 || !bytes.Equal([]byte(got[0]), []byte("for p2")) {
		t.Fatalf("the second peer's first datagram is %q, want \"for p2\": datagrams written to the first peer before Connect reached it", got)
	}
}
