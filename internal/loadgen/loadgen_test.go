package loadgen

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
)

func TestClosedLoopVerified(t *testing.T) {
	for _, tc := range []struct {
		proto, op string
	}{{"echo", ""}, {"resp", "setget"}} {
		t.Run(tc.proto, func(t *testing.T) {
			addr := serve(t, tc.proto)
			var snaps []Snapshot
			r, err := run(t, Config{Addr: addr, Proto: tc.proto, RESPOp: tc.op, Conns: 20, Depth: 4, Size: 100,
				Duration: 500 * time.Millisecond, Warmup: 200 * time.Millisecond, Verify: true, Loops: 2,
				ProgressInterval: 100 * time.Millisecond,
				Progress:         func(s *Snapshot) { snaps = append(snaps, *s) }})
			if err != nil {
				t.Fatal(err)
			}
			if r.Conns != 20 || r.Errors != 0 || r.Failure != nil || r.Stopped {
				t.Fatalf("conns %d errors %d failure %v stopped %v", r.Conns, r.Errors, r.Failure, r.Stopped)
			}
			if r.Sent == 0 || r.Received != r.Sent || r.Lost != 0 {
				t.Fatalf("sent %d received %d lost %d", r.Sent, r.Received, r.Lost)
			}
			if got := r.Latency.TotalCount(); got != r.Received {
				t.Fatalf("latency count %d, want %d replies", got, r.Received)
			}
			if r.VerifiedBytes < r.BytesReceived || r.BytesReceived == 0 {
				t.Fatalf("verified %d bytes of %d received", r.VerifiedBytes, r.BytesReceived)
			}
			if tc.proto == "echo" && r.BytesReceived != r.Received*100 {
				t.Fatalf("%d bytes for %d echoes of 100", r.BytesReceived, r.Received)
			}
			// Whether a snapshot falls inside the 200 ms warmup depends on
			// how the machine schedules the run: not asserted; the ones
			// that do are checked below.
			if len(snaps) < 2 || !snaps[len(snaps)-1].Final {
				t.Fatalf("snapshots: %d, last final %v", len(snaps), len(snaps) > 0 && snaps[len(snaps)-1].Final)
			}
			var recorded int64
			for _, s := range snaps {
				recorded += s.Counts.Hist.TotalCount()
				if s.Warmup && s.Counts.Hist.TotalCount() != 0 {
					t.Fatal("a warmup interval has latencies recorded")
				}
			}
			if recorded != r.Received {
				t.Fatalf("intervals hold %d latencies, results %d", recorded, r.Received)
			}
		})
	}
}

