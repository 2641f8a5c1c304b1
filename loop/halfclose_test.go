package loop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/airsock/airsock/internal/testutil"
)

// Half-close in both directions: the peer's FIN ends reading but not
// writing, and the server's CloseWrite ends writing but not reading.

// TestClientHalfClose: the client sends 1 MiB and shuts its write side; the
// server gets every byte, then OnClose(io.EOF), and replies from OnClose;
// the client gets the whole reply, then EOF.
func TestClientHalfClose(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	closed := make(chan closeEvent, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) { c.SetContext(new(bytes.Buffer)) },
		Data: func(c *Conn) {
			b, _ := c.Next(-1)
			c.Context().(*bytes.Buffer).Write(b)
		},
		Close: func(c *Conn, err error) {
			got := c.Context().(*bytes.Buffer)
			if errors.Is(err, io.EOF) {
				// The reply: a header, then everything received, reversed in
				// 4-byte groups, so it is not a plain echo.
				fmt.Fprintf(c, "got %d\n", got.Len())
				c.Write(reverseGroups(got.Bytes()))
			}
			closed <- closeEvent{c, err}
		},
	})
	nc := dialClient(t, "tcp", ln.Addr().String())
	payload := pattern(1<<20, 7)
	werr := make(chan error, 1)
	go func() {
		_, err := nc.Write(payload)
		if err == nil {
			err = nc.(*net.TCPConn).CloseWrite()
		}
		werr <- err
	}()
	// io.ReadAll reads until EOF: the reply must be complete and then end.
	reply, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("reading the reply: %v (got %d bytes)", err, len(reply))
	}
	if err := testutil.Recv(t, werr, "the client's write"); err != nil {
		t.Fatalf("client write: %v", err)
	}
	ev := testutil.Recv(t, closed, "OnClose")
	if ev.err != io.EOF {
		t.Fatalf("OnClose err = %v, want io.EOF", ev.err)
	}
	want := append([]byte(fmt.Sprintf("got %d\n", len(payload))), reverseGroups(payload)...)
	if d := diff(reply, want); d != "" {
		t.Fatalf("reply: %s", d)
	}
}

// TestServerCloseWrite: the server writes, then CloseWrite; the client reads
// every byte, then EOF, and can still send: the server receives those bytes
// and, when the client closes, OnClose(io.EOF).
func TestServerCloseWrite(t *testing.T) {
	e := newEngine(t, Config{Loops: 2})
	out := pattern(512<<10, 8)
	afterCW := make(chan error, 1)
	closed := make(chan closeEvent, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Open: func(c *Conn) {
			c.SetContext(new(bytes.Buffer))
			c.Write(out)
			if err := c.CloseWrite(); err != nil {
				afterCW <- fmt.Errorf("CloseWrite: %w", err)
				return
			}
			_, err := c.Write([]byte("too late"))
			afterCW <- err
		},
		Data: func(c *Conn) {
			b, _ := c.Next(-1)
			c.Context().(*bytes.Buffer).Write(b)
		},
		Close: func(c *Conn, err error) {
			closed <- closeEvent{c, err}
		},
	})
	nc := dialClient(t, "tcp", ln.Addr().String())
	if err := testutil.Recv(t, afterCW, "OnOpen"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after CloseWrite: err = %v, want ErrClosed", err)
	}
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("client read: %v after %d bytes", err, len(got))
	}
	if d := diff(got, out); d != "" {
		t.Fatalf("client got: %s", d)
	}
	// The server's read side is still open.
	in := pattern(200<<10, 9)
	if _, err := nc.Write(in); err != nil {
		t.Fatalf("client write after the server's CloseWrite: %v", err)
	}
	if err := nc.Close(); err != nil {
		t.Fatal(err)
	}
	ev := testutil.Recv(t, closed, "OnClose")
	if ev.err != io.EOF {
		t.Fatalf("OnClose err = %v, want io.EOF", ev.err)
	}
	// OnClose runs on the loop, which also wrote the buffer: reading it
	// after receiving from the channel is ordered by the channel.
	if d := diff(ev.c.Context().(*bytes.Buffer).Bytes(), in); d != "" {
		t.Fatalf("server got: %s", d)
	}
}

// reverseGroups returns b with the order of its 4-byte groups reversed.
func reverseGroups(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for end := len(b); end > 0; end -= 4 {
		out = append(out, b[max(0, end-4):end]...)
	}
	return out
}

// TestUnconsumedAtEOF: bytes the handler left unconsumed when the peer
// half-closed can still be read in OnClose, and the reply written there
// is delivered.
func TestUnconsumedAtEOF(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, MaxInbound: 1 << 20})
	closed := make(chan error, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Data: func(*Conn) {}, // consume nothing
		Close: func(c *Conn, err error) {
			b, _ := c.Next(-1)
			c.Write(reverseGroups(b))
			closed <- err
		},
	})
	nc := dialClient(t, "tcp", ln.Addr().String())
	payload := pattern(300_000, 12)
	if _, err := nc.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := nc.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := testutil.Recv(t, closed, "OnClose"); err != io.EOF {
		t.Fatalf("OnClose err = %v, want io.EOF", err)
	}
	if d := diff(reply, reverseGroups(payload)); d != "" {
		t.Fatalf("reply: %s", d)
	}
}
