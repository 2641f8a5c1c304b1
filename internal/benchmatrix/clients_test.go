package benchmatrix

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/backend"
	"github.com/airsock/airsock/internal/leakcheck"
	"github.com/airsock/airsock/internal/proto"
	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// echoServer serves echo on the named backend at 127.0.0.1:0 until the test
// ends.
func echoServer(t *testing.T, name string) backend.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := backend.Serve(ctx, name, proto.Echo{}, "127.0.0.1:0", 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

// waitOpen polls the server's open connections until they equal want.
func waitOpen(t *testing.T, s backend.Server, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Open != want {
		if time.Now().After(deadline) {
			t.Fatalf("server has %d connections open, want %d", s.Stats().Open, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIdleClient(t *testing.T) {
	s := echoServer(t, "loop")
	const n = 40
	c, err := openIdle(context.Background(), s.Addr().String(), n, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitOpen(t, s, n)
	if st := s.Stats(); st.BytesIn != 0 {
		t.Fatalf("idle connections sent %d bytes", st.BytesIn)
	}
	if err := c.echoAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.BytesIn != n*idleEchoSize || c.echoed.Load() != n {
		t.Fatalf("server read %d bytes, client saw %d echoes; want %d and %d", st.BytesIn, c.echoed.Load(), n*idleEchoSize, n)
	}
	c.close()
	waitOpen(t, s, 0)
}

// TestIdleClientCatchesCorruption: an echo with one wrong byte fails.
func TestIdleClientCatchesCorruption(t *testing.T) {
	e, err := loop.New(loop.Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ln, err := e.Listen("tcp", "127.0.0.1:0", loop.Funcs{Data: func(c *loop.Conn) {
		b, _ := c.Next(-1)
		b[len(b)-1] ^= 1
		c.Write(b)
	}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := openIdle(context.Background(), ln.Addr().String(), 3, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := c.echoAll(context.Background()); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("echoAll: %v, want a differing byte", err)
	}
}

func TestChurnClient(t *testing.T) {
	s := echoServer(t, "net")
	sum, err := churn(context.Background(), s.Addr().String(), 4, 50*time.Millisecond, 300*time.Millisecond, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Cycles < 1 || sum.CyclesPerS <= 0 || sum.DialErrors != 0 || sum.ConnErrors != 0 || sum.P50us <= 0 {
		t.Fatalf("summary %+v", sum)
	}
	// Every completed cycle was one accepted connection with one echo.
	waitOpen(t, s, 0)
	if st := s.Stats(); st.Accepted < sum.VerifiedOps || st.BytesIn != sum.VerifiedOps*churnEchoSize {
		t.Fatalf("server stats %+v for %d verified echoes", st, sum.VerifiedOps)
	}
}

// TestChurnNoServer: connects that all fail end the run with an error
// instead of spinning.
func TestChurnNoServer(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	_, err := churn(context.Background(), addr, 2, 0, 5*time.Second, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "connects failed") {
		t.Fatalf("churn against nothing: %v", err)
	}
}
