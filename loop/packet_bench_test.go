package loop

import (
	"net"
	"testing"
	"time"
)

// Datagram echo through one server socket. The client is a connected
// net.UDPConn with preallocated buffers, which allocates nothing, so
// allocs/op is the server's: 0 in steady state. One op is depth
// datagrams sent before their replies are read, so at depth 64 the server
// reads and answers in batches.

func BenchmarkPacketEcho64(b *testing.B)      { benchPacketEcho(b, 64, 1) }
func BenchmarkPacketEcho1200(b *testing.B)    { benchPacketEcho(b, 1200, 1) }
func BenchmarkPacketEcho64x64(b *testing.B)   { benchPacketEcho(b, 64, 64) }
func BenchmarkPacketEcho1200x64(b *testing.B) { benchPacketEcho(b, 1200, 64) }

func benchPacketEcho(b *testing.B, size, depth int) {
	e := newEngine(b, Config{Loops: 1})
	pl, err := e.ListenPacket("udp4", "127.0.0.1:0", packetEcho())
	if err != nil {
		b.Fatal(err)
	}
	defer pl.Close()
	nc, err := net.DialUDP("udp4", nil, pl.Addr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadBuffer(4 << 20) // 64 replies in flight fit whatever rmem_default is
	nc.SetDeadline(time.Now().Add(time.Hour))
	msg := datagram(1, 1, size)
	got := make([]byte, size+1)
	roundTrips := func() {
		for range depth {
			if _, err := nc.Write(msg); err != nil {
				b.Fatal(err)
			}
		}
		for range depth {
			n, err := nc.Read(got)
			if err != nil {
				b.Fatal(err)
			}
			if n != size {
				b.Fatalf("reply of %d bytes, want %d", n, size)
			}
		}
	}
	for range 100 {
		roundTrips()
	}
	b.SetBytes(int64(size * depth))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrips()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*depth), "ns/datagram")
}
