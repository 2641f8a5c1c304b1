package loop

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"

	"go.uber.org/goleak"
)

// Shared helpers of the package's tests. Every wait is bounded by
// waitTimeout; every test engine is shut down by t.Cleanup; TestMain then
// checks that no goroutine outlived its test.

// TestMain runs the package's tests on every backend this machine has
// (testutil.EveryBackend), each run checked for leaked goroutines.
func TestMain(m *testing.M) {
	testutil.EveryBackend(m, func(m *testing.M) { goleak.VerifyTestMain(m) }, BackendAvailable)
}

// waitTimeout bounds every wait for an event that should come promptly.
const waitTimeout = 10 * time.Second

// ioDeadline bounds a test client's whole exchange.
const ioDeadline = 30 * time.Second

// quiet is a logger for tests that provoke logged trouble (panics).
var quiet = slog.New(slog.DiscardHandler)

// newEngine starts an engine that t.Cleanup shuts down, failing the test if
// the shutdown does not finish in time.
func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown in cleanup: %v", err)
		}
	})
	return e
}

// listen serves h on address or fails the test.
func listen(t testing.TB, e *Engine, network, address string, h Handler) *Listener {
	t.Helper()
	ln, err := e.Listen(network, address, h)
	if err != nil {
		t.Fatalf("Listen(%s, %s): %v", network, address, err)
	}
	return ln
}

// echo is the handler of most tests: it writes back whatever arrives.
func echo() Funcs {
	return Funcs{Data: func(c *Conn) {
		b, _ := c.Next(-1)
		c.Write(b)
	}}
}

// dialClient connects a plain net.Conn client, closed by t.Cleanup, with a
// deadline on all its I/O.
func dialClient(t testing.TB, network, address string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout(network, address, waitTimeout)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, address, err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(ioDeadline))
	return nc
}

// closeEvent is one OnClose call.
type closeEvent struct {
	c   *Conn
	err error
}

// fillPattern fills b with bytes determined by seed, so that a receiver
// can check every byte and a misplaced chunk shows.
func fillPattern(b []byte, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var w [8]byte
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		copy(b[i:], w[:])
	}
}

// pattern returns n bytes of fillPattern(seed).
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	fillPattern(b, seed)
	return b
}

// diff describes where got and want differ, or returns "" if they are equal.
func diff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at byte %d of %d (got %#x, want %#x)", i, len(want), got[i], want[i])
		}
	}
	return fmt.Sprintf("got %d bytes, want %d", len(got), len(want))
}

// warmNet makes the Go runtime open its own network poller descriptors, so
// that they do not show up as a difference between two countFDs.
func warmNet(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	ln.Close()
}

// goid returns the calling goroutine's id, to tell which goroutine ran a
// callback.
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := bytes.Fields(buf[:n]) // "goroutine 123 [running]: ..."
	if len(f) < 2 {
		return 0
	}
	id, _ := strconv.ParseUint(string(f[1]), 10, 64)
	return id
}

// onLoop runs f on c's loop goroutine and waits for it to return.
func onLoop(t testing.TB, c *Conn, f func(c *Conn)) {
	t.Helper()
	done := make(chan struct{})
	if err := c.Run(func(c *Conn) { defer close(done); f(c) }); err != nil {
		t.Fatalf("Run: %v", err)
	}
	testutil.Recv(t, done, "a Run callback")
}

// testBackend is the backend the tests' engines run on: AIRSOCK_IO's, or
// what "auto" picks.
func testBackend() string {
	ch, err := chooseBackend("")
	if err != nil {
		panic(err)
	}
	return ch.name
}

// backendHeld is what the backend itself may hold per connection beyond
// the loop's rings: nothing for readiness (the kernel holds it); for
// io_uring, ioUringHeld and a second ring's worth, as pending output may
// sit partly in the ring and partly in sends.
func backendHeld() int {
	if testBackend() == BackendIOUring {
		return ioUringHeld + 128<<10
	}
	return 0
}
