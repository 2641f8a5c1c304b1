package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/airsock/airsock/internal/backend"
)

// The hand-over of `airsock serve` (SIGUSR2): the running server starts a
// new copy of itself, the same executable with the same arguments, and
// gives it its listening sockets (--handover fds: as ExtraFiles 3.., named
// by AIRSOCK_INHERIT_FDS; serve_inherit.go). The successor serves them and
// says so on a pipe (AIRSOCK_READY_FD); only then does the old server stop
// accepting. The sockets never close, so the kernel neither refuses a
// connect nor drops one it queued: whichever process accepts next takes
// it. The old server then lets its connections end (--drain-wait), closes
// the rest (--grace) and exits 0. If the successor fails or does not
// report within --handover-timeout, it is killed and the old server serves
// on, saying why.
//
// --handover rebind is the variant without fds: the successor binds the
// address anew, joining the port with SO_REUSEPORT (--reuseport-join), and
// the old server closes its own sockets once it serves. A connection the
// kernel put in an old socket's queue, or half-open on it, when it closes
// is lost (reset) unless net.ipv4.tcp_migrate_req moves it; the old
// server's close takes what is queued first, which leaves a window of one
// syscall and the handshakes in flight (docs/operations.md).

// handover is a successor being started; done receives once: nil when it
// serves. pid is the successor's, to be read once done has received.
type handover struct {
	pid  int
	done chan error
}

// startHandover starts the successor of s, and of its metrics server m if
// not nil, on its own goroutine.
func startHandover(s backend.Server, m *metricsServer, mode string, timeout time.Duration) *handover {
	h := &handover{done: make(chan error, 1)}
	go func() { h.done <- h.run(s, m, mode, timeout) }()
	return h
}

// run starts the successor and waits for it to serve, or kills it. The
// --metrics socket goes with the listening ones, in either mode: the
// successor could not bind its port while this process holds it.
func (h *handover) run(s backend.Server, m *metricsServer, mode string, timeout time.Duration) error {
	var files []*os.File
	env := successorEnv()
	if mode == "rebind" {
		env = append(env, rebindAddrEnv+"="+s.Addr().String())
	} else {
		var err error
		if files, err = backend.ListenerFiles(s); err != nil {
			return err
		}
		defer closeFiles(files)
		env = append(env, inheritFDsEnv+"="+strconv.Itoa(len(files)))
	}
	if m != nil {
		f, err := m.file()
		if err != nil {
			return err
		}
		defer f.Close()
		env = append(env, metricsFDEnv+"="+strconv.Itoa(listenFDsStart+len(files)))
		files = append(files, f)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	env = append(env, readyFDEnv+"="+strconv.Itoa(listenFDsStart+len(files)))
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = env
	// The process's own streams, not serve's writers: the successor
	// outlives this process and every goroutine that could copy.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = append(files, w)
	err = cmd.Start()
	w.Close() // the successor's copy is the only writer: EOF if it dies
	if err != nil {
		return err
	}
	h.pid = cmd.Process.Pid
	r.SetReadDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(r).ReadString('\n')
	if err == nil && line == "serving\n" {
		cmd.Process.Release() // it is on its own now
		return nil
	}
	cmd.Process.Kill()
	state, _ := cmd.Process.Wait()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("successor pid %d did not report serving within %v; killed", h.pid, timeout)
	}
	return fmt.Errorf("successor pid %d ended before serving (%v)", h.pid, state)
}

// successorEnv is this process's environment without the variables of its
// own start, which a successor must not take for its own.
func successorEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case inheritFDsEnv, readyFDEnv, rebindAddrEnv, metricsFDEnv, "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// retire ends a server: it stops accepting (what the kernel queued is
// taken first), lets the connections end by themselves for up to wait,
// then closes what is left, giving the replies already produced up to
// grace to leave. A backend that cannot stop accepting alone goes
// straight to its shutdown.
func retire(s backend.Server, wait, grace time.Duration, stderr io.Writer) {
	if wait > 0 {
		if err := backend.StopAccepting(s); err == nil {
			waitIdle(s, wait)
		} else if !errors.Is(err, backend.ErrNoHandOver) {
			fmt.Fprintf(stderr, "airsock serve: stop accepting: %v\n", err)
		}
	}
	if open := s.Stats().Open; open > 0 || wait == 0 {
		fmt.Fprintf(stderr, "airsock serve: shutting down (up to %v for %d connections to drain)\n", grace, open)
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "airsock serve: shutdown: %v (remaining connections dropped)\n", err)
	}
}

// waitIdle waits until s has no open connection, or for at most wait. The
// connections close on the loops, which signal nothing: a counter read
// every few milliseconds, during one drain in a process's life, costs
// nothing.
func waitIdle(s backend.Server, wait time.Duration) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.Stats().Open > 0 {
		select {
		case <-tick.C:
		case <-deadline.C:
			return
		}
	}
}
