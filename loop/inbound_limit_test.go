package loop

import (
	"testing"

	"github.com/airsock/airsock/internal/testutil"
)

// TestInboundLimit: a connection's InboundLimit is MaxInbound, and what a
// reservation adds while it holds.
func TestInboundLimit(t *testing.T) {
	e := newEngine(t, Config{Loops: 1, MaxInbound: 4 << 10})
	got := make(chan [2]int, 1)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		before := c.InboundLimit()
		if err := c.ReserveInbound(100 << 10); err != nil {
			t.Errorf("ReserveInbound: %v", err)
		}
		got <- [2]int{before, c.InboundLimit()}
		c.Discard(-1)
	}})
	nc := dialClient(t, "tcp", ln.Addr().String())
	nc.Write([]byte("x"))
	limits := testutil.Recv(t, got, "the limits")
	if limits != [2]int{4 << 10, 100 << 10} {
		t.Errorf("InboundLimit %d, then %d after reserving 100 KiB; want 4096, then 102400", limits[0], limits[1])
	}
}
