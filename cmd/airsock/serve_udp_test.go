package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/backend"
	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/internal/testutil"
)

// udpEcho checks that count datagrams of size bytes come back from the
// UDP echo server at addr, and returns how many it sent.
func udpEcho(t *testing.T, addr string, count, size int) int {
	t.Helper()
	var msgs [][]byte
	for seq := range count {
		msgs = append(msgs, proto.AppendPattern(nil, 7, uint64(seq), size))
	}
	sent, _ := testutil.UDPEcho(t, addr, msgs)
	return int(sent)
}

// TestServeUDP: serve --udp echoes datagrams on every UDP backend, checked
// by a Go net client, and its stats line counts them.
func TestServeUDP(t *testing.T) {
	for _, b := range backend.UDPNames() {
		t.Run(b, func(t *testing.T) {
			if strings.HasSuffix(b, "-uring") {
				skipWithoutIOUring(t)
			}
			s := startServe(t, "--backend", b, "--udp", "--addr", "127.0.0.1:0", "--loops", "2", "--stats", "20ms")
			if !strings.Contains(s.listening, "proto=echo udp") {
				t.Errorf("listening line %q does not say udp", s.listening)
			}
			n := udpEcho(t, s.addr, 50, 1200)
			if n > 50 { // a datagram lost one way or the other: the counts cannot be known
				t.Skipf("%d datagrams sent again; stats not checked", n-50)
			}
			want := fmt.Sprintf("stats: datagrams in=%d out=%d dropped=0 bytes in=%d out=%d", n, n, n*1200, n*1200)
			deadline := time.Now().Add(5 * time.Second)
			for {
				l := s.line(t)
				if strings.HasPrefix(l, want) {
					break
				}
				if !strings.HasPrefix(l, "stats: datagrams") || time.Now().After(deadline) {
					t.Fatalf("got %q, want a line starting %q", l, want)
				}
			}
		})
	}
}

// TestServeUDPIO: --io applies to the loop over UDP too.
func TestServeUDPIO(t *testing.T) {
	skipWithoutIOUring(t)
	for _, io := range []string{"epoll", "io_uring"} {
		s := startServe(t, "--backend", "loop", "--udp", "--io", io, "--addr", "127.0.0.1:0", "--loops", "1")
		if !strings.HasSuffix(s.listening, "io="+io+")") {
			t.Errorf("serve --udp --io %s printed %q", io, s.listening)
		}
		udpEcho(t, s.addr, 5, 64)
		s.stop(t)
	}
}

// TestServeUDPRefused: backends that cannot serve UDP, and protocols
// other than echo, are refused with a clear usage error.
func TestServeUDPRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--backend", "nbio"}, "backend nbio cannot serve UDP"},
		{[]string{"--proto", "resp"}, "--udp serves only --proto echo"},
	} {
		code, _, errOut := cli(t, append([]string{"serve", "--udp", "--addr", "127.0.0.1:0"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve --udp %q: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}
