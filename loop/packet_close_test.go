package loop

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// Datagram sockets end cleanly: Close and Shutdown with datagrams in
// flight, each socket's OnClose once, every descriptor released; a
// panicking handler keeps its socket; a full peer's queue drops and says so.

// closeCounter counts OnClose calls by reason.
type closeCounter struct {
	mu      sync.Mutex
	reasons []error
	done    chan struct{}
	want    int
}

func newCloseCounter(want int) *closeCounter {
	return &closeCounter{done: make(chan struct{}), want: want}
}

func (cc *closeCounter) onClose(_ *PacketConn, err error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.reasons = append(cc.reasons, err)
	if len(cc.reasons) == cc.want {
		close(cc.done)
	}
}

func (cc *closeCounter) wait(t *testing.T, want error) {
	t.Helper()
	select {
	case <-cc.done:
	case <-time.After(waitTimeout):
		t.Fatalf("OnClose ran %d times, want %d", len(cc.reasons), cc.want)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, err := range cc.reasons {
		if err != want {
			t.Fatalf("OnClose reason %v, want %v", err, want)
		}
	}
}

// flood sends datagrams to addr from n sockets until stop closes.
func flood(t *testing.T, addr string, n int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c, err := net.Dial("udp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			b := datagram(i, 0, 512)
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Write(b) // refused once the server is gone: keep going until stopped
			}
		}()
	}
	return &wg
}

func TestPacketCloseInFlight(t *testing.T) {
	base := testutil.OpenFDs(t)
	e := newEngine(t, Config{Loops: 2})
	cc := newCloseCounter(2)
	h := packetEcho()
	h.Close = cc.onClose
	pl := listenPacket(t, e, "udp4", "127.0.0.1:0", h)
	if isLinux && len(pl.Conns()) != 2 {
		t.Fatalf("Linux: %d sockets for 2 loops, want one per loop", len(pl.Conns()))
	}
	// Datagrams reach the loops while they close the sockets.
	stop := make(chan struct{})
	wg := flood(t, pl.Addr().String(), 8, stop)
	if err := pl.Close(); err != nil {
		t.Fatal(err)
	}
	cc.wait(t, nil)
	close(stop)
	wg.Wait()
	if err := pl.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
	// The port is free again.
	p, err := net.ListenPacket("udp4", pl.Addr().String())
	if err != nil {
		t.Fatalf("port still held after Close: %v", err)
	}
	p.Close()
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := testutil.OpenFDs(t); n > base {
		t.Fatalf("%d descriptors open after Shutdown, %d before the engine", n, base)
	}
}

func TestPacketShutdown(t *testing.T) {
	base := testutil.OpenFDs(t)
	e := newEngine(t, Config{Loops: 2})
	cc := newCloseCounter(4) // 2 listening sockets (1 off Linux) + 2 dialled
	if !isLinux {
		cc.want = 3
	}
	h := packetEcho()
	h.Close = cc.onClose
	pl := listenPacket(t, e, "udp4", "127.0.0.1:0", h)
	stop := make(chan struct{})
	wg := flood(t, pl.Addr().String(), 4, stop)
	for range 2 {
		pc, err := e.DialPacket("udp4", pl.Addr().String(), PacketFuncs{Close: cc.onClose})
		if err != nil {
			t.Fatal(err)
		}
		pc.Run(func(pc *PacketConn) { pc.Write([]byte("hello")) })
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	cc.wait(t, ErrShutdown)
	close(stop)
	wg.Wait()
	if _, err := e.ListenPacket("udp4", "127.0.0.1:0", h); !errors.Is(err, ErrClosed) {
		t.Fatalf("ListenPacket after Shutdown: %v, want ErrClosed", err)
	}
	if n := testutil.OpenFDs(t); n > base {
		t.Fatalf("%d descriptors open after Shutdown, %d before", n, base)
	}
}

// TestPacketHandlerPanic: a panic in OnPacket is recovered and logged; the
// socket goes on answering.
func TestPacketHandlerPanic(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, Logger: quiet})
	pl := listenPacket(t, e, "udp4", "127.0.0.1:0", PacketFuncs{Packet: func(pc *PacketConn, d *Datagram) {
		if string(d.Data) == "boom" {
			panic("boom")
		}
		pc.WriteTo(d.Data, d.From)
	}})
	c, err := net.Dial("udp4", pl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("boom"))
	if err := echoFlow(c, 3, 10, []int{12, 600}); err != nil {
		t.Fatal(err)
	}
}

