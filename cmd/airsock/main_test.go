package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/leakcheck"
	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
)

// TestMain runs the command's tests, and the servers they start, on every
// loop backend this machine has (testutil.EveryBackend), each run checked
// for leaked goroutines.
func TestMain(m *testing.M) {
	testutil.EveryBackend(m, leakcheck.Main, loop.BackendAvailable)
}

// cli runs airsock in-process with args and returns its exit code and
// output. The command must end within a minute.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// server is `airsock serve` running in-process.
type server struct {
	addr      string
	listening string // the "listening on" line
	cancel    context.CancelFunc
	done      chan int
	stdout    *io.PipeReader
	lines     chan string
	stderr    *testutil.SyncBuffer
}

// startServe runs `airsock serve args...` until the test ends (or stop),
// and returns once it prints the address it listens on.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{cancel: cancel, done: make(chan int, 1), stdout: pr, lines: make(chan string, 100), stderr: &testutil.SyncBuffer{}}
	go func() {
		code := run(ctx, append([]string{"serve"}, args...), pw, s.stderr)
		pw.Close()
		s.done <- code
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(func() { s.stop(t) })
	line := s.line(t)
	rest, ok := strings.CutPrefix(line, "listening on ")
	if !ok {
		t.Fatalf("serve printed %q first; stderr %q", line, s.stderr)
	}
	s.addr, _, _ = strings.Cut(rest, " ")
	s.listening = line
	return s
}

// line returns the next line serve printed on stdout.
func (s *server) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			t.Fatalf("serve ended; stderr %q", s.stderr)
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("serve printed nothing for 10 s")
	}
	return ""
}

// stop sends serve the equivalent of SIGINT and checks it exits 0.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	go func() { // keep the pipe flowing until serve returns
		for range s.lines {
		}
	}()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("serve exited %d after SIGINT; stderr %q", code, s.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Error("serve did not stop within 15 s of SIGINT")
	}
}
