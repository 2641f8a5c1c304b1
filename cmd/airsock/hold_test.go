package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/loadgen"
	"github.com/airsock/airsock/internal/testutil"
)

// TestHoldConnections holds many connections with traffic against `airsock
// serve` running in a child process (so each side stays under the
// descriptor limit): every reply verified, no error, the server's RSS
// reported. Short in CI; by hand:
//
//	AIRSOCK_HOLD_CONNS=10000 AIRSOCK_HOLD=60s go test -run TestHoldConnections -v ./cmd/airsock
func TestHoldConnections(t *testing.T) {
	if args := os.Getenv("AIRSOCK_HOLD_SERVER"); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		os.Exit(run(ctx, strings.Fields(args), os.Stdout, os.Stderr))
	}
	conns, hold, warmup := 1000, 3*time.Second, 3*time.Second // CI: modest, and time to connect under -race
	if s := os.Getenv("AIRSOCK_HOLD_CONNS"); s != "" {
		conns, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("AIRSOCK_HOLD"); s != "" {
		hold, _ = time.ParseDuration(s)
		warmup = time.Second
	}
	backendName := "serversocket"
	if s := os.Getenv("AIRSOCK_HOLD_BACKEND"); s != "" {
		backendName = s
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldConnections$")
	cmd.Env = append(os.Environ(), "AIRSOCK_HOLD_SERVER=serve --proto echo --loops 1 --addr 127.0.0.1:0 --backend "+backendName)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	var addr string
	if _, err := fmt.Sscanf(line, "listening on %s", &addr); err != nil {
		t.Fatalf("server said %q: %v", line, err)
	}
	go func() { exited <- cmd.Wait() }()
	base, err := testutil.RSS(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}

	// Two source addresses keep 10,000 connections clear of one address's
	// ephemeral ports; the rate keeps every connection busy a few times a second.
	var peak int64
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Addr:        addr,
		Conns:       conns,
		Size:        64,
		Rate:        float64(conns) * 2,
		Duration:    hold,
		Warmup:      warmup,
		ConnectRate: 5000,
		Sources:     []string{"127.0.0.1", "127.0.0.2"},
		Verify:      true,
		Loops:       2,
		Progress: func(*loadgen.Snapshot) {
			if n, err := testutil.RSS(cmd.Process.Pid); err == nil {
				peak = max(peak, n)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d conns held %v: %d msgs, %d errors, %d lost, %d verified bytes; server RSS %d MiB at rest, peak %d MiB (%.1f KiB per connection)",
		backendName, res.Conns, hold, res.Received, res.Errors, res.Lost, res.VerifiedBytes,
		base>>20, peak>>20, float64(peak-base)/1024/float64(conns))
	if res.Conns != conns || res.ConnectErrors != 0 || res.Errors != 0 || res.Lost != 0 || res.Failure != nil {
		t.Fatalf("want %d clean connections: got %d, connect errors %d, errors %d, lost %d, failure %v",
			conns, res.Conns, res.ConnectErrors, res.Errors, res.Lost, res.Failure)
	}
	if res.Received == 0 {
		t.Fatal("no traffic")
	}
	select {
	case err := <-exited:
		t.Fatalf("server exited: %v", err)
	default:
	}
}