// TestPacketAsyncWriteTo: 8 goroutines send through one socket with
// AsyncWriteTo; every datagram arrives once, each goroutine's in order.
func TestPacketAsyncWriteTo(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	pl := listenPacket(t, e, "udp4", "127.0.0.1:0", PacketFuncs{})
	rc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	to := UDPAddr(rc.LocalAddr().(*net.UDPAddr).AddrPort())
	pc := pl.Conns()[0]
	const writers, each, window = 8, 200, 10
	acked := make([]chan struct{}, writers)
	for i := range acked {
		acked[i] = make(chan struct{}, each)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; seq < each; seq++ {
				if seq >= window { // bounded in flight: the receiver's buffer never overflows
					select {
					case <-acked[w]:
					case <-time.After(waitTimeout):
						errs <- errors.New("receiver stalled")
						return
					}
				}
				for {
					err := pc.AsyncWriteTo(datagram(w, seq, 100), to)
					if err == nil {
						break
					}
					if !errors.Is(err, ErrQueueFull) {
						errs <- err
						return
					}
				}
			}
		}()
	}
	next := make([]int, writers)
	buf := make([]byte, 2048)
	rc.SetReadDeadline(time.Now().Add(ioDeadline))
	for got := 0; got < writers*each; got++ {
		n, err := rc.Read(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", got, err)
		}
		w, seq := int(binary.BigEndian.Uint32(buf)), int(binary.BigEndian.Uint32(buf[4:]))
		if w >= writers || seq != next[w] || string(buf[:n]) != string(datagram(w, seq, 100)) {
			t.Fatalf("writer %d: datagram %d arrived, want %d (or its bytes differ)", w, seq, next[w])
		}
		next[w]++
		acked[w] <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestPacketQueueDrops: a unixgram peer that does not read fills; what the
// kernel does not take waits in the socket's queue up to PacketQueueBytes,
// the rest is dropped and reported, and once the peer reads it gets the
// datagrams the loop did not drop, in order.
func TestPacketQueueDrops(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "peer")
	peer := unixgramPeer(t, path)
	var mu sync.Mutex
	var d DroppedError // the sum of what OnError reported
	e := newEngine(t, Config{Loops: 1, PacketQueueBytes: 64 << 10})
	pc, err := e.DialPacket("unixgram", path, PacketFuncs{Error: func(_ *PacketConn, err error) {
		var de *DroppedError
		if errors.As(err, &de) {
			mu.Lock()
			d.Datagrams += de.Datagrams
			d.Bytes += de.Bytes
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	const total, size = 2000, 1024
	onLoopPacket(t, pc, func(pc *PacketConn) {
		for seq := 0; seq < total; seq++ {
			pc.Write(datagram(1, seq, size))
		}
	})
	onLoopPacket(t, pc, func(*PacketConn) {}) // a later turn: the first one's stage is sent
	mu.Lock()
	defer mu.Unlock()
	if d.Datagrams <= 0 || d.Datagrams >= total || d.Bytes != d.Datagrams*size {
		t.Fatalf("dropped %+v: want 0 < datagrams < %d, bytes = datagrams x %d", d, total, size)
	}
	kept := total - d.Datagrams
	buf := make([]byte, 2*size)
	peer.SetReadDeadline(time.Now().Add(ioDeadline))
	for seq := 0; seq < kept; seq++ {
		n, err := peer.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d of the %d kept: %v", seq, kept, err)
		}
		if string(buf[:n]) != string(datagram(1, seq, size)) {
			t.Fatalf("datagram %d: got sequence %d", seq, binary.BigEndian.Uint32(buf[4:]))
		}
	}
	// Nothing more: the dropped tail is gone.
	peer.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := peer.Read(buf); err == nil {
		t.Fatalf("a datagram beyond the %d kept arrived (sequence %d)", kept, binary.BigEndian.Uint32(buf[4:n]))
	}
}

// onLoopPacket runs f on pc's loop and waits for it to return.
func onLoopPacket(t *testing.T, pc *PacketConn, f func(pc *PacketConn)) {
	t.Helper()
	done := make(chan struct{})
	if err := pc.Run(func(pc *PacketConn) { defer close(done); f(pc) }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("the loop did not run the function")
	}
}

// TestPacketUnixgramFullPeerAlone: an unconnected unixgram socket answers
// two peers; one, not connected to it, never reads. Its replies are
// dropped once its queue is full (the kernel's max_dgram_qlen) and
// reported, and the other peer still gets every reply: a full peer holds up
// nobody. (A peer connected to the server is not held to max_dgram_qlen:
// the replies it leaves unread count against the server's send buffer,
// and once that is full the kernel refuses sends to everybody until it
// reads or closes. The loop then drops and reports too.)
func TestPacketUnixgramFullPeerAlone(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	dropped := 0
	e := newEngine(t, Config{Loops: 1})
	h := packetEcho()
	h.Error = func(_ *PacketConn, err error) {
		var de *DroppedError
		if errors.As(err, &de) {
			mu.Lock()
			dropped += de.Datagrams
			mu.Unlock()
		}
	}
	pl := listenPacket(t, e, "unixgram", filepath.Join(dir, "srv"), h)
	srv := pl.Addr().(*net.UnixAddr)
	mute := unixgramPeer(t, filepath.Join(dir, "mute"))
	reader, err := net.DialUnix("unixgram", &net.UnixAddr{Net: "unixgram", Name: filepath.Join(dir, "reader")}, srv)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	const n = 200
	for seq := 0; seq < n; seq++ {
		if _, err := mute.WriteTo(datagram(1, seq, 256), srv); err != nil {
			t.Fatal(err)
		}
	}
	if err := echoFlow(reader, 2, n, []int{12, 256, 4000}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if dropped == 0 {
		t.Fatalf("no drop reported for %d replies to a peer that never reads", n)
	}
}

// unixgramPeer binds a unixgram socket at path, closed by t.Cleanup: a
// peer of the loop's sockets that reads only when the test does.
func unixgramPeer(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram", Name: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
