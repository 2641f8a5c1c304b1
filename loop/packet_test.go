package loop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	isLinux        = runtime.GOOS == "linux"
	errConnRefused = syscall.ECONNREFUSED
)

// Datagram sockets: echo over every network with every payload verified,
// many flows at once, truncation, connected sockets and their errors,
// close with datagrams in flight.

// packetEcho answers every datagram with its payload.
func packetEcho() PacketFuncs {
	return PacketFuncs{Packet: func(pc *PacketConn, d *Datagram) {
		if d.From.IsValid() {
			pc.WriteTo(d.Data, d.From)
		}
	}}
}

// listenPacket binds address on e for h, closed by t.Cleanup.
func listenPacket(t *testing.T, e *Engine, network, address string, h PacketHandler) *PacketListener {
	t.Helper()
	pl, err := e.ListenPacket(network, address, h)
	if err != nil {
		t.Fatalf("ListenPacket %s %s: %v", network, address, err)
	}
	t.Cleanup(func() { pl.Close() })
	return pl
}

// datagram makes flow f's datagram number seq of size bytes (at least 12):
// flow, sequence and a pattern that depends on both, so that any byte out
// of place shows.
func datagram(f, seq, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, uint32(f))
	binary.BigEndian.PutUint32(b[4:], uint32(seq))
	binary.BigEndian.PutUint32(b[8:], uint32(size))
	for i := 12; i < size; i++ {
		b[i] = byte(f*31 + seq*7 + i)
	}
	return b
}

// echoFlow sends count datagrams of the given sizes over c, one at a time,
// and checks each reply byte for byte. Loopback does not drop a datagram
// that the receiver's buffer has room for, but a reply may still be lost
// under a loaded machine: each is retried a few times before failing.
func echoFlow(c net.Conn, f, count int, sizes []int) error {
	buf := make([]byte, 70<<10)
	for seq := 0; seq < count; seq++ {
		want := datagram(f, seq, sizes[seq%len(sizes)])
		got := false
		for try := 0; try < 5 && !got; try++ {
			if _, err := c.Write(want); err != nil {
				return fmt.Errorf("flow %d write %d: %w", f, seq, err)
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			for {
				n, err := c.Read(buf)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					break // lost: send again
				}
				if err != nil {
					return fmt.Errorf("flow %d read %d: %w", f, seq, err)
				}
				if n >= 8 && int(binary.BigEndian.Uint32(buf[4:])) < seq {
					continue // a late reply to an earlier try
				}
				if !bytes.Equal(buf[:n], want) {
					return fmt.Errorf("flow %d datagram %d: got %d bytes, want %d (or bytes differ)", f, seq, n, len(want))
				}
				got = true
				break
			}
		}
		if !got {
			return fmt.Errorf("flow %d datagram %d: no reply after 5 tries", f, seq)
		}
	}
	return nil
}

