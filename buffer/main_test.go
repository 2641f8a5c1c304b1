package buffer

import (
	"fmt"
	"os"
	"testing"
)

// TestMain fails the run if the tests leave descriptors open, where the
// system lists them in /proc/self/fd.
func TestMain(m *testing.M) {
	// A pipe starts the runtime's poller, whose own fds would otherwise
	// count as leaked if a test happened to start it.
	if pr, pw, err := os.Pipe(); err == nil {
		pr.Close()
		pw.Close()
	}
	before, err := openFds()
	code := m.Run()
	if after, err2 := openFds(); code == 0 && err == nil && err2 == nil && after > before {
		fmt.Fprintf(os.Stderr, "leaked %d file descriptors\n", after-before)
		code = 1
	}
	os.Exit(code)
}

func openFds() (int, error) {
	fds, err := os.ReadDir("/proc/self/fd")
	return len(fds), err
}
