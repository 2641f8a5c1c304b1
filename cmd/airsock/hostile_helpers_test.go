package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// Helpers of the hostile-client tests (hostile_test.go): `airsock serve`
// in a child process, so that its RSS can be read from /proc, and a small
// RESP client that speaks to it directly over a socket.

// hostileServerEnv carries the serve arguments to the child process.
const hostileServerEnv = "AIRSOCK_HOSTILE_SERVER"

// hostileChildHook turns this test binary into `airsock serve` when it was
// started as a test's child: call it first in every test that starts
// children. It does not return in the child.
func hostileChildHook() {
	if args := os.Getenv(hostileServerEnv); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		os.Exit(run(ctx, strings.Fields(args), os.Stdout, os.Stderr))
	}
}

// child is `airsock serve` running in a child process.
type child struct {
	addr   string
	pid    int
	cmd    *exec.Cmd
	lines  chan string // stdout after the "listening on" line
	stderr *testutil.SyncBuffer
	exited chan struct{} // closed once stdout reached EOF (the child is gone or going)
}

// startChild starts `airsock serve args...` as a child process running the
// hook of the top-level test named test, and returns once it says where it
// listens. The child is stopped (SIGTERM, then SIGKILL after 20 s) when the
// test ends.
func startChild(t *testing.T, test string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), hostileServerEnv+"=serve "+strings.Join(args, " "))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 100), stderr: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.pid = cmd.Process.Pid
	first := make(chan string, 1)
	go func() {
		defer close(c.exited)
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			default: // nobody reads them: drop rather than block the child
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			t.Errorf("serve %q did not exit within 20 s of SIGTERM; killed", args)
			cmd.Process.Kill()
			<-c.exited
		}
		cmd.Wait()
	})
	select {
	case line, ok := <-first:
		rest, found := strings.CutPrefix(line, "listening on ")
		if !ok || !found {
			t.Fatalf("serve %q printed %q first; stderr %q", args, line, c.stderr)
		}
		c.addr, _, _ = strings.Cut(rest, " ")
	case <-time.After(60 * time.Second): // a race-enabled binary on a loaded machine can be slow to start
		t.Fatalf("serve %q printed nothing for 60 s; stderr %q", args, c.stderr)
	}
	return c
}

// rss returns the child's resident set size in bytes (0 if it is gone).
func (c *child) rss() int64 {
	n, _ := testutil.RSS(c.pid)
	return n
}

// alive fails the test if the child has exited.
func (c *child) alive(t *testing.T) {
	t.Helper()
	select {
	case <-c.exited:
		t.Fatalf("serve exited; stderr %q", c.stderr)
	default:
	}
}

// rssSampler reads a process's RSS every 50 ms until stopped, keeping the
// peak.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak int64
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	s.sample(pid)
	go func() {
		defer close(s.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				s.sample(pid)
				return
			case <-tick.C:
				s.sample(pid)
			}
		}
	}()
	return s
}

func (s *rssSampler) sample(pid int) {
	n, _ := testutil.RSS(pid)
	s.mu.Lock()
	s.peak = max(s.peak, n)
	s.mu.Unlock()
}

// Peak is the highest RSS seen so far.
func (s *rssSampler) Peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// Stop ends the sampling and returns the peak. It may be called again.
func (s *rssSampler) Stop() int64 {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return s.Peak()
}

// mib formats bytes as MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// respConn is a minimal RESP2 client on one connection.
type respConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRESP(t *testing.T, addr string) *respConn {
	t.Helper()
	c := testutil.DialRcvbuf(t, addr, 0)
	t.Cleanup(func() { c.Close() })
	return &respConn{Conn: c, r: bufio.NewReaderSize(c, 1<<20)}
}

// appendCommand appends args as a RESP array of bulk strings.
func appendCommand(dst []byte, args ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// line reads one reply line without its CRLF.
func (c *respConn) line() (string, error) {
	s, err := c.r.ReadString('\n')
	if err != nil {
		return s, err
	}
	if !strings.HasSuffix(s, "\r\n") {
		return s, fmt.Errorf("reply line %q does not end in CRLF", s)
	}
	return s[:len(s)-2], nil
}

// do sends one command and returns its reply if it is a simple line
// (+OK, :3, -ERR ..., or a bulk string's header $n followed by the bulk).
func (c *respConn) do(timeout time.Duration, args ...string) (string, error) {
	c.SetDeadline(time.Now().Add(timeout))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(appendCommand(nil, args...)); err != nil {
		return "", err
	}
	l, err := c.line()
	if err != nil || !strings.HasPrefix(l, "$") || l == "$-1" {
		return l, err
	}
	n, err := strconv.Atoi(l[1:])
	if err != nil {
		return l, err
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(c.r, b); err != nil {
		return l, err
	}
	return string(b[:n]), nil
}

// readBulk reads a bulk reply of exactly size bytes, passing the value in
// pieces to check(piece, offset).
func (c *respConn) readBulk(size int, check func(p []byte, off int) error) error {
	want := "$" + strconv.Itoa(size)
	l, err := c.line()
	if err != nil {
		return err
	}
	if l != want {
		return fmt.Errorf("reply header %q, want %q", trunc(l), want)
	}
	for off := 0; off < size; {
		p, err := c.r.Peek(min(size-off, c.r.Size()))
		if len(p) > 0 {
			if err := check(p, off); err != nil {
				return err
			}
			off += len(p)
			c.r.Discard(len(p))
			continue
		}
		if err != nil {
			return fmt.Errorf("after %d of %d value bytes: %w", off, size, err)
		}
	}
	var crlf [2]byte
	if _, err := io.ReadFull(c.r, crlf[:]); err != nil {
		return err
	}
	if crlf != [2]byte{'\r', '\n'} {
		return fmt.Errorf("%q after the value, want CRLF", crlf[:])
	}
	return nil
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// rssBack waits, for up to 20 s from now, until the child's RSS is within
// within of base (memory given back once attackers closed: nothing signals
// it, so RSS is polled), logs where it got, and fails the test when it did
// not get there. Unless check (under -race, whose memory the bound does not
// hold), it only logs the RSS now.
func (c *child) rssBack(t *testing.T, what string, base, within int64, check bool) {
	t.Helper()
	closed := time.Now()
	after := c.rss()
	for check && after-base > within && time.Since(closed) < 20*time.Second {
		time.Sleep(100 * time.Millisecond) // polling RSS; nothing signals "memory returned"
		after = c.rss()
	}
	t.Logf("%s: RSS %s %v after the attackers closed (baseline %s, want within +%s)",
		what, mib(after), time.Since(closed).Round(100*time.Millisecond), mib(base), mib(within))
	if check && after-base > within {
		t.Errorf("%s: RSS still %s above the baseline 20 s after the attackers closed (want within %s)", what, mib(after-base), mib(within))
	}
}
