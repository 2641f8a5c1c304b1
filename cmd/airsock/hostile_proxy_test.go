package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// Hostile PROXY headers against `airsock serve --proxy-protocol required`
// (issue 15), the server in a child process so that its RSS can be read.
// The bounds are docs/operations.md's and docs/limits.md's.

// proxyPing sends PING on c (whose header went first) and expects PONG.
func proxyPing(t *testing.T, c net.Conn, r *bufio.Reader) {
	t.Helper()
	c.SetDeadline(time.Now().Add(opTimeout))
	fmt.Fprint(c, "*1\r\n$4\r\nPING\r\n")
	if line, err := r.ReadString('\n'); err != nil || line != "+PONG\r\n" {
		t.Fatalf("probe: %q, %v", line, err)
	}
}

// TestHostileProxyHeaders: 2,000 trusted clients each send all but the
// last bytes of the largest v2 header allowed (16 + 4,096 bytes) and stall;
// each holds its input ring (8 KiB for 4,112 bytes) and its connection's
// state, so the bound asserted is twice 9 KiB a connection. A probe
// (with its own header) is served meanwhile, the timeout (5 s) closes every
// staller, 1,000 malformed headers close only their connections, and RSS
// returns near the baseline.
func TestHostileProxyHeaders(t *testing.T) {
	hostileChildHook()
	if testing.Short() {
		t.Skip("2,000 stalled headers; skipped under -short")
	}
	const (
		stallers  = 2000
		perConn   = 2 * (8<<10 + 1<<10)
		afterward = 24 << 20
	)
	srv := startChild(t, "TestHostileProxyHeaders", "--proto", "resp", "--loops", "1", "--addr", "127.0.0.1:0",
		"--proxy-protocol", "required", "--metrics", "127.0.0.1:0")
	var url string
	select {
	case line := <-srv.lines:
		url, _ = strings.CutPrefix(line, "metrics on ")
	case <-time.After(10 * time.Second):
		t.Fatal("no metrics line")
	}
	probe := testutil.DialRcvbuf(t, srv.addr, 0)
	defer probe.Close()
	fmt.Fprint(probe, "PROXY TCP4 192.0.2.1 192.0.2.2 1000 6379\r\n")
	pr := bufio.NewReader(probe)
	proxyPing(t, probe, pr)
	base := srv.rss()
	s := sampleRSS(srv.pid)
	defer s.Stop()

	// The largest v2 header there may be, less its last byte.
	partial := append([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11"), 0, 0)
	binary.BigEndian.PutUint16(partial[14:], 4096)
	partial = append(partial, make([]byte, 4095)...)
	attackers := make([]net.Conn, 0, stallers)
	defer func() {
		for _, c := range attackers {
			c.Close()
		}
	}()
	started := time.Now()
	for range stallers {
		c := testutil.DialRcvbuf(t, srv.addr, 0)
		attackers = append(attackers, c)
		c.SetDeadline(time.Now().Add(opTimeout))
		if _, err := c.Write(partial); err != nil {
			t.Fatalf("an attacker's write: %v", err)
		}
	}
	proxyPing(t, probe, pr)
	scrapeUntil(t, url, func(f metricsFamilies) bool {
		return sum(f, "airsock_received_bytes_total", nil) >= stallers*float64(len(partial))
	})
	held := srv.rss()
	peak := max(held, s.Peak())
	t.Logf("%d stalled headers of %d bytes: RSS baseline %s, held %s, peak %s (%.1f KiB a connection; bound %d KiB)",
		stallers, len(partial), mib(base), mib(held), mib(peak), float64(peak-base)/1024/stallers, perConn>>10)
	if hostileRace {
		t.Log("RSS bound not checked under -race")
	} else if peak-base > stallers*perConn {
		t.Errorf("RSS grew by %s for %d stalled headers, above the bound of %s", mib(peak-base), stallers, mib(stallers*perConn))
	}

	// The timeout closes each staller: its read ends.
	for _, c := range attackers {
		c.SetReadDeadline(time.Now().Add(opTimeout))
		if n, err := c.Read(make([]byte, 1)); n > 0 || err == nil {
			t.Fatalf("a staller read %d bytes, %v; want its connection closed", n, err)
		}
	}
	t.Logf("stallers closed by the header timeout %v after the first connected", time.Since(started).Round(100*time.Millisecond))
	proxyPing(t, probe, pr)

	// A flood of malformed headers: each closes its own connection.
	for i := range 1000 {
		c := testutil.DialRcvbuf(t, srv.addr, 0)
		c.SetDeadline(time.Now().Add(opTimeout))
		fmt.Fprintf(c, "PROXY TCP4 999.0.0.%d 1.2.3.4 1 2\r\n", i)
		if n, err := c.Read(make([]byte, 1)); n > 0 || err == nil {
			t.Fatalf("a malformed header got %d bytes, %v; want its connection closed", n, err)
		}
		c.Close()
	}
	f := scrapeUntil(t, url, func(f metricsFamilies) bool { return sum(f, "airsock_proxy_malformed_total", nil) == 1000 })
	if got := sum(f, "airsock_connections_closed_total", map[string]string{"reason": "limit"}); got != stallers {
		t.Errorf("%v connections closed for a limit, want the %d stallers", got, stallers)
	}
	proxyPing(t, probe, pr)
	srv.alive(t)

	for _, c := range attackers {
		c.Close()
	}
	attackers = nil
	srv.rssBack(t, "proxy", base, afterward, !hostileRace)
}
