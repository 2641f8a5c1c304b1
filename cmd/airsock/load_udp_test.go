package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/airsock/airsock/internal/backend"
	"github.com/airsock/airsock/loop"
)

// TestLoadUDP: load --udp against serve --udp on every UDP backend, closed
// loop and open loop at a modest rate: every datagram back and right.
func TestLoadUDP(t *testing.T) {
	for _, b := range backend.UDPNames() {
		for _, mode := range []struct {
			name string
			args []string
		}{
			{"closed", []string{"-c", "8", "--depth", "4", "--size", "1200"}},
			{"open", []string{"-c", "8", "--rate", "2000", "--size", "64"}},
		} {
			t.Run(b+"/"+mode.name, func(t *testing.T) {
				if strings.HasSuffix(b, "-uring") {
					skipWithoutIOUring(t)
				}
				s := startServe(t, "--backend", b, "--udp", "--addr", "127.0.0.1:0", "--loops", "1")
				args := append([]string{"--udp", "--addr", s.addr, "--duration", "500ms", "--warmup", "100ms", "--loops", "1"}, mode.args...)
				code, r, errOut := loadJSONOut(t, args...)
				if code != 0 {
					t.Fatalf("load exited %d: %s", code, errOut)
				}
				if r.DatagramCounts == nil || r.Conns != 8 || r.Errors != 0 || r.Failure != "" || r.Sent == 0 {
					t.Fatalf("load: %+v", r)
				}
				if r.Lost != 0 || r.Corrupt != 0 || r.Duplicated != 0 || r.Received != r.Sent || r.Count != r.Received || r.VerifiedBytes == 0 {
					t.Fatalf("sent %d received %d recorded %d lost %d corrupt %d duplicated %d verified %d",
						r.Sent, r.Received, r.Count, r.Lost, r.Corrupt, r.Duplicated, r.VerifiedBytes)
				}
			})
		}
	}
}

// TestLoadUDPCorrupt: a UDP echo server that flips a byte of some
// datagrams is found out: load --udp counts them corrupt, prints the
// counts and exits 1 naming a flow and datagram.
func TestLoadUDPCorrupt(t *testing.T) {
	n := 0
	pl, err := testEngine(t).ListenPacket("udp", "127.0.0.1:0", loop.PacketFuncs{Packet: func(pc *loop.PacketConn, d *loop.Datagram) {
		if n++; n%50 == 0 {
			d.Data[20] ^= 0x80
		}
		pc.WriteTo(d.Data, d.From)
	}})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "load", "--udp", "--addr", pl.Addr().String(), "-c", "2", "--depth", "2", "--size", "64",
		"--duration", "300ms", "--warmup", "0s", "--loops", "1")
	if code != 1 || !strings.Contains(errOut, "verification failed on flow") || !strings.Contains(errOut, "byte 20") {
		t.Fatalf("load exited %d, stderr %q; want 1 naming a flow and byte 20", code, errOut)
	}
	m := regexp.MustCompile(`corrupt (\d+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "datagrams: loss ") {
		t.Fatalf("stdout %q lacks the datagram counts", out)
	}
	if c, _ := strconv.Atoi(m[1]); c == 0 {
		t.Fatalf("no datagram counted corrupt: %q", out)
	}
}

// TestLoadUDPUsage: what --udp cannot take.
func TestLoadUDPUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--proto", "resp"},
		{"--size", "8"},
		{"--source", "127.0.0.1"},
	} {
		code, _, errOut := cli(t, append([]string{"load", "--udp", "--addr", "127.0.0.1:9"}, args...)...)
		if code != 2 || !strings.Contains(errOut, "--udp needs") {
			t.Errorf("load --udp %q: exit %d, stderr %q; want 2", args, code, errOut)
		}
	}
}
