package backend

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
)

func TestMain(m *testing.M) {
	var opts []goleak.Option
	for _, f := range ProcessGoroutines {
		opts = append(opts, goleak.IgnoreTopFunction(f))
	}
	goleak.VerifyTestMain(m, opts...)
}

// start serves protocol name on backend b at 127.0.0.1:0 and shuts it down
// at the end of the test.
func start(t *testing.T, b, name string) Server {
	t.Helper()
	srv, err := proto.NewServer(name, proto.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return startConfig(t, b, Config{Addr: "127.0.0.1:0", Loops: 2, Proto: srv})
}

// startConfig starts backend b with cfg and shuts it down at the end of
// the test.
func startConfig(t *testing.T, b string, cfg Config) Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := Start(ctx, b, cfg)
	skipUnavailable(t, err)
	if err != nil {
		t.Fatalf("Start(%s): %v", b, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown(%s): %v", b, err)
		}
	})
	return s
}

// skipUnavailable skips a test of a -uring backend where the kernel (or a
// seccomp filter, or the OS) refuses io_uring, saying so.
func skipUnavailable(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, loop.ErrBackendUnavailable) {
		t.Skipf("io_uring unavailable here: %v", err)
	}
}

func dial(t *testing.T, s Server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEcho(t *testing.T) {
	for _, b := range Names() { // the serversocket backend too
		t.Run(b, func(t *testing.T) {
			s := start(t, b, "echo")
			c := dial(t, s)
			msg := proto.AppendPattern(nil, 1, 2, 100<<10) // more than one read buffer
			go c.Write(msg)
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatal("echoed bytes differ")
			}
			want := Stats{Open: 1, Accepted: 1, BytesIn: int64(len(msg)), BytesOut: int64(len(msg))}
			// The net backend counts a write after the peer may have read it.
			if st := waitStats(s, want); st != want {
				t.Fatalf("stats %+v, want %+v", st, want)
			}
		})
	}
}

func TestDiscard(t *testing.T) {
	for _, b := range Names() { // the serversocket backend too
		t.Run(b, func(t *testing.T) {
			s := start(t, b, "discard")
			c := dial(t, s)
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			c.(*net.TCPConn).CloseWrite()
			n, err := c.Read(make([]byte, 1))
			if n != 0 || err != io.EOF {
				t.Fatalf("read %d, %v; want EOF and nothing", n, err)
			}
		})
	}
}

// TestRESPBadInput checks that a malformed request gets an error reply and
// closes only its connection.
func TestRESPBadInput(t *testing.T) {
	for _, b := range Names() { // the serversocket backend too
		t.Run(b, func(t *testing.T) {
			s := start(t, b, "resp")
			good, bad := dial(t, s), dial(t, s)
			if _, err := bad.Write([]byte("*1\r\n+PING\r\n")); err != nil {
				t.Fatal(err)
			}
			all, err := io.ReadAll(bad)
			if err != nil {
				t.Fatalf("bad connection: %v after %q, want EOF", err, all)
			}
			if !strings.HasPrefix(string(all), "-ERR Protocol error") {
				t.Fatalf("bad connection got %q, want a protocol error", all)
			}
			r := bufio.NewReader(good)
			for _, step := range []struct{ req, want string }{
				{"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n", "+OK\r\n"},
				{"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "$2\r\n"},
			} {
				if _, err := good.Write([]byte(step.req)); err != nil {
					t.Fatal(err)
				}
				line, err := r.ReadString('\n')
				if err != nil || line != step.want {
					t.Fatalf("good connection: got %q, %v; want %q", line, err, step.want)
				}
			}
		})
	}
}

func TestShutdownClosesConns(t *testing.T) {
	for _, b := range Names() { // the serversocket backend too
		t.Run(b, func(t *testing.T) {
			fds := testutil.OpenFDs(t)
			srv, _ := proto.NewServer("echo", proto.Config{})
			s, err := Serve(context.Background(), b, srv, "127.0.0.1:0", 1)
			skipUnavailable(t, err)
			if err != nil {
				t.Fatal(err)
			}
			c := dial(t, s)
			if _, err := c.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatal("connection still open after Shutdown")
			}
			if st := s.Stats(); st.Open != 0 || st.Accepted != 1 {
				t.Fatalf("stats %+v after Shutdown, want 1 accepted, none open", st)
			}
			c.Close()
			if now := testutil.OpenFDs(t); now != fds {
				t.Fatalf("%d descriptors open after Shutdown, %d before Serve", now, fds)
			}
		})
	}
}

func TestUnknownBackend(t *testing.T) {
	var ue *UnknownError
	_, err := Serve(context.Background(), "nope", proto.Echo{}, "127.0.0.1:0", 1)
	if !errors.As(err, &ue) || ue.Name != "nope" || !strings.Contains(err.Error(), `"loop"`) {
		t.Fatalf("nope: %v, want an UnknownError listing the backends", err)
	}
	want := []string{"gnet", "loop", "loop-uring", "nbio", "net", "serversocket", "serversocket-uring"}
	if !slices.Contains([]string{"linux", "darwin", "freebsd"}, runtime.GOOS) { // nbio.go's build tags
		want = slices.DeleteFunc(want, func(n string) bool { return n == "nbio" })
	}
	if !slices.Equal(Names(), want) {
		t.Errorf("Names() = %q, want %q", Names(), want)
	}
}

// waitStats polls s's counters until they equal want or 5 s pass, and
// returns the last seen.
func waitStats(s Server, want Stats) Stats {
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := s.Stats()
		if st == want || time.Now().After(deadline) {
			return st
		}
		time.Sleep(time.Millisecond)
	}
}

// TestIOBackend: the -uring backends run on io_uring, the others on what
// Limits.IO says, and the peers refuse a choice they cannot make.
func TestIOBackend(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("epoll and io_uring are Linux's")
	}
	for _, tc := range []struct{ backend, io, want string }{
		{"loop-uring", "", "io_uring"},
		{"serversocket-uring", "", "io_uring"},
		{"loop", "epoll", "epoll"},
		{"serversocket", "io_uring", "io_uring"},
	} {
		s, err := Start(context.Background(), tc.backend, Config{Addr: "127.0.0.1:0", Loops: 1, Proto: proto.Echo{}, Limits: Limits{IO: tc.io}})
		skipUnavailable(t, err)
		if err != nil {
			t.Fatalf("%s with IO %q: %v", tc.backend, tc.io, err)
		}
		if got := IOBackend(s); got != tc.want {
			t.Errorf("%s with IO %q runs on %q, want %q", tc.backend, tc.io, got, tc.want)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"gnet", "nbio", "net", "loop-uring"} {
		if s, err := Start(context.Background(), b, Config{Addr: "127.0.0.1:0", Proto: proto.Echo{}, Limits: Limits{IO: "epoll"}}); err == nil {
			s.Shutdown(context.Background())
			t.Errorf("%s accepted IO epoll", b)
		}
	}
}
