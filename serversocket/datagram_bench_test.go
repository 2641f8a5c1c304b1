package serversocket_test

// The cost of a DatagramSocket over the raw loop: one datagram echoed per
// op, by a loop.PacketHandler and by a Data listener that Sends the bytes
// back. allocs/op counts the whole process (the Go client allocates
// nothing per datagram), so it is the server's allocations per datagram.

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/airsock/airsock/loop"
)

func BenchmarkDatagramEcho(b *testing.B) {
	for _, size := range []int{16, 512, 1400} {
		for _, api := range []string{"loop", "serversocket"} {
			b.Run(fmt.Sprintf("api=%s/size=%d", api, size), func(b *testing.B) {
				e := newEngine(b, loop.Config{})
				var addr string
				if api == "loop" {
					pl, err := e.ListenPacket("udp4", "127.0.0.1:0", loop.PacketFuncs{Packet: func(pc *loop.PacketConn, d *loop.Datagram) {
						pc.WriteTo(d.Data, d.From)
					}})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { pl.Close() })
					addr = pl.Addr().String()
				} else {
					srv := boundDatagram(b, e, "127.0.0.1")
					echoDatagrams(b, srv)
					addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.LocalPort()))
				}
				benchDatagramClient(b, addr, size)
			})
		}
	}
}

// benchDatagramClient sends b.N datagrams of size bytes to addr, one at a
// time, and checks each echo.
func benchDatagramClient(b *testing.B, addr string, size int) {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := payload(1, size)
	buf := make([]byte, size+1)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(waitLimit))
		n, err := c.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], msg) {
			b.Fatalf("echo: %d bytes, %v", n, err)
		}
	}
}
