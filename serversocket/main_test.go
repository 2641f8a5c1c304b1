package serversocket

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/airsock/airsock/internal/testutil"
	"github.com/airsock/airsock/loop"
)

// TestMain runs the package's tests on every loop backend this machine has
// (testutil.EveryBackend), each run failing if a test leaves a goroutine
// behind.
func TestMain(m *testing.M) {
	testutil.EveryBackend(m, func(m *testing.M) { goleak.VerifyTestMain(m) }, loop.BackendAvailable)
}
