package backend

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/internal/testutil"
)

// TestUDPEcho: every UDP backend echoes each datagram, byte for byte, to
// the Go net client that sent it, and counts datagrams and bytes.
func TestUDPEcho(t *testing.T) {
	for _, b := range UDPNames() {
		t.Run(b, func(t *testing.T) {
			s := startConfig(t, b, Config{Addr: "127.0.0.1:0", Loops: 2, Proto: proto.Echo{}, UDP: true})
			var msgs [][]byte
			for seq, size := range []int{1, 16, 64, 1200, 1472, 9000, 60000} {
				msgs = append(msgs, proto.AppendPattern(nil, 1, uint64(seq), size))
			}
			sent, bytesSent := testutil.UDPEcho(t, s.Addr().String(), msgs)
			if sent > int64(len(msgs)) { // a datagram lost one way or the other: the counts cannot be known
				t.Logf("%d datagrams sent again; counters not checked", sent-int64(len(msgs)))
				return
			}
			want := Stats{DatagramsIn: sent, DatagramsOut: sent, BytesIn: bytesSent, BytesOut: bytesSent}
			if st := waitStats(s, want); st != want {
				t.Fatalf("stats %+v, want %+v", st, want)
			}
		})
	}
}

// TestUDPRefused: backends that cannot serve UDP, and protocols other
// than echo, are refused with a clear error.
func TestUDPRefused(t *testing.T) {
	for _, b := range Names() {
		if _, ok := udpBackends[b]; ok {
			continue
		}
		s, err := Start(context.Background(), b, Config{Addr: "127.0.0.1:0", Loops: 1, Proto: proto.Echo{}, UDP: true})
		var ne *NoUDPError
		if !errors.As(err, &ne) || ne.Name != b {
			if s != nil {
				s.Shutdown(context.Background())
			}
			t.Errorf("%s over UDP: %v, want a NoUDPError", b, err)
		}
	}
	if _, err := Start(context.Background(), "loop", Config{Addr: "127.0.0.1:0", Proto: proto.Discard{}, UDP: true}); err == nil {
		t.Error("loop served discard over UDP")
	}
	want := []string{"gnet", "loop", "loop-uring", "net", "serversocket", "serversocket-uring"}
	if got := UDPNames(); !slices.Equal(got, want) {
		t.Errorf("UDPNames() = %q, want %q", got, want)
	}
}
