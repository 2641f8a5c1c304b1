package loadgen

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsock/airsock/loop"
)

// TestReconnectEvery: with churn, each connection carries its share of
// requests and gives way to a successor, open loop and closed loop: the
// server sees a new connection per ReconnectEvery requests, the client
// counts no error and loses no reply, and an open-loop run still sends its
// rate (the successors take up their predecessors' slots).
func TestReconnectEvery(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"open", Config{Conns: 4, Rate: 4000, Duration: time.Second, Warmup: 200 * time.Millisecond}},
		{"closed", Config{Conns: 4, Depth: 3, Duration: 500 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opened, clientClosed atomic.Int64
			addr := serveLoop(t, loop.Funcs{
				Open: func(*loop.Conn) { opened.Add(1) },
				Data: func(c *loop.Conn) { b, _ := c.Next(-1); c.Write(b) },
				Close: func(_ *loop.Conn, err error) {
					if err != nil { // io.EOF: the generator closed it (nil would be the server's own close)
						clientClosed.Add(1)
					}
				},
			})
			const every = 50
			cfg := tc.cfg
			cfg.Addr, cfg.ReconnectEvery, cfg.Verify, cfg.Loops, cfg.Size = addr, every, true, 2, 32
			r, err := run(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d connections, %d sent, %d received, %d late", r.Conns, r.Sent, r.Received, r.Late)
			if r.Errors != 0 || r.Lost != 0 || r.Received != r.Sent || r.VerifiedBytes == 0 {
				t.Fatalf("errors %d lost %d sent %d received %d verified %d", r.Errors, r.Lost, r.Sent, r.Received, r.VerifiedBytes)
			}
			// Every connection but those open at the end carried its 50.
			total := r.Sent
			if cfg.Rate > 0 {
				want := int64(cfg.Rate * cfg.Duration.Seconds())
				if total < want*98/100 || total > want {
					t.Fatalf("sent %d in the window, want %d within 2%%", total, want)
				}
			}
			if least := total/every - 1; int64(r.Conns) < least {
				t.Fatalf("%d connections for %d requests, want at least %d (one per %d)", r.Conns, total, least, every)
			}
			if n := opened.Load(); n != int64(r.Conns) {
				t.Fatalf("the server saw %d connections, the generator opened %d", n, r.Conns)
			}
			if n := clientClosed.Load(); n < int64(r.Conns-cfg.Conns) {
				t.Fatalf("%d connections closed by the generator, want at least %d", n, r.Conns-cfg.Conns)
			}
		})
	}
}

// TestFirstBudgetsSpread: the first connections' budgets are spread over
// 1..ReconnectEvery, so that the lanes' successors are not dialled in one
// burst; successors carry the whole of it.
func TestFirstBudgetsSpread(t *testing.T) {
	g := &generator{cfg: Config{Conns: 20, ReconnectEvery: 10}}
	seen := map[int]int{}
	for id := range uint64(20) {
		seen[g.firstBudget(&client{id: id})]++
	}
	for b := 1; b <= 10; b++ {
		if seen[b] != 2 {
			t.Fatalf("first budgets %v: want each of 1..10 twice", seen)
		}
	}
	if b := g.firstBudget(&client{id: 7, carried: true}); b != 10 {
		t.Fatalf("a successor's budget is %d, want 10", b)
	}
	g.cfg.ReconnectEvery = 0
	if b := g.firstBudget(&client{id: 7}); b != 0 {
		t.Fatalf("without churn the budget is %d, want 0 (unlimited)", b)
	}
}
