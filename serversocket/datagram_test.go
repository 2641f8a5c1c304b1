package serversocket_test

// DatagramSocket over loopback: echo between two sockets and with Go's
// net.UDPConn, IPv6, the data event's fields, connected sockets, errors
// reported as events, Close with datagrams in flight, listener panics.

import (
	"bytes"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// received is what a data listener saw of one datagram.
type received struct {
	src, dst         string
	srcPort, dstPort int
	data             []byte
}

// newDatagram returns an unbound DatagramSocket on e, closed when t ends.
func newDatagram(t testing.TB, e *loop.Engine) *serversocket.DatagramSocket {
	t.Helper()
	s := serversocket.NewDatagramSocketOn(e)
	t.Cleanup(func() { s.Close() })
	return s
}

// boundDatagram returns a socket on e bound to address (any port) and
// receiving.
func boundDatagram(t testing.TB, e *loop.Engine, address string) *serversocket.DatagramSocket {
	t.Helper()
	s := newDatagram(t, e)
	if err := s.Bind(0, address); err != nil {
		t.Fatalf("Bind(0, %q): %v", address, err)
	}
	if err := s.Receive(); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return s
}

// collect records every datagram s dispatches, its payload copied.
func collect(s *serversocket.DatagramSocket) *recorder[received] {
	r := newRecorder[received]()
	s.AddEventListener(serversocket.Data, func(ev serversocket.Eventer) {
		e := ev.(*serversocket.DatagramSocketDataEvent)
		r.add(received{e.SrcAddress, e.DstAddress, e.SrcPort, e.DstPort, bytes.Clone(e.Data.Bytes())})
	}, 0)
	return r
}

// collectErrors records the text of every ioError event s dispatches.
func collectErrors(s *serversocket.DatagramSocket) *recorder[string] {
	r := newRecorder[string]()
	s.AddEventListener(serversocket.IOErrorType, func(ev serversocket.Eventer) {
		e := ev.(*serversocket.IOErrorEvent)
		r.add(strconv.Itoa(e.ErrorID) + " " + e.Text)
	}, 0)
	return r
}

// echoDatagrams makes s send every datagram back where it came from, from
// the listener, without copying it (Send takes the loop's bytes).
func echoDatagrams(t testing.TB, s *serversocket.DatagramSocket) {
	s.AddEventListener(serversocket.Data, func(ev serversocket.Eventer) {
		e := ev.(*serversocket.DatagramSocketDataEvent)
		var err error
		if s.Connected() {
			err = s.Send(e.Data.Bytes(), 0, 0, "", 0)
		} else {
			err = s.Send(e.Data.Bytes(), 0, 0, e.SrcAddress, e.SrcPort)
		}
		if err != nil {
			t.Errorf("echo Send: %v", err)
		}
	}, 0)
}

// addrOf is the address a peer sends to to reach s.
func addrOf(s *serversocket.DatagramSocket) string {
	return net.JoinHostPort(s.LocalAddress(), strconv.Itoa(s.LocalPort()))
}

// dialUDP returns a Go UDP socket connected to addr, its reads and writes
// bounded by waitLimit, closed when t ends.
func dialUDP(t testing.TB, network, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	c.SetDeadline(time.Now().Add(waitLimit))
	t.Cleanup(func() { c.Close() })
	return c.(*net.UDPConn)
}

// listenUDP returns an unconnected Go UDP socket on address, bounded by
// waitLimit, closed when t ends.
func listenUDP(t testing.TB, network, address string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenPacket(network, address)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, address, err)
	}
	c.SetDeadline(time.Now().Add(waitLimit))
	t.Cleanup(func() { c.Close() })
	return c.(*net.UDPConn)
}

// portOf is the port of a Go socket's address.
func portOf(a net.Addr) int { return a.(*net.UDPAddr).Port }

// payload returns datagram seq of n bytes: every datagram differs from the
// others, so a lost, repeated or mixed-up one shows in a comparison.
func payload(seq, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seq*13 + i>>8)
	}
	return b
}

