package proto

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// serveTCP serves one connection of a 127.0.0.1 listener with ServeConn
// and returns the client end and ServeConn's result.
func serveTCP(t *testing.T, srv Server, readSize int) (net.Conn, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			done <- err
			return
		}
		err = ServeConn(c, srv, readSize)
		c.Close()
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return c, done
}

func TestServeConnRESP(t *testing.T) {
	big := strings.Repeat("v", 100_000) // larger than the read buffer
	reqs := append(pipeline(), arr("SET", "big", big), arr("GET", "big"), arr("QUIT"))
	input := strings.Join(reqs, "")
	want, err := serveAll(NewRESP(Config{}), input)
	if !errors.Is(err, ErrQuit) {
		t.Fatal(err)
	}
	c, done := serveTCP(t, NewRESP(Config{}), 4096)
	go func() {
		// In uneven pieces, so requests straddle reads.
		for s := input; len(s) > 0; {
			k := min(len(s), 1000+len(s)%777)
			if _, err := io.WriteString(c, s[:k]); err != nil {
				return
			}
			s = s[k:]
		}
	}()
	got, err := io.ReadAll(c) // until the server closes after QUIT
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("replies over TCP differ: %d bytes, want %d", len(got), len(want))
	}
	if err := <-done; !errors.Is(err, ErrQuit) {
		t.Fatalf("ServeConn returned %v, want ErrQuit", err)
	}
}

func TestServeConnEcho(t *testing.T) {
	c, done := serveTCP(t, Echo{}, 1024)
	msg := AppendPattern(nil, 1, 1, 50_000)
	go func() {
		c.Write(msg)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echoed %d bytes, first bad at %d", len(got), PatternMismatch(got, 1, 1, 0))
	}
	if err := <-done; err != nil {
		t.Fatalf("ServeConn returned %v after EOF, want nil", err)
	}
}

func TestServeConnProtocolError(t *testing.T) {
	c, done := serveTCP(t, NewRESP(Config{}), 0)
	if _, err := io.WriteString(c, "PING\r\n*x\r\n"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n" {
		t.Fatalf("got %q", got)
	}
	var pe *ProtocolError
	if err := <-done; !errors.As(err, &pe) {
		t.Fatalf("ServeConn returned %v", err)
	}
}
