// The descriptor limit and /proc are read the Linux way.

//go:build linux

package loop

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAcceptBacksOffAtFdLimit runs an echo server in a child process whose
// descriptor limit is a few above what it has open, then connects past it.
// The server must keep running, back off instead of spinning, and serve the
// waiting connections once descriptors are free again.
func TestAcceptBacksOffAtFdLimit(t *testing.T) {
	if os.Getenv("AIRSOCK_EMFILE_CHILD") == "1" {
		emfileChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptBacksOffAtFdLimit$")
	cmd.Env = append(os.Environ(), "AIRSOCK_EMFILE_CHILD=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	backoffs := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "backing off") {
				backoffs <- sc.Text()
			}
		}
	}()
	addrLine, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child did not report its address: %v", err)
	}
	addr := strings.TrimSpace(addrLine)
	go func() { exited <- cmd.Wait() }()

	// Connect one client at a time until the server reports EMFILE.
	var served []net.Conn
	var blocked net.Conn
	for i := 0; i < 64 && blocked == nil; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.Write([]byte("x"))
		echoed := make(chan error, 1)
		go func() {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err := io.ReadFull(c, make([]byte, 1))
			echoed <- err
		}()
		select {
		case err := <-echoed:
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			served = append(served, c)
		case <-backoffs:
			blocked = c
			// The blocked client's echo comes once a descriptor frees up.
			defer func() {
				if err := <-echoed; err != nil {
					t.Errorf("blocked client never served: %v", err)
				}
			}()
		case err := <-exited:
			t.Fatalf("server exited at the descriptor limit: %v", err)
		}
	}
	if blocked == nil {
		t.Fatal("64 clients served: the descriptor limit was never reached")
	}
	if len(served) == 0 {
		t.Fatal("no client served before the limit")
	}
	// Free one descriptor: the server's next retry accepts the blocked client.
	served[0].Close()
	// While we wait, back-off lines must stay few: a spinning accept loop
	// would log thousands.
	deadline := time.After(2 * time.Second)
	count := 1
wait:
	for {
		select {
		case <-backoffs:
			count++
		case <-deadline:
			break wait
		}
	}
	if count > 30 {
		t.Errorf("%d back-off reports in about 2 s: the accept loop spins", count)
	}
	select {
	case err := <-exited:
		t.Fatalf("server exited: %v", err)
	default:
	}
}

// emfileChild is the server side: echo with a descriptor limit a few above
// what is open, until stdin closes.
func emfileChild() {
	fds, _ := os.ReadDir("/proc/self/fd")
	lim := uint64(len(fds) + 8)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: lim, Max: lim}); err != nil {
		panic(err)
	}
	serveEchoChild(Config{Loops: 1, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
}
