package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// BackendEnv is the environment variable that picks the loop backend of
// every engine whose Config.Backend is "auto" (package loop reads it).
const BackendEnv = "AIRSOCK_IO"

// EveryBackend runs a package's whole test binary once per loop backend
// this machine offers, so that every test of the package is a test of each
// backend: with AIRSOCK_IO set (by the caller, or by EveryBackend for its
// children) it runs the tests once through run (goleak.VerifyTestMain, say);
// otherwise it runs this binary again, with the same arguments, for each
// backend ("epoll" and "io_uring" on Linux, "kqueue" on the BSDs), and
// exits non-zero if any run failed. available reports why a backend cannot
// run here (nil if it can); such a backend is skipped with that reason,
// printed. Call it from TestMain only.
func EveryBackend(m *testing.M, run func(*testing.M), available func(name string) error) {
	if os.Getenv(BackendEnv) != "" || runOnce() {
		run(m)
		return
	}
	names := []string{"kqueue"}
	if runtime.GOOS == "linux" {
		names = []string{"epoll", "io_uring"}
	}
	failed := false
	for _, name := range names {
		if err := available(name); err != nil {
			fmt.Printf("=== backend %s: skipped: %v\n", name, err)
			continue
		}
		fmt.Printf("=== backend %s\n", name)
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), BackendEnv+"="+name)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				fmt.Printf("=== backend %s: cannot run the tests: %v\n", name, err)
			}
			fmt.Printf("=== backend %s: FAIL\n", name)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	os.Exit(0)
}

// runOnce reports whether the binary writes a coverage profile, which two
// runs would overwrite, or fuzzes (a fuzzing run, and each of its workers,
// explores one target): then the tests run once, on the default backend.
func runOnce() bool {
	for _, a := range os.Args[1:] {
		for _, flag := range []string{"-test.coverprofile", "-test.gocoverdir", "-test.fuzz"} {
			if strings.HasPrefix(a, flag) {
				return true
			}
		}
	}
	return false
}
