package loop

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

func TestSmokeEcho(t *testing.T) {
	e, err := New(Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ln, err := e.Listen("tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		b, _ := c.Next(-1)
		c.Write(b)
	}})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	msg := bytes.Repeat([]byte("hello"), 100000)
	go nc.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("mismatch")
	}
}
