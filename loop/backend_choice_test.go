package loop

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// How New chooses the loops' backend: Config.Backend by name, "auto", the
// AIRSOCK_IO override of "auto" (and of nothing else), and the errors of a
// name that is unknown or of another OS. Every engine that starts serves an
// echo round trip. These tests set AIRSOCK_IO themselves (t.Setenv), so they
// do the same on every run of EveryBackend. The io_uring probe's refusal is
// tested in uring_fault_linux_test.go.

// startEngine is New with cfg; an engine that starts is closed by
// t.Cleanup.
func startEngine(t *testing.T, cfg Config) (*Engine, error) {
	t.Helper()
	cfg.Loops = 1
	cfg.Logger = quiet
	e, err := New(cfg)
	if err == nil {
		t.Cleanup(func() { e.Close() })
	}
	return e, err
}

// serveEcho checks that e serves: 100 KiB sent to an echo listener come
// back byte for byte.
func serveEcho(t *testing.T, e *Engine) {
	t.Helper()
	ln := listen(t, e, "tcp", "127.0.0.1:0", echo())
	defer ln.Close()
	nc := dialClient(t, "tcp", ln.Addr().String())
	defer nc.Close()
	want := pattern(100<<10, 77)
	werr := make(chan error, 1)
	go func() { _, err := nc.Write(want); werr <- err }()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatalf("echo on %s: %v", e.Backend(), err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("echo on %s: write: %v", e.Backend(), err)
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("echo on %s: %s", e.Backend(), d)
	}
}

// builtBackends are the backends this OS has: its readiness poller, and
// io_uring on Linux.
func builtBackends() []string {
	if completionBuilt {
		return []string{readinessName, BackendIOUring}
	}
	return []string{readinessName}
}

// TestBackendByName: each backend this OS has, asked for by name, is the
// one the engine runs on, and serves. io_uring is skipped (with the
// reason) where the kernel refuses it.
func TestBackendByName(t *testing.T) {
	for _, name := range builtBackends() {
		t.Run(name, func(t *testing.T) {
			t.Setenv(backendEnv, "")
			e, err := startEngine(t, Config{Backend: name})
			if name == BackendIOUring && errors.Is(err, ErrBackendUnavailable) {
				t.Skipf("io_uring refused here: %v", err)
			}
			if err != nil {
				t.Fatalf("New(Backend: %q): %v", name, err)
			}
			if got := e.Backend(); got != name {
				t.Fatalf("Backend() = %q, want %q", got, name)
			}
			serveEcho(t, e)
		})
	}
}

// TestBackendAuto: "auto", and the empty name, pick DefaultBackend when
// AIRSOCK_IO is not set.
func TestBackendAuto(t *testing.T) {
	t.Setenv(backendEnv, "")
	for _, name := range []string{"", BackendAuto} {
		e, err := startEngine(t, Config{Backend: name})
		if err != nil {
			t.Fatalf("New(Backend: %q): %v", name, err)
		}
		if got := e.Backend(); got != DefaultBackend {
			t.Errorf("New(Backend: %q): Backend() = %q, want DefaultBackend %q", name, got, DefaultBackend)
		}
		serveEcho(t, e)
	}
}

// TestBackendUnknown: a name that is no backend fails New with an error
// that quotes it and lists the names there are, and that is not
// ErrBackendUnavailable (nothing was refused: the name is wrong).
func TestBackendUnknown(t *testing.T) {
	t.Setenv(backendEnv, "")
	for _, name := range []string{"bogus", "EPOLL", "io-uring", " epoll"} {
		e, err := startEngine(t, Config{Backend: name})
		if err == nil {
			t.Errorf("New(Backend: %q) started on %s; want an error", name, e.Backend())
			continue
		}
		if errors.Is(err, ErrBackendUnavailable) {
			t.Errorf("New(Backend: %q): %v; an unknown name is not ErrBackendUnavailable", name, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, `"`+name+`"`) || !strings.Contains(msg, "auto, epoll, kqueue or io_uring") {
			t.Errorf("New(Backend: %q): %q; want the name quoted and the valid names listed", name, msg)
		}
	}
}

// TestBackendOfAnotherOS: a backend this OS does not have (kqueue on
// Linux; epoll and io_uring on the BSDs) fails New with
// ErrBackendUnavailable, naming it.
func TestBackendOfAnotherOS(t *testing.T) {
	t.Setenv(backendEnv, "")
	for _, name := range []string{BackendEpoll, BackendKqueue, BackendIOUring} {
		built := false
		for _, b := range builtBackends() {
			built = built || b == name
		}
		if built {
			continue
		}
		e, err := startEngine(t, Config{Backend: name})
		if err == nil {
			t.Errorf("New(Backend: %q) started on %s; want ErrBackendUnavailable", name, e.Backend())
			continue
		}
		if !errors.Is(err, ErrBackendUnavailable) || !strings.Contains(err.Error(), name) {
			t.Errorf("New(Backend: %q): %v; want ErrBackendUnavailable naming %s", name, err, name)
		}
	}
}

// TestBackendEnvOverridesAutoOnly: AIRSOCK_IO picks the backend of "auto"
// (and of the empty name), and an explicit Config.Backend wins over it; a
// bad AIRSOCK_IO fails only the engines that consult it, naming the
// variable.
func TestBackendEnvOverridesAutoOnly(t *testing.T) {
	for _, env := range builtBackends() {
		for _, asked := range builtBackends() {
			t.Run("env="+env+",asked="+asked, func(t *testing.T) {
				t.Setenv(backendEnv, env)
				e, err := startEngine(t, Config{Backend: BackendAuto})
				if env == BackendIOUring && errors.Is(err, ErrBackendUnavailable) {
					t.Skipf("io_uring refused here: %v", err)
				}
				if err != nil {
					t.Fatalf("%s=%s, New(auto): %v", backendEnv, env, err)
				}
				if got := e.Backend(); got != env {
					t.Errorf("%s=%s, New(auto): Backend() = %q, want %q (the variable overrides auto)", backendEnv, env, got, env)
				}
				serveEcho(t, e)
				e, err = startEngine(t, Config{Backend: asked})
				if asked == BackendIOUring && errors.Is(err, ErrBackendUnavailable) {
					t.Skipf("io_uring refused here: %v", err)
				}
				if err != nil {
					t.Fatalf("%s=%s, New(%s): %v", backendEnv, env, asked, err)
				}
				if got := e.Backend(); got != asked {
					t.Errorf("%s=%s, New(%s): Backend() = %q, want %q (an explicit Backend wins)", backendEnv, env, asked, got, asked)
				}
				serveEcho(t, e)
			})
		}
	}
	t.Run("bad", func(t *testing.T) {
		t.Setenv(backendEnv, "bogus")
		for _, name := range []string{"", BackendAuto} {
			if e, err := startEngine(t, Config{Backend: name}); err == nil {
				t.Errorf("%s=bogus, New(Backend: %q) started on %s; want an error", backendEnv, name, e.Backend())
			} else if !strings.Contains(err.Error(), backendEnv+"=bogus") {
				t.Errorf("%s=bogus, New(Backend: %q): %v; want the error to name the variable", backendEnv, name, err)
			}
		}
		e, err := startEngine(t, Config{Backend: readinessName})
		if err != nil {
			t.Fatalf("%s=bogus, New(%s): %v; an explicit Backend does not consult the variable", backendEnv, readinessName, err)
		}
		serveEcho(t, e)
	})
}
