package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/leakcheck"
	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestRigEveryBackend runs a few batches on every backend and checks, from
// the server's own counters, that exactly the requested bytes crossed.
func TestRigEveryBackend(t *testing.T) {
	const conns, size, depth = 3, 700, 4
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			r := newRig(t, be, conns, size, depth)
			total := 0
			for _, n := range []int{1, 5, 100} {
				if err := r.client.run(n); err != nil {
					t.Fatalf("batch of %d: %v", n, err)
				}
				total += n
			}
			want := int64(total * size)
			deadline := time.Now().Add(5 * time.Second)
			st := r.server.Stats()
			for (st.BytesIn != want || st.BytesOut != want) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond) // net counts a write after the peer may read it
				st = r.server.Stats()
			}
			if st.BytesIn != want || st.BytesOut != want || st.Open != conns {
				t.Fatalf("server stats %+v; want %d bytes each way on %d connections", st, want, conns)
			}
		})
	}
}

// TestClientCatchesCorruption: a server that flips one byte of one
// connection's stream fails the batch with the codec's mismatch.
func TestClientCatchesCorruption(t *testing.T) {
	e, err := loop.New(loop.Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Shutdown(ctx)
	}()
	const flipAt = 1000
	ln, err := e.Listen("tcp", "127.0.0.1:0", loop.Funcs{
		Open: func(c *loop.Conn) { c.SetContext(new(int)) },
		Data: func(c *loop.Conn) {
			off := c.Context().(*int)
			b, _ := c.Next(-1)
			if i := flipAt - *off; i >= 0 && i < len(b) {
				b[i] ^= 0x40
			}
			*off += len(b)
			c.Write(b)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := dialClient(ln.Addr().String(), 1, 64, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.close()
	err = cl.run(100)
	var me *proto.MismatchError
	if !errors.As(err, &me) || me.StreamOffset != flipAt {
		t.Fatalf("run: %v; want a mismatch at stream offset %d", err, flipAt)
	}
}
