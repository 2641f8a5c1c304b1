//go:build linux || darwin || freebsd

package backend

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lesismal/nbio"
	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/internal/testutil"
)

// startNbio serves protocol name on the nbio backend with limits, one
// poller, and shuts it down at the end of the test.
func startNbio(t *testing.T, name string, limits Limits) Server {
	t.Helper()
	srv, err := proto.NewServer(name, proto.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), "nbio", Config{Addr: "127.0.0.1:0", Loops: 1, Proto: srv, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// TestNbioStopsAtHighMarkAndResumes: a client that sends far more than the
// kernel buffers hold before reading anything. nbio reads all of it; the
// session must stop at the high mark, leaving the input unconsumed (the
// check fails if Writable ignores nbio's pending output: then the session
// echoes all that nbio has read), and go on as the output drains (the read
// hangs to its deadline if nothing resumes it).
func TestNbioStopsAtHighMarkAndResumes(t *testing.T) {
	s := startNbio(t, "echo", Limits{})
	c := dial(t, s).(*net.TCPConn)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	// Fixed small client buffers (no autotuning): once the last byte is
	// written, little is in flight, and the kernel can take at most 128 KiB
	// of replies here plus the server's send buffer (net.ipv4.tcp_wmem,
	// 4 MiB by default), far below half the message.
	if err := errors.Join(c.SetReadBuffer(64<<10), c.SetWriteBuffer(64<<10)); err != nil {
		t.Fatal(err)
	}
	msg := proto.AppendPattern(nil, 3, 4, 16<<20)
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		wrote <- err
	}()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.BytesOut >= int64(len(msg)/2) {
		t.Fatalf("%d of %d bytes echoed with the peer not reading: the session did not stop at the high mark", st.BytesOut, len(msg))
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("echoed bytes differ")
	}
}

// TestNbioClosesAfterPendingReplies: a protocol error closes the connection
// only once the replies before it, still held by nbio, have gone. A close
// at once drops them: the client then reads a truncated reply.
func TestNbioClosesAfterPendingReplies(t *testing.T) {
	// Marks far above the replies, so that the error is met while they are
	// all still pending.
	s := startNbio(t, "resp", Limits{WriteHighWater: 256 << 20, WriteLowWater: 128 << 20})
	c := dial(t, s)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	const gets, size = 16, 1 << 20
	value := strings.Repeat("v", size)
	var req strings.Builder
	fmt.Fprintf(&req, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n", size, value)
	for range gets {
		req.WriteString("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
	}
	req.WriteString("*1\r\n+PING\r\n") // not a bulk string: a protocol error
	if _, err := io.WriteString(c, req.String()); err != nil {
		t.Fatal(err)
	}
	reply := fmt.Sprintf("$%d\r\n%s\r\n", size, value)
	want := "+OK\r\n" + strings.Repeat(reply, gets)
	// Wait until the error reply, after all the others, is handed to nbio:
	// most of them are pending then.
	for deadline := time.Now().Add(10 * time.Second); s.Stats().BytesOut <= int64(len(want)); {
		if time.Now().After(deadline) {
			t.Fatalf("replies not written: %+v", s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	r := bufio.NewReaderSize(c, 1<<20)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("reading %d reply bytes: %v", len(want), err)
	}
	if string(got) != want {
		t.Fatal("replies differ")
	}
	rest, err := io.ReadAll(r)
	if err != nil || !strings.HasPrefix(string(rest), "-ERR Protocol error") {
		t.Fatalf("after the replies: %q, %v; want a protocol error and EOF", rest, err)
	}
}

// TestPeersStayOutOfTheLibrary: the peer libraries are this package's
// business only; none of airsock's library packages may depend on them.
func TestPeersStayOutOfTheLibrary(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list dependencies with")
	}
	lib := []string{"loop", "serversocket", "poller", "buffer", "uring"}
	args := []string{"list", "-deps"}
	for _, p := range lib {
		args = append(args, "github.com/airsock/airsock/"+p)
	}
	out, err := exec.Command(gobin, args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.FieldsSeq(string(out)) {
		if strings.HasPrefix(dep, "github.com/lesismal/") || strings.HasPrefix(dep, "github.com/panjf2000/") {
			t.Errorf("%s depends on %s", strings.Join(lib, ", "), dep)
		}
	}
}

// TestNbioJoinsReusePort: nbio refuses a port the loop backend serves (with
// SO_REUSEPORT), and shares it when told to join.
func TestNbioJoinsReusePort(t *testing.T) {
	first := start(t, "loop", "echo")
	cfg := Config{Addr: first.Addr().String(), Loops: 1, Proto: proto.Echo{}}
	if s, err := Start(context.Background(), "nbio", cfg); err == nil {
		s.Shutdown(context.Background())
		t.Fatal("nbio started on a taken port")
	}
	cfg.Limits.JoinReusePort = true
	s, err := Start(context.Background(), "nbio", cfg)
	if err != nil {
		t.Fatalf("joining: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestNbioStopsRightAfterStart: a Shutdown right after the start must not
// be lost. nbio's goroutines clear their stop flag when they begin, so
// before start-up waited for them, a Stop that came first left the acceptor
// spinning on its closed listener and Stop waiting for ever.
func TestNbioStopsRightAfterStart(t *testing.T) {
	for range 50 {
		s, err := Start(context.Background(), "nbio", Config{Addr: "127.0.0.1:0", Loops: 4, Proto: proto.Echo{}})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Shutdown(context.Background()) }()
		if err := testutil.Recv(t, done, "Shutdown right after the start"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNbioTableFitsTheDescriptorLimit: nbio's per-engine table of
// connections is sized to the descriptor limit, not its default of 2M
// pointers that every GC cycle would scan.
func TestNbioTableFitsTheDescriptorLimit(t *testing.T) {
	startNbio(t, "echo", Limits{})
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if cur := int64(lim.Cur); cur > 0 && int64(nbio.MaxOpenFiles) > cur {
		t.Errorf("nbio.MaxOpenFiles %d, above the descriptor limit %d", nbio.MaxOpenFiles, cur)
	}
}
