package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// freePort returns a loopback port nobody listens on now (HAProxy's
// frontends bind it a moment later).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startHAProxy runs haproxy in the foreground with cfg until stop is
// called or t ends.
func startHAProxy(t *testing.T, bin, cfg string) (stop func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			if t.Failed() {
				t.Logf("haproxy's output:\n%s", out)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// dialFrom connects to addr from the loopback address src, retrying while
// nothing listens yet (HAProxy binds its frontends after it starts).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := d.Dial("tcp", addr)
		if err == nil {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			t.Cleanup(func() { c.Close() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s from %s: %v", addr, src, err)
		}
		time.Sleep(20 * time.Millisecond) // a connect refused until haproxy listens: nothing to await
	}
}

// clientInfo sends CLIENT INFO on c and returns the reply's line.
func clientInfo(t *testing.T, c net.Conn) string {
	t.Helper()
	fmt.Fprint(c, "*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n")
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil { // $<length>
		t.Fatalf("CLIENT INFO: %v", err)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("CLIENT INFO: %v", err)
	}
	r.ReadString('\n') // the bulk's CRLF
	return strings.TrimSpace(line)
}

// haproxyConfig has two frontends, on the ports of its first two
// arguments, in front of the server at the third: one sends PROXY v2
// headers, the other v1; each health-checks the server with a header and a
// Redis PING.
const haproxyConfig = `global
	log stderr format raw local0 err
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend v2
	bind 127.0.0.1:%[1]d
	default_backend airsock_v2
frontend v1
	bind 127.0.0.1:%[2]d
	default_backend airsock_v1
backend airsock_v2
	option redis-check
	server s1 %[3]s send-proxy-v2 check check-send-proxy inter 200ms
backend airsock_v1
	option redis-check
	server s1 %[3]s send-proxy check check-send-proxy inter 200ms
`

// TestHAProxySendsProxy: a real HAProxy in front of `serve --proxy-protocol
// required` (on loop and serversocket), one frontend with send-proxy-v2 and one with send-proxy, each
// health-checking the server with a PROXY header and a Redis PING. Clients
// from 127.0.0.2 to 127.0.0.5 connect through it and the server reports
// their own addresses in CLIENT INFO (and to redis-cli when it is there),
// not HAProxy's; a client that goes straight to the server without a header
// is refused. The metrics show the headers taken, no panic, and no
// connection left once HAProxy is gone.
func TestHAProxySendsProxy(t *testing.T) {
	bin := debianTool(t, "haproxy", "haproxy")
	for _, b := range []string{"loop", "serversocket"} {
		t.Run(b, func(t *testing.T) {
			s := startServe(t, "--backend", b, "--proto", "resp", "--addr", "127.0.0.1:0", "--loops", "2", "--proxy-protocol", "required", "--metrics", "127.0.0.1:0")
			url, _ := strings.CutPrefix(s.line(t), "metrics on ")
			v2, v1 := freePort(t), freePort(t)
			cfg := fmt.Sprintf(haproxyConfig, v2, v1, s.addr)
			stopHAProxy := startHAProxy(t, bin, cfg)

			for i, front := range []int{v2, v1, v2, v1} {
				src := fmt.Sprintf("127.0.0.%d", i+2)
				c := dialFrom(t, src, fmt.Sprintf("127.0.0.1:%d", front))
				info := clientInfo(t, c)
				want := fmt.Sprintf("addr=%s laddr=127.0.0.1:%d ", c.LocalAddr(), front)
				if !strings.Contains(info, want) {
					t.Errorf("through port %d from %s: CLIENT INFO %q, want %q", front, src, info, want)
				}
			}
			if cli, err := exec.LookPath("redis-cli"); err == nil {
				out, err := exec.Command(cli, "-h", "127.0.0.1", "-p", fmt.Sprint(v2), "CLIENT", "INFO").CombinedOutput()
				if err != nil || !strings.Contains(string(out), "addr=127.0.0.1:") || !strings.Contains(string(out), fmt.Sprintf("laddr=127.0.0.1:%d", v2)) {
					t.Errorf("redis-cli CLIENT INFO through HAProxy: %q, %v", out, err)
				}
			}
			direct := dialFrom(t, "127.0.0.1", s.addr)
			fmt.Fprint(direct, "*1\r\n$4\r\nPING\r\n")
			if n, err := direct.Read(make([]byte, 16)); n > 0 || err == nil {
				t.Errorf("a client without a header was answered")
			}

			// Health checks kept coming meanwhile (every 200 ms per backend).
			fams := scrapeUntil(t, url, func(f metricsFamilies) bool {
				return sum(f, "airsock_proxy_headers_total", nil) >= 8 && sum(f, "airsock_proxy_rejected_total", nil) >= 1
			})
			if p := sum(fams, "airsock_panics_total", nil); p != 0 {
				t.Errorf("%v panics", p)
			}
			if m := sum(fams, "airsock_proxy_malformed_total", nil); m != 0 {
				t.Errorf("%v malformed headers from HAProxy", m)
			}
			for _, c := range []net.Conn{direct} {
				c.Close()
			}
			stopHAProxy()
			scrapeUntil(t, url, func(f metricsFamilies) bool { return sum(f, "airsock_connections_open", nil) == 0 })
		})
	}
}