// sizes of the echo tests' datagrams: empty, tiny, one Ethernet frame,
// past it, and near UDP's limit (loopback's MTU is 64 KiB).
var sizes = []int{0, 1, 7, 100, 1472, 9000, 60000}

func TestDatagramEchoBetweenSockets(t *testing.T) {
	e := newEngine(t, loop.Config{})
	srv := boundDatagram(t, e, "127.0.0.1")
	echoDatagrams(t, srv)
	cli := boundDatagram(t, e, "127.0.0.1")
	got := collect(cli)
	n := 0
	for range 20 {
		for _, size := range sizes {
			want := payload(n, size)
			if err := cli.Send(want, 0, 0, srv.LocalAddress(), srv.LocalPort()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			n++
			d := got.waitLen(t, n, "echo "+strconv.Itoa(n))[n-1]
			if !bytes.Equal(d.data, want) {
				t.Fatalf("echo %d: %d bytes, want %d bytes %x...", n, len(d.data), size, want[:min(size, 8)])
			}
			if d.src != "127.0.0.1" || d.srcPort != srv.LocalPort() || d.dst != "127.0.0.1" || d.dstPort != cli.LocalPort() {
				t.Fatalf("echo %d came from %s:%d to %s:%d, want 127.0.0.1:%d to 127.0.0.1:%d",
					n, d.src, d.srcPort, d.dst, d.dstPort, srv.LocalPort(), cli.LocalPort())
			}
		}
	}
}

// Offset and length pick the datagram out of a larger buffer.
func TestDatagramSendOffsetLength(t *testing.T) {
	e := newEngine(t, loop.Config{})
	srv := boundDatagram(t, e, "127.0.0.1")
	got := collect(srv)
	cli := newDatagram(t, e)
	buf := []byte("0123456789")
	for i, c := range []struct{ offset, length int }{{0, 0}, {3, 0}, {3, 4}, {10, 0}, {0, 10}} {
		if err := cli.Send(buf, c.offset, c.length, "127.0.0.1", srv.LocalPort()); err != nil {
			t.Fatalf("Send(buf, %d, %d): %v", c.offset, c.length, err)
		}
		end := len(buf)
		if c.length > 0 {
			end = c.offset + c.length
		}
		if d := got.waitLen(t, i+1, "datagram")[i]; string(d.data) != string(buf[c.offset:end]) {
			t.Fatalf("Send(buf, %d, %d) sent %q, want %q", c.offset, c.length, d.data, buf[c.offset:end])
		}
	}
}

func TestDatagramEchoWithNetUDPConn(t *testing.T) {
	e := newEngine(t, loop.Config{})

	t.Run("go client", func(t *testing.T) {
		srv := boundDatagram(t, e, "127.0.0.1")
		echoDatagrams(t, srv)
		c := dialUDP(t, "udp4", addrOf(srv))
		buf := make([]byte, 64<<10)
		for i, size := range sizes {
			want := payload(i, size)
			if _, err := c.Write(want); err != nil {
				t.Fatal(err)
			}
			n, err := c.Read(buf)
			if err != nil || !bytes.Equal(buf[:n], want) {
				t.Fatalf("echo of %d bytes: read %d bytes, %v", size, n, err)
			}
		}
	})

	t.Run("go server", func(t *testing.T) {
		p := listenUDP(t, "udp4", "127.0.0.1:0")
		done := make(chan struct{})
		go func() { // echo until p closes
			defer close(done)
			buf := make([]byte, 64<<10)
			for {
				n, from, err := p.ReadFrom(buf)
				if err != nil {
					return
				}
				p.WriteTo(buf[:n], from)
			}
		}()
		t.Cleanup(func() { p.Close(); <-done })
		cli := boundDatagram(t, e, "127.0.0.1")
		got := collect(cli)
		for i, size := range sizes {
			want := payload(i, size)
			if err := cli.Send(want, 0, 0, "127.0.0.1", portOf(p.LocalAddr())); err != nil {
				t.Fatal(err)
			}
			d := got.waitLen(t, i+1, "echo")[i]
			if !bytes.Equal(d.data, want) || d.srcPort != portOf(p.LocalAddr()) {
				t.Fatalf("echo %d: %d bytes from port %d, want %d bytes from %d", i, len(d.data), d.srcPort, size, portOf(p.LocalAddr()))
			}
		}
	})
}

// A connected socket, made by Connect on an unbound socket (a kernel
// connect) or on a bound one, sends to its peer with no address and gets
// only its peer's datagrams.
func TestDatagramConnected(t *testing.T) {
	for _, bindFirst := range []bool{false, true} {
		t.Run("bindFirst="+strconv.FormatBool(bindFirst), func(t *testing.T) {
			e := newEngine(t, loop.Config{})
			peer := listenUDP(t, "udp4", "127.0.0.1:0")
			other := listenUDP(t, "udp4", "127.0.0.1:0")
			s := newDatagram(t, e)
			if bindFirst {
				if err := s.Bind(0, "127.0.0.1"); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Connect("127.0.0.1", portOf(peer.LocalAddr())); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if !s.Connected() || !s.Bound() || s.RemoteAddress() != "127.0.0.1" || s.RemotePort() != portOf(peer.LocalAddr()) ||
				s.LocalAddress() != "127.0.0.1" || s.LocalPort() == 0 {
				t.Fatalf("after Connect: connected %v bound %v remote %s:%d local %s:%d", s.Connected(), s.Bound(),
					s.RemoteAddress(), s.RemotePort(), s.LocalAddress(), s.LocalPort())
			}
			if err := s.Receive(); err != nil {
				t.Fatal(err)
			}
			got := collect(s)
			if err := s.Send([]byte("to the peer"), 0, 0, "", 0); err != nil {
				t.Fatalf("Send on a connected socket: %v", err)
			}
			buf := make([]byte, 100)
			n, from, err := peer.ReadFrom(buf)
			if err != nil || string(buf[:n]) != "to the peer" || portOf(from) != s.LocalPort() {
				t.Fatalf("peer read %q from %v, %v", buf[:n], from, err)
			}
			to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.LocalPort()}
			for i := range 3 { // the other's datagram goes first each time: none may be dispatched
				if _, err := other.WriteTo([]byte("from a stranger"), to); err != nil {
					t.Fatal(err)
				}
				if _, err := peer.WriteTo([]byte("from the peer "+strconv.Itoa(i)), to); err != nil {
					t.Fatal(err)
				}
				got.waitLen(t, i+1, "the peer's datagram")
			}
			for i, d := range got.snapshot() {
				if want := "from the peer " + strconv.Itoa(i); string(d.data) != want || d.srcPort != portOf(peer.LocalAddr()) {
					t.Fatalf("datagram %d: %q from port %d, want %q from the peer", i, d.data, d.srcPort, want)
				}
			}
		})
	}
}

func TestDatagramUDP6(t *testing.T) {
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		c.Close()
	}
	e := newEngine(t, loop.Config{})
	srv := boundDatagram(t, e, "::1")
	echoDatagrams(t, srv)
	cli := boundDatagram(t, e, "::1")
	got := collect(cli)
	for i, size := range sizes {
		want := payload(i, size)
		if err := cli.Send(want, 0, 0, "::1", srv.LocalPort()); err != nil {
			t.Fatal(err)
		}
		d := got.waitLen(t, i+1, "echo")[i]
		if !bytes.Equal(d.data, want) || d.src != "::1" || d.srcPort != srv.LocalPort() || d.dst != "::1" {
			t.Fatalf("echo %d: %d bytes from [%s]:%d to [%s], want %d bytes from [::1]:%d to [::1]", i, len(d.data), d.src, d.srcPort, d.dst, size, srv.LocalPort())
		}
	}
	c := dialUDP(t, "udp6", addrOf(srv))
	if _, err := c.Write([]byte("go6")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "go6" {
		t.Fatalf("Go client over udp6 read %q, %v", buf[:n], err)
	}
	// An IPv6 socket cannot send to IPv4, nor an IPv4 one to IPv6.
	if err := cli.Send([]byte("x"), 0, 0, "127.0.0.1", 9); errKind(err) != "IOError 2002" {
		t.Errorf("Send from [::1] to 127.0.0.1: %v, want IOError 2002", err)
	}
}

// The event's fields: source and destination, the payload as DataInput,
// the target, String, and the payload's lifetime.
func TestDatagramDataEventFields(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1})
	srv := newDatagram(t, e)
	if err := srv.Bind(0, "0.0.0.0"); err != nil {
		t.Fatal(err)
	}
	if srv.LocalAddress() != "0.0.0.0" || srv.LocalPort() == 0 {
		t.Fatalf("bound to %s:%d", srv.LocalAddress(), srv.LocalPort())
	}
	// The datagram's own destination where the kernel tells it (Linux:
	// IP_PKTINFO), the bound wildcard elsewhere.
	wildDst := "0.0.0.0"
	if runtime.GOOS == "linux" {
		wildDst = "127.0.0.1"
	}
	srv.Receive()
	type seen struct {
		target        any
		str           string
		length, avail int
		u32           uint32
		rest          string
		endianAtStart string
	}
	got := make(chan seen, 1)
	var kept *serversocket.DatagramData
	var clone *serversocket.DatagramSocketDataEvent
	first := srv.AddEventListener(serversocket.Data, func(ev serversocket.Eventer) {
		d := ev.(*serversocket.DatagramSocketDataEvent)
		var s seen
		s.target, s.str = d.Target(), d.String()
		s.endianAtStart = d.Data.Endian()
		clone = d.Clone().(*serversocket.DatagramSocketDataEvent) // before any read: it copies all of it
		s.length, s.avail = d.Data.Length(), d.Data.BytesAvailable()
		s.u32, _ = d.Data.ReadUnsignedInt()
		s.rest, _ = d.Data.ReadUTFBytes(d.Data.BytesAvailable())
		d.Data.SetEndian(serversocket.LittleEndian)
		kept = d.Data
		got <- s
	}, 0)
	c := dialUDP(t, "udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.LocalPort())))
	c.Write([]byte("\x00\x00\x01\x02hello"))
	s := testutil.Recv(t, got, "the data event")
	cport := portOf(c.LocalAddr())
	if s.target != srv {
		t.Errorf("Target = %v, want the socket", s.target)
	}
	wantStr := `[DatagramSocketDataEvent type="data" bubbles=false cancelable=false srcAddress="127.0.0.1" srcPort=` +
		strconv.Itoa(cport) + ` dstAddress="` + wildDst + `" dstPort=` + strconv.Itoa(srv.LocalPort()) + `]`
	if s.str != wantStr {
		t.Errorf("String =\n%s, want\n%s", s.str, wantStr)
	}
	if s.length != 9 || s.avail != 9 || s.u32 != 0x102 || s.rest != "hello" || s.endianAtStart != serversocket.BigEndian {
		t.Errorf("payload: length %d available %d u32 %#x rest %q endian %s", s.length, s.avail, s.u32, s.rest, s.endianAtStart)
	}
	// After the dispatch, a payload kept by mistake fails loudly; the clone
	// holds. The kept payload is looked at on the loop goroutine, whose it
	// is: from the listener of another socket of the same (only) loop.
	probe := boundDatagram(t, e, "127.0.0.1")
	verdict := make(chan string, 1)
	probe.AddEventListener(serversocket.Data, func(serversocket.Eventer) {
		_, err := kept.ReadUnsignedByte()
		verdict <- errKind(err) + " " + strconv.Quote(string(kept.Bytes())) + " " + strconv.Itoa(kept.BytesAvailable())
	}, 0)
	dialUDP(t, "udp4", addrOf(probe)).Write([]byte("look"))
	if v := testutil.Recv(t, verdict, "the probe's look at the kept payload"); v != `IOError 2002 "" 0` {
		t.Errorf("kept payload after its dispatch: read error, Bytes, BytesAvailable = %s; want IOError 2002 \"\" 0", v)
	}
	if b, err := clone.Data.ReadBytes(nil, 0, 0); string(b) != "\x00\x00\x01\x02hello" || err != nil ||
		clone.SrcAddress != "127.0.0.1" || clone.SrcPort != cport || clone.DstAddress != wildDst || clone.DstPort != srv.LocalPort() {
		t.Errorf("clone: data %q (%v), %s:%d to %s:%d", b, err, clone.SrcAddress, clone.SrcPort, clone.DstAddress, clone.DstPort)
	}
	// The next datagram starts big-endian again, as a new AIR ByteArray would.
	srv.RemoveEventListener(first)
	got2 := make(chan string, 1)
	srv.AddEventListener(serversocket.Data, func(ev serversocket.Eventer) {
		got2 <- ev.(*serversocket.DatagramSocketDataEvent).Data.Endian()
	}, -1)
	c.Write([]byte("again"))
	if endian := testutil.Recv(t, got2, "the second data event"); endian != serversocket.BigEndian {
		t.Errorf("second datagram's Endian = %s, want %s", endian, serversocket.BigEndian)
	}
}

