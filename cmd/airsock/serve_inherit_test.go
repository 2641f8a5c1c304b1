package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// TestServeListenFDs: `airsock serve --listen-fds` started as systemd
// starts a socket-activated service (the socket as fd 3, LISTEN_FDS=1,
// LISTEN_PID its own pid: a shell sets it and execs, keeping its pid;
// LISTEN_FDNAMES, ignored) serves that socket, not --addr, and tells the
// notification socket READY=1 with its MAINPID.
func TestServeListenFDs(t *testing.T) {
	hostileChildHook()
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := nl.(*net.TCPListener).File()
	nl.Close() // the socket lives on in f, then in the child
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	notifyPath := filepath.Join(t.TempDir(), "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()

	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" -test.run='^TestServeListenFDs$'`, os.Args[0])
	cmd.Env = append(os.Environ(), hostileServerEnv+"=serve --listen-fds --addr 127.0.0.1:1 --loops 1",
		"LISTEN_FDS=1", "LISTEN_FDNAMES=web", notifySocket+"="+notifyPath)
	cmd.ExtraFiles = []*os.File{f}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &testutil.SyncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close() // the child's copy is the only one now
	exited := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	lines := make(chan string, 10)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		exited <- cmd.Wait()
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve ended; stderr %q", stderr)
			}
			return l
		case <-time.After(time.Minute):
			t.Fatalf("serve printed nothing for a minute; stderr %q", stderr)
		}
		return ""
	}
	addr := nl.Addr().String()
	if l := next(); !strings.HasPrefix(l, "listening on "+addr+" ") {
		t.Fatalf("serve printed %q, want it listening on the passed socket %s", l, addr)
	}
	pid := cmd.Process.Pid
	want := "serving 1 inherited listening sockets (from systemd) as pid " + strconv.Itoa(pid)
	if l := next(); l != want {
		t.Fatalf("serve printed %q, want %q", l, want)
	}
	notify.SetReadDeadline(time.Now().Add(time.Minute))
	buf := make([]byte, 256)
	n, err := notify.Read(buf)
	if got := string(buf[:n]); err != nil || got != "READY=1\nMAINPID="+strconv.Itoa(pid)+"\n" {
		t.Fatalf("notification %q, %v; want READY=1 and MAINPID=%d", got, err, pid)
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	testutil.EchoRoundTrips(t, c, 3)
	c.Close() // or the server's close lingers for its FIN
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v; stderr %q", err, stderr)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not exit within a minute of SIGTERM")
	}
	exited <- nil // for the cleanup
}

// TestServeListenFDsAbsent: --listen-fds without sockets passed exits 1
// saying so; LISTEN_FDS meant for another pid is not taken (serve binds
// --addr) and is unset.
func TestServeListenFDsAbsent(t *testing.T) {
	code, _, errOut := cli(t, "serve", "--listen-fds", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "--listen-fds: no sockets passed to this process") {
		t.Fatalf("serve --listen-fds without sockets: exit %d, stderr %q", code, errOut)
	}
	t.Setenv("LISTEN_FDS", "1")
	t.Setenv("LISTEN_PID", "1")
	s := startServe(t, "--addr", "127.0.0.1:0", "--loops", "1")
	if _, ok := os.LookupEnv("LISTEN_FDS"); ok {
		t.Error("LISTEN_FDS is still set")
	}
	c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testutil.EchoRoundTrips(t, c, 1)
}
