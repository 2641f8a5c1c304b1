package testutil

import (
	"net"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenFDsCountsANewDescriptor(t *testing.T) {
	before := OpenFDs(t)
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	if got := OpenFDs(t); got != before+1 {
		t.Errorf("OpenFDs with one more file open = %d, want %d", got, before+1)
	}
	f.Close()
	if got := OpenFDs(t); got != before {
		t.Errorf("OpenFDs after closing it = %d, want %d", got, before)
	}
}

func TestRSS(t *testing.T) {
	n, err := RSS(os.Getpid())
	if err != nil || n <= 0 {
		t.Fatalf("RSS(self) = %d, %v; want a positive size", n, err)
	}
	if _, err := RSS(-1); err == nil {
		t.Error("RSS(-1) succeeded")
	}
}

func TestRecvAndSyncBuffer(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if v := Recv(t, ch, "seven"); v != 7 {
		t.Fatalf("Recv = %d, want 7", v)
	}
	var b SyncBuffer
	done := make(chan struct{})
	go func() { b.Write([]byte("from a goroutine")); close(done) }()
	Recv(t, done, "the write")
	if b.String() != "from a goroutine" {
		t.Fatalf("String = %q", b.String())
	}
}

func TestFreePortRefusesConnections(t *testing.T) {
	port := FreePort(t)
	c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err == nil {
		c.Close()
		t.Fatalf("a connection to free port %d succeeded", port)
	}
}

func TestParseSVG(t *testing.T) {
	svg := ParseSVG(t, []byte(`<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg"><g>
<path d="M1,2L3.5,-4 L5 6Z"/><path d="M0,0A1,1 0 1,1 2,2"/>
<text x="1"> 99.9% </text><text>µs</text>
</g></svg>`))
	if len(svg.Paths) != 2 || len(svg.Paths[0]) != 3 || svg.Paths[0][1] != [2]float64{3.5, -4} || svg.Paths[0][2] != [2]float64{5, 6} || len(svg.Paths[1]) != 1 {
		t.Errorf("paths %v", svg.Paths)
	}
	if len(svg.Texts) != 2 || svg.Texts[0] != "99.9%" || svg.Texts[1] != "µs" {
		t.Errorf("texts %q", svg.Texts)
	}
}

func TestDialRcvbufSetsTheBuffer(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := DialRcvbuf(t, ln.Addr().String(), 4096)
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	raw.Control(func(fd uintptr) { got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) })
	// Linux doubles the value for its bookkeeping; the default is far larger.
	if got < 4096 || got > 2*4096 {
		t.Errorf("SO_RCVBUF = %d, want 4096 (or Linux's doubled 8192)", got)
	}
}