// TestOpenLoopCount: 20,000 msgs/s for 2 s is 40,000 messages, within 2%,
// however coarse the loop's timers are.
func TestOpenLoopCount(t *testing.T) {
	addr := serve(t, "echo")
	// The warmup is not counted: the connections are open when it ends.
	r, err := run(t, Config{Addr: addr, Conns: 10, Rate: 20000, Duration: 2 * time.Second,
		Warmup: 200 * time.Millisecond, Verify: true, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent < 39200 || r.Sent > 40000 {
		t.Fatalf("sent %d messages, want 40000 within 2%%", r.Sent)
	}
	if r.Received != r.Sent || r.Latency.TotalCount() != r.Sent {
		t.Fatalf("sent %d, received %d, recorded %d", r.Sent, r.Received, r.Latency.TotalCount())
	}
}

func TestOpenLoopDiscard(t *testing.T) {
	addr := serve(t, "discard")
	// The warmup lets the connections open before the slots counted.
	r, err := run(t, Config{Addr: addr, Proto: "discard", Conns: 4, Rate: 5000, Size: 64,
		Duration: 400 * time.Millisecond, Warmup: 100 * time.Millisecond, Verify: true, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent < 1960 || r.Sent > 2000 || r.BytesSent != r.Sent*64 || r.Received != 0 || r.Lost != 0 {
		t.Fatalf("sent %d (%d bytes), received %d, lost %d", r.Sent, r.BytesSent, r.Received, r.Lost)
	}
	if _, err := run(t, Config{Addr: addr, Proto: "discard"}); err == nil {
		t.Fatal("a closed-loop discard run was accepted")
	}
}

func TestCorruptByte(t *testing.T) {
	const flip = 1000 // inside the 63rd 16-byte message
	addr := serveLoop(t, corruptEcho(flip, 0))
	r, err := run(t, Config{Addr: addr, Conns: 3, Depth: 2, Duration: 5 * time.Second, Verify: true, Loops: 1})
	var ve *VerifyError
	if !errors.As(err, &ve) || r == nil || r.Failure != ve {
		t.Fatalf("err %v, want a VerifyError in the results", err)
	}
	if ve.Offset != flip || ve.Conn > 2 {
		t.Fatalf("failure at conn %d offset %d, want offset %d", ve.Conn, ve.Offset, flip)
	}
	var me *proto.MismatchError
	if !errors.As(err, &me) || me.Conn != ve.Conn {
		t.Fatalf("%v: not the codec's mismatch", err)
	}
	if r.Duration >= 5*time.Second {
		t.Fatalf("run went on for %v after the failure", r.Duration)
	}
}

func TestLostBytes(t *testing.T) {
	const closeAt = 1000 + 5 // 62 whole replies and 5 bytes of the next
	addr := serveLoop(t, corruptEcho(-1, closeAt))
	_, err := run(t, Config{Addr: addr, Conns: 1, Depth: 4, Duration: 5 * time.Second, Verify: true, Loops: 1})
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Conn != 0 || ve.Offset != closeAt || !strings.Contains(err.Error(), "lost") {
		t.Fatalf("err %v, want bytes lost on conn 0 from offset %d", err, closeAt)
	}
}

func TestStopEarly(t *testing.T) {
	addr := serve(t, "echo")
	fds := testutil.OpenFDs(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := Run(ctx, Config{Addr: addr, Conns: 4, Duration: time.Minute, Loops: 1,
		ProgressInterval: 50 * time.Millisecond,
		Progress: func(s *Snapshot) {
			if s.Received > 100 {
				cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Stopped || r.Duration >= time.Minute || r.Received == 0 || r.Lost != 0 {
		t.Fatalf("stopped %v after %v with %d replies, %d lost", r.Stopped, r.Duration, r.Received, r.Lost)
	}
	if now := testutil.OpenFDs(t); now != fds {
		t.Fatalf("%d descriptors open after the run, %d before", now, fds)
	}
}

func TestNoServer(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)) // nothing listens there
	r, err := run(t, Config{Addr: addr, Conns: 5, Duration: time.Minute, Loops: 1})
	if err == nil || r == nil || r.ConnectErrors != 5 || r.Conns != 0 {
		t.Fatalf("err %v, results %+v: want every dial refused", err, r)
	}
	if r.Elapsed > 10*time.Second {
		t.Fatalf("a run with no connection lasted %v", r.Elapsed)
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Addr: "nowhere"},
		{Addr: "127.0.0.1:1", Proto: "gopher"},
		{Addr: "127.0.0.1:1", Proto: "resp", RESPOp: "flush"},
		{Addr: "127.0.0.1:1", RESPOp: "set"},
		{Addr: "127.0.0.1:1", Conns: -1},
		{Addr: "127.0.0.1:1", Sources: []string{"localhost"}},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// TestManyConnsFewGoroutines drives 2000 connections on two loops: the
// goroutine count stays that of the loops, not of the connections. The
// connections come from two source addresses, round-robin.
func TestManyConnsFewGoroutines(t *testing.T) {
	const conns = 2000
	var mu sync.Mutex
	sources := map[string]int{}
	addr := serveLoop(t, loop.Funcs{
		Open: func(c *loop.Conn) {
			mu.Lock()
			sources[c.RemoteAddr().(*net.TCPAddr).IP.String()]++
			mu.Unlock()
		},
		Data: func(c *loop.Conn) { b, _ := c.Next(-1); c.Write(b) },
	})
	base := runtime.NumGoroutine()
	maxG := 0
	r, err := run(t, Config{Addr: addr, Conns: conns, Duration: time.Second, Loops: 2, Verify: true,
		Sources: []string{"127.0.0.1", "127.0.0.2"}, ProgressInterval: 200 * time.Millisecond,
		Progress: func(s *Snapshot) {
			if s.Connected == conns {
				maxG = max(maxG, runtime.NumGoroutine())
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Conns != conns || r.Errors != 0 || r.Received == 0 {
		t.Fatalf("%d conns, %d errors, %d replies", r.Conns, r.Errors, r.Received)
	}
	if maxG == 0 || maxG > base+20 {
		t.Fatalf("%d goroutines with %d connections open (%d before)", maxG, conns, base)
	}
	mu.Lock()
	defer mu.Unlock()
	if sources["127.0.0.1"] != conns/2 || sources["127.0.0.2"] != conns/2 {
		t.Fatalf("connections by source: %v", sources)
	}
}
