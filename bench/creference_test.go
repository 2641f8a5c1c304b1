package bench

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/loadgen"
	"github.com/airsock/airsock/internal/testutil"
)

// TestCReferenceServers builds the C echo servers of bench/c, the floor of
// the matrix, and checks that they echo every byte, pipelined and with
// messages larger than one of uring_echo's buffers. A server that does not
// compile fails; only a missing gcc or liburing-dev skips (bench/c/build.sh
// installs them).
func TestCReferenceServers(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found: bench/c/build.sh installs it")
	}
	for _, name := range []string{"epoll_echo", "uring_echo"} {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat("/usr/include/liburing.h"); name == "uring_echo" && err != nil {
				t.Skip("liburing-dev not installed: bench/c/build.sh installs it")
			}
			bin := filepath.Join(t.TempDir(), name)
			// The flags of bench/c/build.sh: a warning fails the test too.
			args := []string{"-O2", "-Wall", "-Wextra", "-Werror", "-o", bin, filepath.Join("c", name+".c")}
			if name == "uring_echo" {
				args = append(args, "-luring")
			}
			if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
				t.Fatalf("building %s: %v\n%s", name, err, out)
			}
			addr := startC(t, bin)
			for _, cfg := range []loadgen.Config{
				{Conns: 20, Depth: 8, Size: 512},
				{Conns: 4, Depth: 4, Size: 16 << 10},
			} {
				cfg.Addr, cfg.Verify, cfg.Loops = addr, true, 1
				cfg.Duration = time.Second
				res, err := loadgen.Run(context.Background(), cfg)
				if err != nil {
					t.Fatalf("%d B x depth %d: %v", cfg.Size, cfg.Depth, err)
				}
				if res.Errors != 0 || res.Lost != 0 || res.VerifiedBytes == 0 {
					t.Fatalf("%d B x depth %d: %d errors, %d lost, %d received, %d bytes verified",
						cfg.Size, cfg.Depth, res.Errors, res.Lost, res.Received, res.VerifiedBytes)
				}
			}
		})
	}
}

// startC runs a C server on a free loopback port, returns its address once
// it says it listens, and stops it with SIGINT at the end of the test.
func startC(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		if err := testutil.Recv(t, exited, filepath.Base(bin)+" to exit"); err != nil {
			t.Errorf("%s exited: %v", filepath.Base(bin), err)
		}
	})
	line := testutil.Recv(t, lines, filepath.Base(bin)+"'s listening line")
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "listening" {
		t.Fatalf("%s printed %q, want \"listening on ADDR:PORT\"", filepath.Base(bin), line)
	}
	return f[2]
}
