// Package testutil holds the helpers that the tests of several packages
// need: counting open descriptors, reading a process's RSS, receiving from a
// channel with a deadline, a buffer a logger may write while a test reads
// it, a loopback port nobody listens on, and the paths and texts of an SVG
// chart (ParseSVG), a UDP echo check (UDPEcho). It imports nothing of ours, so
// the tests of every package, loop included, may use it. Only tests import it.
package testutil

import (
	"bytes"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// WaitLimit bounds every wait of these helpers: long enough for a loaded
// 2-core machine running the race detector, short enough to fail a hung test.
const WaitLimit = 20 * time.Second

// OpenFDs returns how many descriptors this process has open, or skips the
// test where /proc/self/fd cannot be read. Any goroutine.
func OpenFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(ents)
}

// RSS returns the resident set size (VmRSS) of process pid in bytes. It does
// not fail a test, so that sampling goroutines may call it.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}

// Recv returns the next value from ch, or fails the test after WaitLimit,
// naming what it waited for. The test's goroutine only (it may call Fatal).
func Recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(WaitLimit)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out after %v waiting for %s", WaitLimit, what)
		panic("unreachable")
	}
}

// SyncBuffer is a bytes.Buffer that one goroutine (a logger on a loop, a
// command's output) may write while another reads it. Any goroutine.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p. Any goroutine.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far. Any goroutine.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreePort returns a TCP port on 127.0.0.1 that nobody listens on: one the
// kernel just handed out and took back. The test's goroutine only.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("net.Listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// DialRcvbuf connects to the TCP address addr with SO_RCVBUF set to rcvbuf
// before the connect (0: the system's default), so that data a client never
// reads backs up into the server after a few KiB. The test's goroutine only.
func DialRcvbuf(t testing.TB, addr string, rcvbuf int) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: WaitLimit, Control: func(_, _ string, rc syscall.RawConn) error {
		if rcvbuf == 0 {
			return nil
		}
		return rc.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
		})
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