func TestPacketEcho(t *testing.T) {
	sizes := []int{12, 100, 1200, 1472, 9000, 65507}
	cases := []struct{ network, addr, dial string }{
		{"udp4", "127.0.0.1:0", "udp4"},
		{"udp", "127.0.0.1:0", "udp"},
		{"udp6", "[::1]:0", "udp6"},
	}
	for _, tc := range cases {
		t.Run(tc.network, func(t *testing.T) {
			if tc.network == "udp6" {
				if p, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				} else {
					p.Close()
				}
			}
			e := newEngine(t, Config{Loops: 2})
			pl := listenPacket(t, e, tc.network, tc.addr, packetEcho())
			c, err := net.Dial(tc.dial, pl.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := echoFlow(c, 1, 60, sizes); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPacketEchoUnixgram(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, Config{Loops: 2})
	pl := listenPacket(t, e, "unixgram", filepath.Join(dir, "srv"), packetEcho())
	laddr := &net.UnixAddr{Net: "unixgram", Name: filepath.Join(dir, "cli")}
	c, err := net.DialUnix("unixgram", laddr, pl.Addr().(*net.UnixAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := echoFlow(c, 1, 60, []int{12, 100, 1200, 60000}); err != nil {
		t.Fatal(err)
	}
}

// TestPacketManyFlows: 1,000 flows at once, each from its own socket,
// each datagram checked. A burst of them may overflow the server socket's
// receive buffer: the kernel drops, and echoFlow's retries cover it.
func TestPacketManyFlows(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	pl := listenPacket(t, e, "udp4", "127.0.0.1:0", packetEcho())
	const flows = 1000
	var wg sync.WaitGroup
	errs := make(chan error, flows)
	for f := 0; f < flows; f++ {
		wg.Add(1)
		go func(f int) {
			defer wg.Done()
			c, err := net.Dial("udp4", pl.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := echoFlow(c, f, 5, []int{12, 64, 1200}); err != nil {
				errs <- err
			}
		}(f)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestPacketTruncated: a datagram longer than PacketReadSize arrives cut
// to it, marked Truncated, with its real size (Linux).
func TestPacketTruncated(t *testing.T) {
	type seen struct {
		n, size   int
		truncated bool
		head      []byte
	}
	got := make(chan seen, 4)
	e := newEngine(t, Config{Loops: 1, PacketReadSize: 1024})
	pl := listenPacket(t, e, "udp4", "127.0.0.1:0", PacketFuncs{Packet: func(pc *PacketConn, d *Datagram) {
		got <- seen{len(d.Data), d.Size, d.Truncated, append([]byte(nil), d.Data[:12]...)}
	}})
	c, err := net.Dial("udp4", pl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := datagram(7, 1, 5000)
	c.Write(big)
	c.Write(datagram(7, 2, 1024)) // exactly fits
	for i, want := range []seen{{1024, 5000, true, big[:12]}, {1024, 1024, false, datagram(7, 2, 1024)[:12]}} {
		select {
		case s := <-got:
			if s.n != want.n || s.truncated != want.truncated || !bytes.Equal(s.head, want.head[:12]) {
				t.Fatalf("datagram %d: len %d truncated %v, want len %d truncated %v", i, s.n, s.truncated, want.n, want.truncated)
			}
			if isLinux && s.size != want.size {
				t.Fatalf("datagram %d: Size %d, want %d", i, s.size, want.size)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("datagram %d never arrived", i)
		}
	}
}

// TestDialPacketRefused: a connected socket whose peer has no socket hears
// ECONNREFUSED (the ICMP port unreachable) through OnError, and stays open.
func TestDialPacketRefused(t *testing.T) {
	p, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := p.LocalAddr().String()
	p.Close() // nobody listens there now
	errs := make(chan error, 8)
	e := newEngine(t, Config{Loops: 1})
	pc, err := e.DialPacket("udp4", addr, PacketFuncs{Error: func(pc *PacketConn, err error) { errs <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for i := 0; ; i++ {
		if err := pc.Run(func(pc *PacketConn) { pc.Write([]byte("ping")) }); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			if !errors.Is(err, errConnRefused) {
				t.Fatalf("OnError: %v, want ECONNREFUSED", err)
			}
			return
		case <-time.After(100 * time.Millisecond): // the ICMP error may come after the next send
		}
		if i == 100 {
			t.Fatal("no ECONNREFUSED after 100 sends")
		}
	}
}

// TestPacketDestination: Datagram.To is the address a datagram was sent
// to: the bound one, or on Linux, for a wildcard bind, the one in its
// header (127.0.0.1 and 127.0.0.2 both reach 0.0.0.0).
func TestPacketDestination(t *testing.T) {
	tos := make(chan string, 4)
	h := PacketFuncs{Packet: func(pc *PacketConn, d *Datagram) { tos <- d.To.String() }}
	e := newEngine(t, Config{Loops: 1})
	bound := listenPacket(t, e, "udp4", "127.0.0.1:0", h)
	wild := listenPacket(t, e, "udp4", "0.0.0.0:0", h)
	send := func(to string) string {
		t.Helper()
		c, err := net.Dial("udp4", to)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("where"))
		select {
		case s := <-tos:
			return s
		case <-time.After(waitTimeout):
			t.Fatal("datagram never arrived")
		}
		return ""
	}
	if got := send(bound.Addr().String()); got != "127.0.0.1" {
		t.Fatalf("bound socket: To %s, want 127.0.0.1", got)
	}
	dual := listenPacket(t, e, "udp", ":0", h) // dual-stack where IPv6 exists: IPv4 traffic too
	for _, pl := range []*PacketListener{wild, dual} {
		port := pl.Addr().(*net.UDPAddr).Port
		for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
			want := ip
			if !isLinux {
				want = pl.Addr().(*net.UDPAddr).AddrPort().Addr().Unmap().String()
			}
			if got := send(net.JoinHostPort(ip, fmt.Sprint(port))); got != want {
				t.Fatalf("wildcard socket %s, datagram to %s: To %s, want %s", pl.Addr(), ip, got, want)
			}
		}
	}
}
