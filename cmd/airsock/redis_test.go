package main

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/backend"
)

// redisTool finds redis-cli or redis-benchmark (debianTool).
func redisTool(t *testing.T, name string) string { return debianTool(t, name, "redis-tools") }

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestRedisTools: redis-cli and redis-benchmark work against serve --proto
// resp on every backend.
func TestRedisTools(t *testing.T) {
	cliPath := redisTool(t, "redis-cli")
	benchPath := redisTool(t, "redis-benchmark")
	for _, b := range backend.Names() { // loop, gnet, net, serversocket
		t.Run(b, func(t *testing.T) {
			s := startServe(t, "--backend", b, "--proto", "resp", "--addr", "127.0.0.1:0", "--loops", "1")
			host, port, _ := net.SplitHostPort(s.addr)
			tool := func(path string, args ...string) string {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				out, err := exec.CommandContext(ctx, path, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("%s %q: %v\n%s", path, args, err, out)
				}
				return strings.TrimSpace(string(out))
			}
			for _, step := range []struct {
				args []string
				want string
			}{
				{[]string{"PING"}, "PONG"},
				{[]string{"SET", "greeting", "hello world"}, "OK"},
				{[]string{"GET", "greeting"}, "hello world"},
				{[]string{"INCR", "counter"}, "1"},
				{[]string{"INCR", "counter"}, "2"},
				{[]string{"DEL", "greeting", "counter", "missing"}, "2"},
				{[]string{"GET", "greeting"}, ""},
			} {
				if got := tool(cliPath, step.args...); got != step.want {
					t.Fatalf("redis-cli %q: %q, want %q", step.args, got, step.want)
				}
			}
			out := tool(benchPath, "-t", "ping,set,get", "-n", "2000", "-P", "16", "-c", "20", "-q")
			for _, test := range []string{"PING_INLINE", "PING_MBULK", "SET", "GET"} {
				if !strings.Contains(out, test+": ") {
					t.Fatalf("redis-benchmark reported no %s:\n%s", test, out)
				}
			}
			if n := strings.Count(out, "requests per second"); n != 4 {
				t.Fatalf("redis-benchmark: %d rates, want 4:\n%s", n, out)
			}
		})
	}
}
