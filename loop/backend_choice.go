package loop

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// Which backend an engine's loops run on (Config.Backend), decided once in
// New.

// Backend names accepted by Config.Backend and reported by Engine.Backend.
const (
	BackendAuto    = "auto"
	BackendEpoll   = "epoll"
	BackendKqueue  = "kqueue"
	BackendIOUring = "io_uring"
)

// ErrBackendUnavailable is returned by New when Config.Backend names a
// backend this system cannot run: one of another OS, or io_uring refused by
// the kernel or a seccomp filter. The error New returns wraps it with the
// reason.
var ErrBackendUnavailable = errors.New("loop: backend unavailable")

// DefaultBackend is the backend "auto" picks where it can run, falling back
// to the readiness poller (epoll, kqueue) elsewhere; docs/backends.md gives
// the measurements behind the choice.
const DefaultBackend = autoBackend

// backendEnv overrides "auto" for the whole process.
const backendEnv = "AIRSOCK_IO"

// backendChoice is what New resolved Config.Backend to.
type backendChoice struct {
	name     string
	fallback bool // auto: readiness may stand in if the choice is refused
}

// chooseBackend resolves Config.Backend ("" is "auto") and the AIRSOCK_IO
// override into a backend this OS has.
func chooseBackend(asked string) (backendChoice, error) {
	if asked == "" || asked == BackendAuto {
		if env := os.Getenv(backendEnv); env != "" && env != BackendAuto {
			ch, err := chooseBackend(env)
			if err != nil {
				return ch, fmt.Errorf("%s=%s: %w", backendEnv, env, err)
			}
			return ch, nil
		}
		return backendChoice{name: autoBackend, fallback: true}, nil
	}
	switch {
	case asked == readinessName, asked == BackendIOUring && completionBuilt:
		return backendChoice{name: asked}, nil
	case asked == BackendEpoll, asked == BackendKqueue, asked == BackendIOUring:
		return backendChoice{}, fmt.Errorf("%w: %s is not available on this OS", ErrBackendUnavailable, asked)
	}
	return backendChoice{}, fmt.Errorf("loop: unknown backend %q (want auto, epoll, kqueue or io_uring)", asked)
}

// Backend returns the name of the backend the engine's loops run on:
// "epoll", "kqueue" or "io_uring". Safe from any goroutine.
func (e *Engine) Backend() string { return e.backend }

// BackendAvailable reports why an engine cannot run on the named backend
// here (nil if it can), by starting and closing a one-loop engine on it.
// Any goroutine; it costs the backend's setup (for io_uring, a ring and
// its buffer ring).
func BackendAvailable(name string) error {
	e, err := New(Config{Loops: 1, Backend: name, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	return e.Close()
}
