package serversocket

import (
	"context"
	"sync"

	"github.com/airsock/airsock/loop"
)

// The sockets of this package run on a loop.Engine: by default one shared by
// the whole process, started on first use with one loop per CPU. NewOn and
// NewSocketOn take an engine of the caller's instead.

var (
	defaultMu     sync.Mutex
	defaultEngine *loop.Engine
)

// DefaultEngine returns the process-wide engine, starting it on first use.
// Callable on any goroutine.
func DefaultEngine() (*loop.Engine, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultEngine == nil {
		e, err := loop.New(loop.Config{})
		if err != nil {
			return nil, err
		}
		defaultEngine = e
	}
	return defaultEngine, nil
}

// Shutdown stops the default engine gracefully (see loop.Engine.Shutdown):
// listening ServerSockets stop, open Sockets get their close event after
// the output they wrote has been sent. A later New starts a fresh engine.
// Call it on a goroutine of the application's, never from a listener.
func Shutdown(ctx context.Context) error {
	defaultMu.Lock()
	e := defaultEngine
	defaultEngine = nil
	defaultMu.Unlock()
	if e == nil {
		return nil
	}
	return e.Shutdown(ctx)
}
