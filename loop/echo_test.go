package loop

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Echo over every network with many concurrent clients and message sizes
// from 1 byte to 1 MiB; each client checks every byte it gets back.

// sizesFunc picks the sizes of the messages (the writes) of one client.
type sizesFunc func(client int, r *rand.Rand) []int

// severalUpTo1MiB is for a single client: sizes around the read buffer's
// edges and up to 1 MiB.
func severalUpTo1MiB(int, *rand.Rand) []int {
	return []int{1, 2, 100, 4096, 65535, 65536, 65537, 300_000, 1 << 20}
}

// randomUpTo returns 1 to count messages of 1 to max bytes each.
func randomUpTo(count, max int) sizesFunc {
	return func(_ int, r *rand.Rand) []int {
		s := make([]int, 1+r.IntN(count))
		for i := range s {
			s[i] = 1 + r.IntN(max)
		}
		return s
	}
}

// echoCases are the clients of TestEcho (and TestTLSEchoClients).
var echoCases = []struct {
	name    string
	clients int
	sizes   sizesFunc
}{
	{"1client", 1, severalUpTo1MiB},
	{"100clients", 100, randomUpTo(4, 64<<10)},
	{"1000clients", 1000, randomUpTo(4, 2<<10)},
}

func TestEcho(t *testing.T) {
	for _, tc := range echoCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Config{Loops: 2})
			ln := listen(t, e, "tcp", "127.0.0.1:0", echo())
			runEcho(t, "tcp", ln.Addr().String(), tc.clients, tc.sizes)
		})
	}
}

func TestEchoTCP6(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	probe.Close()
	e := newEngine(t, Config{Loops: 2})
	ln := listen(t, e, "tcp6", "[::1]:0", echo())
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || a.IP.To4() != nil || a.Port == 0 {
		t.Fatalf("Addr() = %v, want an IPv6 address with a port", ln.Addr())
	}
	runEcho(t, "tcp6", ln.Addr().String(), 1, severalUpTo1MiB)
	runEcho(t, "tcp6", ln.Addr().String(), 50, randomUpTo(4, 64<<10))
}

// TestWildcardIPv6DualStack: "[::]:port" takes IPv4 clients too on "tcp"
// and "udp", as Go's net does, and on "tcp6" and "udp6" only IPv6 ones.
func TestWildcardIPv6DualStack(t *testing.T) {
	probe, err := net.Listen("tcp", "[::]:0")
	if err != nil || !ipv6Supported() {
		t.Skipf("no IPv6 wildcard listener: %v", err)
	}
	probe.Close()
	e := newEngine(t, Config{Loops: 1})
	for _, network := range []string{"tcp", "tcp6"} {
		ln := listen(t, e, network, "[::]:0", echo())
		port := itoa(ln.Addr().(*net.TCPAddr).Port)
		runEcho(t, "tcp6", net.JoinHostPort("::1", port), 1, severalUpTo1MiB)
		nc, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", port), waitTimeout)
		if network == "tcp6" {
			if err == nil {
				nc.Close()
				t.Errorf("%s [::]:%s took an IPv4 client", network, port)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s [::]:%s refused an IPv4 client: %v", network, port, err)
		}
		nc.Close()
		runEcho(t, "tcp4", net.JoinHostPort("127.0.0.1", port), 1, severalUpTo1MiB)
	}
	for _, network := range []string{"udp", "udp6"} {
		ep, err := resolvePacket(network, "[::]:0")
		if err != nil {
			t.Fatal(err)
		}
		if want := network == "udp6"; ep.v6only != want {
			t.Errorf("%s [::]:0: v6only %v, want %v", network, ep.v6only, want)
		}
	}
}

func TestEchoUnix(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	path := filepath.Join(t.TempDir(), "echo.sock")
	ln := listen(t, e, "unix", path, echo())
	runEcho(t, "unix", path, 1, severalUpTo1MiB)
	runEcho(t, "unix", path, 50, randomUpTo(4, 64<<10))
	if err := ln.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := net.Dial("unix", path); err == nil {
		t.Fatal("dial after Close succeeded")
	}
}

// runEcho runs clients concurrent echo clients against address.
func runEcho(t *testing.T, network, address string, clients int, sizes sizesFunc) {
	t.Helper()
	runEchoDial(t, plainDial(network, address), clients, sizes)
}

// dialFunc connects a test client.
type dialFunc func() (net.Conn, error)

// plainDial dials network and address.
func plainDial(network, address string) dialFunc {
	return func() (net.Conn, error) { return net.DialTimeout(network, address, waitTimeout) }
}

// runEchoDial runs clients concurrent echo clients connected by dial.
func runEchoDial(t *testing.T, dial dialFunc, clients int, sizes sizesFunc) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		r := rand.New(rand.NewPCG(uint64(i), 42))
		s := sizes(i, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- echoClient(dial, uint64(i), s)
		}()
	}
	wg.Wait() // bounded: every client's I/O has a deadline
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// echoClient writes messages of the given sizes while reading the echo,
// and checks that every byte came back in order.
func echoClient(dial dialFunc, id uint64, sizes []int) error {
	total := 0
	for _, s := range sizes {
		total += s
	}
	payload := pattern(total, id)
	nc, err := dial()
	if err != nil {
		return fmt.Errorf("client %d: %w", id, err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioDeadline))
	werr := make(chan error, 1)
	go func() {
		off := 0
		for _, s := range sizes {
			if _, err := nc.Write(payload[off : off+s]); err != nil {
				werr <- err
				return
			}
			off += s
		}
		werr <- nil
	}()
	got := make([]byte, total)
	if _, err := io.ReadFull(nc, got); err != nil {
		nc.Close() // unblock the writer
		<-werr
		return fmt.Errorf("client %d (sizes %v): read: %w", id, sizes, err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("client %d: write: %w", id, err)
	}
	if d := diff(got, payload); d != "" {
		return fmt.Errorf("client %d (sizes %v): echo differs: %s", id, sizes, d)
	}
	return nil
}

// framedEcho echoes length-prefixed frames (4-byte big-endian length, then
// the body) only once whole: partial frames stay unconsumed, so they pass
// through the connection's ring, where they may wrap. A frame larger than
// MaxInbound reserves its room.
var framedEcho = Funcs{Data: func(c *Conn) {
	for {
		hdr, err := c.Peek(4)
		if err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr))
		frame, err := c.Next(4 + n)
		if err != nil {
			if err := c.ReserveInbound(4 + n); err != nil {
				c.Close()
			}
			return
		}
		c.Write(frame)
	}
}}

