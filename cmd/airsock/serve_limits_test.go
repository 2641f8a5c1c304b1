package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestServeIdleTimeout: --idle-timeout closes a connection that sends
// nothing, on every backend that can bound idle time (before the flag
// existed serve had no way to bound a stalled client: this exited 2).
func TestServeIdleTimeout(t *testing.T) {
	for _, b := range []string{"loop", "serversocket", "net"} {
		t.Run(b, func(t *testing.T) {
			s := startServe(t, "--backend", b, "--proto", "echo", "--addr", "127.0.0.1:0", "--loops", "1",
				"--idle-timeout", "1s") // the client writes within it, even on a loaded machine
			c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second)) // far above the timeout: the server must close first
			if _, err := c.Write([]byte("hi")); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "hi" {
				t.Fatalf("read %q, %v; want the echo, then EOF from the idle timeout", got, err)
			}
		})
	}
}

// TestServeMaxConns: with --max-conns 1 a second connection is not served
// until the first closes, and then it is.
func TestServeMaxConns(t *testing.T) {
	for _, b := range []string{"loop", "serversocket", "net"} {
		t.Run(b, func(t *testing.T) {
			s := startServe(t, "--backend", b, "--proto", "echo", "--addr", "127.0.0.1:0", "--loops", "1", "--max-conns", "1")
			first, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			echoOnce(t, first, "one")
			second, err := net.DialTimeout("tcp", s.addr, 5*time.Second) // completes in the backlog
			if err != nil {
				t.Fatal(err)
			}
			defer second.Close()
			if _, err := second.Write([]byte("two")); err != nil {
				t.Fatal(err)
			}
			// Not served while the first is open. A short read deadline can
			// miss a broken cap on a slow machine, but never fails a working one.
			second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if n, err := second.Read(make([]byte, 8)); n > 0 {
				t.Fatalf("second connection served past --max-conns 1 (read %d bytes, %v)", n, err)
			}
			first.Close()
			second.SetReadDeadline(time.Now().Add(30 * time.Second))
			got := make([]byte, 3)
			if _, err := io.ReadFull(second, got); err != nil || string(got) != "two" {
				t.Fatalf("after the first closed: %q, %v", got, err)
			}
		})
	}
}

func echoOnce(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo %q: %q, %v", msg, got, err)
	}
}

// TestServeLimitFlagsChecked: nonsense limits exit 2 with a message, and
// gnet refuses the bounds it cannot apply.
func TestServeLimitFlagsChecked(t *testing.T) {
	for _, args := range [][]string{
		{"--write-high", "1000", "--write-low", "2000"},
		{"--max-inbound", "0"},
		{"--idle-timeout", "-1s"},
		{"--max-conns", "-1"},
	} {
		code, _, stderr := cli(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
		if code != 2 || !strings.Contains(stderr, "--write-low below --write-high") {
			t.Errorf("serve %v: exit %d, stderr %q; want 2 and the rule", args, code, stderr)
		}
	}
	code, _, stderr := cli(t, "serve", "--backend", "gnet", "--addr", "127.0.0.1:0", "--idle-timeout", "1s")
	if code != 1 || !strings.Contains(stderr, "not supported") {
		t.Errorf("gnet with --idle-timeout: exit %d, stderr %q; want 1 and 'not supported'", code, stderr)
	}
}
