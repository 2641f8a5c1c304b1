package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/backend"
	"github.com/airsock/airsock/internal/leakcheck"
	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/loop"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// serve starts protocol name on the loop backend for the test.
func serve(t testing.TB, name string) string {
	t.Helper()
	srv, err := proto.NewServer(name, proto.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := backend.Serve(context.Background(), "loop", srv, "127.0.0.1:0", 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, s.Shutdown) })
	return s.Addr().String()
}

// serveLoop starts a loop engine serving h on 127.0.0.1:0 for the test.
func serveLoop(t *testing.T, h loop.Handler) string {
	t.Helper()
	e, err := loop.New(loop.Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, e.Shutdown) })
	ln, err := e.Listen("tcp", "127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String()
}

func shutdown(t testing.TB, f func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// run runs the generator with a deadline well past the run's own end.
func run(t *testing.T, cfg Config) (*Results, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Warmup+cfg.Duration+20*time.Second)
	defer cancel()
	return Run(ctx, cfg)
}

// corruptEcho echoes, flipping the byte at offset flip of every
// connection's stream; with closeAt > 0 it closes each connection once it
// has echoed closeAt bytes.
func corruptEcho(flip, closeAt int64) loop.Handler {
	return loop.Funcs{
		Open: func(c *loop.Conn) { c.SetContext(new(int64)) },
		Data: func(c *loop.Conn) {
			off := c.Context().(*int64)
			b, _ := c.Next(-1)
			if closeAt > 0 && *off+int64(len(b)) >= closeAt {
				b = b[:closeAt-*off]
				defer c.Close()
			}
			if flip >= *off && flip < *off+int64(len(b)) {
				b[flip-*off] ^= 0x20
			}
			*off += int64(len(b))
			c.Write(b)
		},
	}
}
