// Package leakcheck is the goroutine-leak check of the test binaries that
// load gnet: goleak, ignoring the goroutines gnet's dependency starts for
// the life of the process (backend.ProcessGoroutines). Only tests import it.
package leakcheck

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/airsock/airsock/internal/backend"
)

// Options are goleak's options for a test binary that loads gnet.
func Options() []goleak.Option {
	var opts []goleak.Option
	for _, f := range backend.ProcessGoroutines {
		opts = append(opts, goleak.IgnoreTopFunction(f))
	}
	return opts
}

// Main runs the tests, then fails the binary if a goroutine was left
// behind. Call it from TestMain.
func Main(m *testing.M) { goleak.VerifyTestMain(m, Options()...) }
