package benchmatrix

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/airsock/airsock/internal/report"
)

// cServers are the C reference servers of bench/c, the floor of the
// matrix, by backend name: echo only, so they take part in the echo
// scenarios (throughput, latency, churn) and not in memory (they report no
// connection count) or redis.
var cServers = map[string]string{"c-epoll": "epoll_echo", "c-uring": "uring_echo"}

// readinessIO pins the loop backend of airsock's servers named after their
// API alone to the readiness poller: "auto" is io_uring on Linux, and the
// matrix's loop and serversocket are the epoll forms beside loop-uring and
// serversocket-uring.
var readinessIO = map[string]string{"loop": "epoll", "serversocket": "epoll"}

// redisBackend is the name of the reference server in the RESP scenario:
// redis-server itself, pinned like the others.
const redisBackend = "redis"

// serverProc is one server process, pinned to the server core.
type serverProc struct {
	backend string
	cmd     *exec.Cmd
	pid     int
	addr    string
	lines   chan string // stdout lines after the readiness line
	stderr  *tailBuffer
	exited  chan struct{}
	exitErr error // set before exited is closed
}

// startServer starts backend serving protocol on a fresh port and returns
// once it accepts connections. An airsock backend is `airsock serve` with
// one loop and GOMAXPROCS=1, and the extra serve flags (--udp); "redis" is
// redis-server without persistence.
func (m *matrix) startServer(ctx context.Context, backend, protocol string, extra ...string) (*serverProc, error) {
	var args []string
	var ready *regexp.Regexp
	var addr string
	if backend == redisBackend {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		args = []string{m.opts.RedisServer, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--io-threads", "1"}
		ready = regexp.MustCompile(`Ready to accept connections`)
	} else if name, ok := cServers[backend]; ok {
		args = []string{filepath.Join(m.opts.CDir, name), "0", "127.0.0.1"}
		ready = regexp.MustCompile(`^listening on (\S+)`)
	} else {
		args = append(m.serveArgs(backend, protocol), extra...)
		ready = regexp.MustCompile(`^listening on (\S+)`)
	}
	s := &serverProc{backend: backend, lines: make(chan string, 64), stderr: &tailBuffer{}, exited: make(chan struct{})}
	s.cmd = m.pinned(m.opts.ServerCPU, args...)
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", backend, err)
	}
	s.pid = s.cmd.Process.Pid
	readyCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			line := sc.Text()
			if !found {
				if mt := ready.FindStringSubmatch(line); mt != nil {
					found = true
					readyCh <- mt[len(mt)-1]
				}
				continue
			}
			select {
			case s.lines <- line:
			default: // nobody is asking: drop it
			}
		}
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case got := <-readyCh:
		s.addr = addr
		if addr == "" {
			s.addr = got
		}
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("%s exited at start-up (%v): %s", backend, s.exitErr, s.stderr)
	case <-timer.C:
		s.kill()
		return nil, fmt.Errorf("%s did not start within 10 s: %s", backend, s.stderr)
	case <-ctx.Done():
		s.kill()
		return nil, ctx.Err()
	}
}

// serveArgs is the command line of `airsock serve` for one of airsock's
// backends (or a peer) serving protocol.
func (m *matrix) serveArgs(backend, protocol string) []string {
	args := []string{m.opts.Bin, "serve", "--backend", backend, "--proto", protocol,
		"--loops", "1", "--addr", "127.0.0.1:0", "--grace", "2s"}
	if io, ok := readinessIO[backend]; ok {
		args = append(args, "--io", io)
	}
	return args
}

// cpu returns the server's CPU time so far.
func (s *serverProc) cpu() (report.CPU, error) { return report.PIDCPU(s.pid) }

// rss returns the server's resident set size in bytes.
func (s *serverProc) rss() (int64, error) { return procRSS(s.pid) }

var openConns = regexp.MustCompile(`conns open=(\d+)`)

// openConns asks an airsock server for its stats line (SIGUSR1) and returns
// how many connections it has open.
func (s *serverProc) openConns() (int, error) {
	for { // drop stale lines
		select {
		case <-s.lines:
			continue
		default:
		}
		break
	}
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return 0, err
	}
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	for {
		select {
		case line := <-s.lines:
			if mt := openConns.FindStringSubmatch(line); mt != nil {
				return strconv.Atoi(mt[1])
			}
		case <-s.exited:
			return 0, fmt.Errorf("%s exited: %v", s.backend, s.exitErr)
		case <-timer.C:
			return 0, errors.New("no stats line within 5 s of SIGUSR1")
		}
	}
}

// stop ends the server as an operator would (SIGINT; SIGTERM for redis)
// and reports whether it exited cleanly.
func (s *serverProc) stop() error {
	sig := os.Interrupt
	if s.backend == redisBackend {
		sig = syscall.SIGTERM
	}
	s.cmd.Process.Signal(sig)
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case <-s.exited:
		if s.exitErr != nil {
			return fmt.Errorf("%s exited with %v: %s", s.backend, s.exitErr, s.stderr)
		}
		return nil
	case <-timer.C:
		s.kill()
		return fmt.Errorf("%s did not exit within 15 s of %v; killed", s.backend, sig)
	}
}

// kill ends the server at once and waits for it.
func (s *serverProc) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// pinned returns a command that runs argv on one CPU (taskset -c cpu) with
// GOMAXPROCS=1, its output discarded unless the caller sets it.
func (m *matrix) pinned(cpu int, argv ...string) *exec.Cmd {
	cmd := exec.Command(m.opts.Taskset, append([]string{"-c", strconv.Itoa(cpu)}, argv...)...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	return cmd
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last 4 KB written to it, for error messages. It is
// safe from any goroutine.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-4096:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