// With several loops, a DatagramSocket is still one socket: datagrams from
// many peers (which SO_REUSEPORT would spread over the loops) all reach its
// listeners, one at a time and in each peer's order.
func TestDatagramOneSocketOnManyLoops(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 4})
	srv := boundDatagram(t, e, "127.0.0.1")
	var inside, overlaps atomic.Int32
	srv.AddEventListener(serversocket.Data, func(serversocket.Eventer) {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		inside.Add(-1)
	}, 1)
	echoDatagrams(t, srv)
	var wg sync.WaitGroup
	for p := range 16 {
		c := dialUDP(t, "udp4", addrOf(srv))
		wg.Go(func() {
			buf := make([]byte, 64)
			for i := range 20 {
				want := payload(p*100+i, 32)
				if _, err := c.Write(want); err != nil {
					t.Error(err)
					return
				}
				n, err := c.Read(buf)
				if err != nil || !bytes.Equal(buf[:n], want) {
					t.Errorf("peer %d echo %d: %q, %v", p, i, buf[:n], err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n > 0 {
		t.Errorf("%d data dispatches ran concurrently with another", n)
	}
}

// Sends from several goroutines at once, outside any dispatch, all arrive.
func TestDatagramConcurrentSends(t *testing.T) {
	e := newEngine(t, loop.Config{})
	s := newDatagram(t, e)
	var wg sync.WaitGroup
	for g := range 4 {
		p := listenUDP(t, "udp4", "127.0.0.1:0")
		wg.Go(func() {
			for i := range 50 {
				if err := s.Send(payload(g*1000+i, 200), 0, 0, "127.0.0.1", portOf(p.LocalAddr())); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			buf := make([]byte, 512)
			for i := range 50 {
				n, _, err := p.ReadFrom(buf)
				if err != nil || !bytes.Equal(buf[:n], payload(g*1000+i, 200)) {
					t.Errorf("receiver %d datagram %d: %d bytes, %v", g, i, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// A connected socket whose peer has no socket hears the ICMP port
// unreachable as ECONNREFUSED: an ioError event, after which the socket
// still works; with no ioError listener, the uncaught-error handler gets it.
func TestDatagramConnectRefused(t *testing.T) {
	for _, tc := range []struct{ listening, bound bool }{{true, false}, {false, false}, {true, true}} {
		listening := tc.listening
		t.Run("listener="+strconv.FormatBool(listening)+"/bound="+strconv.FormatBool(tc.bound), func(t *testing.T) {
			e := newEngine(t, loop.Config{})
			gone := listenUDP(t, "udp4", "127.0.0.1:0")
			port := portOf(gone.LocalAddr())
			gone.Close() // nobody listens there now
			s := newDatagram(t, e)
			if tc.bound { // Bind, then Connect: the bound socket is connected in the kernel too
				if err := s.Bind(0, "127.0.0.1"); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Connect("127.0.0.1", port); err != nil {
				t.Fatal(err)
			}
			var errs *recorder[string]
			if listening {
				errs = collectErrors(s)
			} else {
				errs = newRecorder[string]()
				serversocket.SetUncaughtErrorHandler(func(target any, ev serversocket.Eventer) {
					if target == s {
						errs.add(strconv.Itoa(ev.(*serversocket.IOErrorEvent).ErrorID) + " " + ev.(*serversocket.IOErrorEvent).Text)
					}
				})
				t.Cleanup(func() { serversocket.SetUncaughtErrorHandler(nil) })
			}
			deadline := time.Now().Add(waitLimit)
			for len(errs.snapshot()) == 0 { // the error comes with the send after the ICMP message
				if time.Now().After(deadline) {
					t.Fatal("no ioError after sending to a closed port")
				}
				if err := s.Send([]byte("ping"), 0, 0, "", 0); err != nil {
					t.Fatalf("Send: %v", err)
				}
				select {
				case <-errs.changed:
				case <-time.After(50 * time.Millisecond): // send again: the ICMP message may follow this one
				}
			}
			if got := errs.snapshot()[0]; !strings.HasPrefix(got, "2031 Error #2031: Socket Error.") || !strings.Contains(got, "refused") {
				t.Errorf("ioError = %q, want #2031 about a refused connection", got)
			}
			if !s.Connected() || !s.Bound() {
				t.Error("the socket did not stay open after the error")
			}
			if err := s.Send([]byte("still"), 0, 0, "", 0); err != nil {
				t.Errorf("Send after the error: %v", err)
			}
		})
	}
}

// A datagram longer than the engine reads is not dispatched cut short: it
// becomes an ioError event, and the next datagram arrives as usual.
func TestDatagramTruncatedIsAnIOError(t *testing.T) {
	e := newEngine(t, loop.Config{PacketReadSize: 1024})
	s := boundDatagram(t, e, "127.0.0.1")
	got := collect(s)
	errs := collectErrors(s)
	c := dialUDP(t, "udp4", addrOf(s))
	c.Write(payload(1, 5000))
	c.Write(payload(2, 1024))
	if d := got.waitLen(t, 1, "the datagram that fits")[0]; !bytes.Equal(d.data, payload(2, 1024)) {
		t.Fatalf("dispatched %d bytes, want the second datagram", len(d.data))
	}
	msg := errs.waitLen(t, 1, "the truncation's ioError")[0]
	if !strings.HasPrefix(msg, "2031 ") || !strings.Contains(msg, "truncated") || !strings.Contains(msg, "1024") {
		t.Errorf("ioError = %q", msg)
	}
	if n := len(got.snapshot()); n != 1 {
		t.Errorf("%d data events, want 1", n)
	}
}

// Datagrams that arrive before Receive wait in the kernel and are
// dispatched first once it is called, in order.
func TestDatagramBeforeReceiveWaits(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1})
	s := newDatagram(t, e)
	if err := s.Bind(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	got := collect(s)
	served := newBarrier(t, e)
	c := dialUDP(t, "udp4", addrOf(s))
	c.Write([]byte("early"))
	served() // the loop ran a turn with "early" in the socket's buffer
	if n := len(got.snapshot()); n != 0 {
		t.Fatalf("%d data events before Receive", n)
	}
	if err := s.Receive(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("late"))
	d := got.waitLen(t, 2, "the datagrams before and after Receive")
	if string(d[0].data) != "early" || string(d[1].data) != "late" {
		t.Fatalf("data events %q, %q; want \"early\", \"late\"", d[0].data, d[1].data)
	}
}

// newBarrier returns a func that sends a mark through two sockets of e,
// which must have one loop, and waits for it to come back: by then the
// loop has served what was ready before. A barrier, not a timing guess.
func newBarrier(t testing.TB, e *loop.Engine) func() {
	t.Helper()
	if e.Loops() != 1 {
		t.Fatal("newBarrier needs an engine of one loop")
	}
	b := boundDatagram(t, e, "127.0.0.1")
	echoDatagrams(t, b)
	m := boundDatagram(t, e, "127.0.0.1")
	marks := collect(m)
	n := 0
	return func() {
		t.Helper()
		n++
		if err := m.Send([]byte("mark"), 0, 0, "127.0.0.1", b.LocalPort()); err != nil {
			t.Fatal(err)
		}
		marks.waitLen(t, n, "the loop barrier")
	}
}