// TestFramedPartialReads: clients send frames up to 200 KB in random
// pieces through a 4 KiB read buffer; the handler consumes only whole
// frames, and every frame comes back whole and in order.
func TestFramedPartialReads(t *testing.T) {
	e := newEngine(t, Config{Loops: 2, ReadBufferSize: 4 << 10})
	ln := listen(t, e, "tcp", "127.0.0.1:0", framedEcho)
	runFramed(t, plainDial("tcp", ln.Addr().String()))
}

// runFramed runs 20 framedClients connected by dial.
func runFramed(t *testing.T, dial dialFunc) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for id := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- framedClient(dial, uint64(id))
		}()
	}
	wg.Wait() // bounded by the clients' deadlines
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// framedClient sends frames of random sizes, each cut into random pieces,
// and expects the same bytes back.
func framedClient(dial dialFunc, id uint64) error {
	r := rand.New(rand.NewPCG(id, 7))
	var stream []byte
	for range 1 + r.IntN(6) {
		n := r.IntN(200_000)
		if r.IntN(3) == 0 {
			n = r.IntN(10) // tiny frames, and empty ones, too
		}
		stream = binary.BigEndian.AppendUint32(stream, uint32(n))
		stream = append(stream, pattern(n, id<<16|uint64(len(stream)))...)
	}
	var pieces []int
	for left := len(stream); left > 0; {
		k := min(left, 1+r.IntN(10_000))
		pieces = append(pieces, k)
		left -= k
	}
	nc, err := dial()
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioDeadline))
	werr := make(chan error, 1)
	go func() {
		off := 0
		for _, k := range pieces {
			if _, err := nc.Write(stream[off : off+k]); err != nil {
				werr <- err
				return
			}
			off += k
		}
		werr <- nil
	}()
	got := make([]byte, len(stream))
	if _, err := io.ReadFull(nc, got); err != nil {
		nc.Close()
		<-werr
		return fmt.Errorf("client %d: read: %w", id, err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("client %d: write: %w", id, err)
	}
	if d := diff(got, stream); d != "" {
		return fmt.Errorf("client %d: frames differ: %s", id, d)
	}
	return nil
}
