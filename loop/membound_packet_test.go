package loop

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
)

// Memory bound under a datagram flood: 100 senders that never read blast
// the largest UDP datagrams (and small ones) at an echo server with two
// loops. The loop keeps no state per flow: what it holds is each loop's
// receive batch (PacketBatch x PacketReadSize = 4 MiB mapped, committed as
// datagrams reach it), its send stage (128 KiB) and the socket's queue,
// which fills only while the socket's own kernel buffer is full (at most
// PacketQueueBytes, 1 MiB). Over loopback a reply to a sender that does not
// read is dropped at the sender's socket, so the server's buffer never
// fills. The bound is baseline + 2 x (4 MiB + 128 KiB + 1 MiB), with the
// collector's headroom doubled: +21 MiB.
func TestMemoryBoundDatagramFlood(t *testing.T) {
	if os.Getenv("AIRSOCK_MEMBOUND_PACKET_CHILD") != "" {
		servePacketEchoChild()
		return
	}
	addr, pid, probe, base := startFloodServer(t)
	defer probe.Close()

	const senders, each = 100, 200
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		c, err := net.Dial("udp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			big, small := datagram(s, 0, 65507), datagram(s, 1, 64)
			for i := 0; i < each; i++ {
				c.Write(big)
				c.Write(small)
			}
		}()
	}
	wg.Wait()
	checkFloodBound(t, pid, probe, base, fmt.Sprintf("%d senders sent %d MiB", senders, senders*each*(65507+64)>>20))
}

// startFloodServer starts the echo server child of the datagram floods,
// warms it up with a probe flow and returns its address, pid, the probe
// and its RSS before the flood.
func startFloodServer(t *testing.T) (addr string, pid int, probe net.Conn, base int64) {
	t.Helper()
	if testing.Short() {
		t.Skip("sends 1,250 MiB over loopback")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory use; .ci/run runs this test without it")
	}
	addr, pid = startServerChild(t, "TestMemoryBoundDatagramFlood", "AIRSOCK_MEMBOUND_PACKET_CHILD=1")
	probe, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := echoFlow(probe, 0, 50, []int{12, 1200}); err != nil { // warm up before the baseline
		probe.Close()
		t.Fatal(err)
	}
	return addr, pid, probe, rssOf(t, pid)
}

// checkFloodBound fails the test unless the flood server, whose RSS was
// base before the flood (what), is still served and grew by at most its
// bound: 2 loops x (4 MiB receive batch + 128 KiB stage + 1 MiB queue),
// with the collector's headroom doubled.
func checkFloodBound(t *testing.T, pid int, probe net.Conn, base int64, what string) {
	t.Helper()
	peak := rssOf(t, pid)
	if err := echoFlow(probe, 1, 20, []int{12, 1200, 65507}); err != nil { // still served
		t.Fatal(err)
	}
	const bound = 2 * 2 * (4<<20 + 128<<10 + 1<<20)
	t.Logf("%s; server RSS %d MiB (baseline %d MiB, bound +%d MiB)", what, peak>>20, base>>20, bound>>20)
	if peak-base > bound {
		t.Fatalf("server RSS grew by %d MiB under the flood, above the bound of %d MiB", (peak-base)>>20, bound>>20)
	}
}

// servePacketEchoChild is a UDP echo server on 127.0.0.1 with two loops
// that prints its address and serves until stdin closes.
func servePacketEchoChild() {
	e, err := New(Config{Loops: 2, Logger: quiet})
	if err != nil {
		panic(err)
	}
	pl, err := e.ListenPacket("udp4", "127.0.0.1:0", packetEcho())
	if err != nil {
		panic(err)
	}
	os.Stdout.WriteString(pl.Addr().String() + "\n")
	io.Copy(io.Discard, os.Stdin)
	e.Close()
}
