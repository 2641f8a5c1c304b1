package testutil

import (
	"io"
	"net"
	"testing"
	"time"
)

// listenTCP serves accepted connections with serve on 127.0.0.1 until the
// test ends.
func listenTCP(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	return ln.Addr().String()
}

// TestFloodStallsAgainstAServerThatDoesNotRead: the writes stop once the
// kernel buffers are full, well short of what the clients meant to send.
func TestFloodStallsAgainstAServerThatDoesNotRead(t *testing.T) {
	release := make(chan struct{})
	addr := listenTCP(t, func(c net.Conn) { <-release }) // never reads
	defer close(release)
	const clients, perClient = 2, 64 << 20
	f := StartFlood(t, addr, clients, perClient)
	written, stalled := f.WaitStalled(30 * time.Second)
	if !stalled || written <= 0 || written >= clients*perClient {
		t.Fatalf("WaitStalled = %d, %v; want a stall after some but not all of %d bytes", written, stalled, clients*perClient)
	}
	f.Close()
	f.Close() // a second Close does nothing
}

func TestEchoRoundTrips(t *testing.T) {
	addr := listenTCP(t, func(c net.Conn) { io.Copy(c, c) })
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lat := EchoRoundTrips(t, c, 20)
	if len(lat) != 20 || lat[0] <= 0 || lat[0] > lat[19] {
		t.Fatalf("EchoRoundTrips = %v; want 20 positive times, sorted", lat)
	}
}
