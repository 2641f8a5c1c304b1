package testutil

import (
	"bytes"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Flood is a set of clients that write to a server and never read, each on
// a connection with a 4 KiB receive buffer, so that the server's replies
// back up into it: the attack a server's write high-water mark answers.
type Flood struct {
	written atomic.Int64
	conns   []net.Conn
	wg      sync.WaitGroup
	stop    sync.Once
}

// StartFlood connects clients such clients to the TCP address addr, each
// writing perClient bytes in 64 KiB writes from its own goroutine. Close
// (also run at the end of the test) ends them. The test's goroutine only.
func StartFlood(t testing.TB, addr string, clients, perClient int) *Flood {
	return StartFloodOver(t, addr, clients, perClient, func(c net.Conn) net.Conn { return c })
}

// StartFloodOver is StartFlood over a layer of the caller's: over(c) wraps
// each TCP connection (with its 4 KiB receive buffer) before the writes,
// e.g. as a TLS client with its handshake done; over fails the test
// itself if it cannot. The test's goroutine only.
func StartFloodOver(t testing.TB, addr string, clients, perClient int, over func(net.Conn) net.Conn) *Flood {
	t.Helper()
	f := &Flood{conns: make([]net.Conn, 0, clients)}
	t.Cleanup(f.Close)
	for range clients {
		c := over(DialRcvbuf(t, addr, 4096))
		f.conns = append(f.conns, c)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			chunk := make([]byte, 64<<10)
			for sent := 0; sent < perClient; sent += len(chunk) {
				n, err := c.Write(chunk)
				f.written.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
	}
	return f
}

// Written returns the bytes the clients have written so far. Any goroutine.
func (f *Flood) Written() int64 { return f.written.Load() }

// WaitStalled waits until the clients' writes have not moved for a second
// (the server stopped reading them), at most limit, and returns the bytes
// written and whether they stalled. Nothing signals a stall, so it polls.
func (f *Flood) WaitStalled(limit time.Duration) (written int64, stalled bool) {
	last, quiet := int64(-1), 0
	for start := time.Now(); quiet < 10 && time.Since(start) < limit; {
		time.Sleep(100 * time.Millisecond)
		if w := f.Written(); w == last {
			quiet++
		} else {
			last, quiet = w, 0
		}
	}
	return last, quiet >= 10
}

// Close closes the clients' connections and waits for their writers. Any
// goroutine; later calls do nothing.
func (f *Flood) Close() {
	f.stop.Do(func() {
		for _, c := range f.conns {
			c.Close()
		}
		f.wg.Wait()
	})
}

// EchoRoundTrips times n 16-byte echo round trips on c, checking each
// reply, and returns the times sorted. The test's goroutine only.
func EchoRoundTrips(t testing.TB, c net.Conn, n int) []time.Duration {
	t.Helper()
	msg, got := make([]byte, 16), make([]byte, 16)
	lat := make([]time.Duration, 0, n)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.SetDeadline(time.Time{})
	for i := range n {
		msg[0] = byte(i)
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			t.Fatalf("echo %d: %v", i, err)
		}
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo %d: got %q, %v", i, got, err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	return lat
}
