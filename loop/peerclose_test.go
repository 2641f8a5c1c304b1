package loop

import (
	"fmt"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// TestPausedConnectionsHearTheirPeersGo: echo clients that send without
// reading until the server has paused them (output at the high mark), then
// close, are all closed by the server promptly. Under io_uring their
// output sat in sends whose failure the loop, watching nothing, once never
// heard of: the connections stayed open for good.
func TestPausedConnectionsHearTheirPeersGo(t *testing.T) {
	const clients = 50
	e := newEngine(t, Config{Loops: 1})
	closed := make(chan error, clients)
	ln := listen(t, e, "tcp", "127.0.0.1:0", Funcs{
		Data: func(c *Conn) {
			b, _ := c.Next(-1)
			c.Write(b)
		},
		Close: func(_ *Conn, err error) { closed <- err },
	})
	flood := testutil.StartFlood(t, ln.Addr().String(), clients, 16<<20)
	if _, stalled := flood.WaitStalled(60 * time.Second); !stalled {
		t.Fatal("the clients' writes did not stall: the server never paused them")
	}
	flood.Close()
	for i := range clients {
		testutil.Recv(t, closed, fmt.Sprintf("OnClose of every client's connection (%d so far)", i))
	}
}
