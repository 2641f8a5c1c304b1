package serversocket

import (
	"log/slog"
	"testing"

	"go.uber.org/goleak"

	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
)

// TestMain runs the package's tests on every loop backend this machine has
// (testutil.EveryBackend), each run failing if a test leaves a goroutine
// behind.
func TestMain(m *testing.M) {
	testutil.EveryBackend(m, func(m *testing.M) { goleak.VerifyTestMain(m) }, func(name string) error {
		e, err := loop.New(loop.Config{Loops: 1, Backend: name, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		return e.Close()
	})
}
