package testutil

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

// UDPEcho sends each of msgs to the UDP echo server at addr from one Go
// net socket, one at a time, and fails the test unless each comes back
// byte for byte. Loopback drops a datagram now and then on a loaded
// machine, so a reply that does not come within 2 s is asked for again, up
// to 5 times. It returns how many datagrams it sent and their bytes, for
// the server's counters.
func UDPEcho(t testing.TB, addr string, msgs [][]byte) (sent, bytesSent int64) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	for i, msg := range msgs {
		got := false
		for try := 0; try < 5 && !got; try++ {
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			sent++
			bytesSent += int64(len(msg))
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := c.Read(buf)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:n], msg) {
				t.Fatalf("datagram %d: %d bytes back, want %d (or bytes differ)", i, n, len(msg))
			}
			got = true
		}
		if !got {
			t.Fatalf("datagram %d (%d B): no reply after 5 tries", i, len(msg))
		}
	}
	return sent, bytesSent
}

// ReadDatagrams reads datagrams from c until it has want or d has passed
// (a read error ends it too), and returns their payloads in order. Any
// goroutine.
func ReadDatagrams(c net.PacketConn, want int, d time.Duration) []string {
	var got []string
	buf := make([]byte, 128<<10)
	c.SetReadDeadline(time.Now().Add(d))
	for len(got) < want {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			break
		}
		got = append(got, string(buf[:n]))
	}
	return got
}

// CountOf counts the payloads in got equal to s.
func CountOf(got []string, s string) int {
	n := 0
	for _, g := range got {
		if g == s {
			n++
		}
	}
	return n
}
