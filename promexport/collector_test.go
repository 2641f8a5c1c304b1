package promexport

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/airsock/airsock/loop"
)

// TestCollectorLints: the series follow Prometheus's naming conventions
// (client_golang's linter), and one engine of 2 loops gives each
// per-loop series twice (the closed counter once per loop and reason).
func TestCollectorLints(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := loop.New(loop.Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := NewCollector()
	c.AddEngine("test", e)
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(c, "airsock_connections_open"); n != 2 {
		t.Errorf("%d open-connection series, want 2 (one per loop)", n)
	}
	if n := testutil.CollectAndCount(c, "airsock_connections_closed_total"); n != 2*int(loop.NumCloseReasons) {
		t.Errorf("%d closed series, want %d", n, 2*loop.NumCloseReasons)
	}
}
