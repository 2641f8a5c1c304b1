package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/backend"
	"github.com/airsock/airsock/internal/loadgen"
	"github.com/airsock/airsock/loop"
)

// TestServeLoad: every backend serves every protocol to a short verifying
// load run.
func TestServeLoad(t *testing.T) {
	for _, b := range backend.Names() {
		for _, p := range []struct {
			proto string
			load  []string
		}{
			{"echo", []string{"--proto", "echo", "--depth", "4", "--size", "64"}},
			{"resp", []string{"--proto", "resp", "--resp-cmd", "setget", "--depth", "4"}},
			{"discard", []string{"--proto", "discard", "--rate", "2000"}},
		} {
			t.Run(b+"/"+p.proto, func(t *testing.T) {
				if strings.HasSuffix(b, "-uring") {
					skipWithoutIOUring(t)
				}
				s := startServe(t, "--backend", b, "--proto", p.proto, "--addr", "127.0.0.1:0", "--loops", "1")
				args := append([]string{"--addr", s.addr, "-c", "8", "--duration", "1s", "--warmup", "100ms",
					"--verify", "--loops", "1"}, p.load...)
				code, r, errOut := loadJSONOut(t, args...)
				if code != 0 {
					t.Fatalf("load exited %d: %s", code, errOut)
				}
				if r.Conns != 8 || r.Errors != 0 || r.Failure != "" || r.Sent == 0 || r.Lost != 0 {
					t.Fatalf("load: %+v", r)
				}
				if p.proto != "discard" && (r.Received != r.Sent || r.Count != r.Received || r.VerifiedBytes == 0) {
					t.Fatalf("load: sent %d received %d recorded %d verified %d", r.Sent, r.Received, r.Count, r.VerifiedBytes)
				}
			})
		}
	}
}

func TestServeStats(t *testing.T) {
	s := startServe(t, "--addr", "127.0.0.1:0", "--stats", "50ms", "--loops", "1")
	c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	// Within 5 s a stats line counts the connection and its bytes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := s.line(t)
		if strings.Contains(l, "conns open=1 accepted=1 bytes in=5 out=5") {
			break
		}
		if !strings.HasPrefix(l, "stats: ") || time.Now().After(deadline) {
			t.Fatalf("got %q, want stats counting one connection and 5 bytes each way", l)
		}
	}
}

// TestServeSIGUSR1 asks serve for a stats line with the signal, and with
// --heapprofile for a heap profile written before it. serve is listening
// for it once it has printed its address.
func TestServeSIGUSR1(t *testing.T) {
	heap := filepath.Join(t.TempDir(), "heap.pb.gz")
	s := startServe(t, "--addr", "127.0.0.1:0", "--loops", "1", "--heapprofile", heap)
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if l := s.line(t); !strings.HasPrefix(l, "stats: conns open=0 accepted=0") {
		t.Fatalf("after SIGUSR1 got %q", l)
	}
	f, err := os.Open(heap)
	if err != nil {
		t.Fatalf("no heap profile after SIGUSR1: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("heap profile: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil || !bytes.Contains(b, []byte("inuse_space")) {
		t.Fatalf("heap profile: %d bytes without inuse_space, %v", len(b), err)
	}
}

// TestServeBadRESP: a malformed request gets an error reply and closes its
// connection; another connection goes on working.
func TestServeBadRESP(t *testing.T) {
	s := startServe(t, "--proto", "resp", "--addr", "127.0.0.1:0", "--loops", "1", "--max-bulk", "16")
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		t.Cleanup(func() { c.Close() })
		return c
	}
	good := dial()
	r := bufio.NewReader(good)
	exchange := func(req, want string) {
		t.Helper()
		if _, err := good.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		if got, err := r.ReadString('\n'); got != want {
			t.Fatalf("good connection: %q gets %q, %v; want %q", req, got, err, want)
		}
	}
	exchange("PING\r\n", "+PONG\r\n")
	for _, bad := range []string{
		"*1\r\n+PING\r\n",                  // not a bulk string
		"*2\r\n$3\r\nGET\r\n$17\r\n",       // over --max-bulk
		"*-5\r\n",                          // negative count
		"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n", // bad length after a good request
	} {
		c := dial()
		if _, err := c.Write([]byte(bad)); err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(c)
		if err != nil || !strings.Contains(string(all), "-ERR Protocol error") {
			t.Fatalf("%q got %q, %v; want a protocol error and EOF", bad, all, err)
		}
		exchange("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", "+OK\r\n")
	}
}

// skipWithoutIOUring skips a test where the kernel (or a seccomp filter)
// refuses io_uring, saying so.
func skipWithoutIOUring(t *testing.T) {
	t.Helper()
	e, err := loop.New(loop.Config{Loops: 1, Backend: loop.BackendIOUring})
	if err != nil {
		t.Skipf("io_uring unavailable here: %v", err)
	}
	e.Close()
}

// TestServeIO: --io chooses the loop's I/O backend, which the listening
// line names; load --io runs the generator on it, every byte verified; a
// -uring backend refuses another choice.
func TestServeIO(t *testing.T) {
	skipWithoutIOUring(t)
	var runs []*loadgen.Results
	loadDone = func(r *loadgen.Results) { runs = append(runs, r) }
	defer func() { loadDone = nil }()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--backend", "loop", "--io", "io_uring"}, "io=io_uring)"},
		{[]string{"--backend", "serversocket", "--io", "io_uring"}, "io=io_uring)"},
		{[]string{"--backend", "loop-uring"}, "io=io_uring)"},
		{[]string{"--backend", "serversocket", "--io", "epoll"}, "io=epoll)"},
	} {
		s := startServe(t, append(tc.args, "--proto", "echo", "--addr", "127.0.0.1:0", "--loops", "1")...)
		if !strings.HasSuffix(s.listening, tc.want) {
			t.Errorf("serve %q printed %q, want it to end %q", tc.args, s.listening, tc.want)
		}
		code, _, errOut := cli(t, "load", "--addr", s.addr, "--io", "io_uring", "-c", "4", "--depth", "2", "--size", "100",
			"--duration", "300ms", "--warmup", "0s", "--verify", "--loops", "1")
		if code != 0 {
			t.Fatalf("load --io io_uring against serve %q exited %d: %s", tc.args, code, errOut)
		}
		r := runs[len(runs)-1]
		if r.IO != "io_uring" || r.VerifiedBytes == 0 || r.Lost != 0 || r.Errors != 0 {
			t.Errorf("load --io io_uring against serve %q: generator on %q, %d bytes verified, %d lost, %d errors",
				tc.args, r.IO, r.VerifiedBytes, r.Lost, r.Errors)
		}
		s.stop(t)
	}
	code, _, errOut := cli(t, "serve", "--backend", "loop-uring", "--io", "epoll", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "run on io_uring") {
		t.Errorf("serve --backend loop-uring --io epoll: exit %d, stderr %q; want 1 and why", code, errOut)
	}
}
