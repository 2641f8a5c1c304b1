package benchmatrix

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// settle is how long the server is left alone before its RSS is read, so
// that work just done (accepts, a GC cycle) has finished.
const settle = 500 * time.Millisecond

// tlsSettle is the wait before the idle RSS of TLS connections is read
// (memoryMeasure).
const tlsSettle = 6 * time.Second

// memory is scenario 3: the server's RSS per idle connection, as the delta
// over the empty server divided by the connections, read once the
// connections are open and again after one 16-byte echo on each (which
// makes a server that allocates per-connection buffers lazily show them).
func (m *matrix) memory(ctx context.Context) error {
	backends := m.airsockBackends(false)
	for round := 1; round <= m.opts.MemoryRounds; round++ {
		for _, be := range rotate(backends, round) {
			if err := ctx.Err(); err != nil {
				return err
			}
			r := &result{Scenario: "memory", Backend: be, Round: round,
				Params: []string{fmt.Sprintf("conns=%d", m.opts.IdleConns)}}
			m.record(r, m.memoryRun(ctx, r, false))
		}
	}
	return nil
}

// memoryRun measures one backend's idle connections, over TLS if tls.
func (m *matrix) memoryRun(ctx context.Context, r *result, tls bool) error {
	srv, err := m.startServer(ctx, r.Backend, "echo", serveTLS(tls)...)
	if err != nil {
		return err
	}
	err = m.memoryMeasure(ctx, srv, r, tls)
	if serr := srv.stop(); err == nil {
		err = serr
	}
	return err
}

func (m *matrix) memoryMeasure(ctx context.Context, srv *serverProc, r *result, tls bool) error {
	sleep(ctx, settle)
	base, err := srv.rss()
	if err != nil {
		return err
	}
	args := []string{m.opts.Bin, "bench", "idle", "--addr", srv.addr, "--conns", strconv.Itoa(m.opts.IdleConns)}
	if len(m.opts.Sources) > 0 {
		args = append(args, "--source", strings.Join(m.opts.Sources, ","))
	}
	if tls {
		args = append(args, "--tls")
	}
	cl := m.pinned(m.opts.ClientCPU, args...)
	stdin, err := cl.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cl.StdoutPipe()
	if err != nil {
		return err
	}
	stderr := &tailBuffer{}
	cl.Stderr = stderr
	if err := cl.Start(); err != nil {
		return err
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	finish := func(err error) error {
		stdin.Close()
		go func() {
			for range lines { // let the client exit
			}
		}()
		werr := cl.Wait()
		if err == nil && werr != nil {
			err = fmt.Errorf("idle client: %v: %s", werr, lastLine(stderr.String()))
		}
		return err
	}
	n := m.opts.IdleConns
	if err := expectLine(ctx, lines, fmt.Sprintf("open %d", n), 3*time.Minute); err != nil {
		return finish(fmt.Errorf("idle client: %v: %s", err, lastLine(stderr.String())))
	}
	// The client has them open; make sure the server has accepted them too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		open, err := srv.openConns()
		if err != nil {
			return finish(err)
		}
		if open == n {
			break
		}
		if time.Now().After(deadline) {
			return finish(fmt.Errorf("server has %d of %d connections open after 30 s", open, n))
		}
		sleep(ctx, 100*time.Millisecond)
	}
	if tls {
		// A burst of handshakes leaves garbage that an idle server's RSS
		// still holds for a while: read it once a scavenger, airsock's
		// (every 5 s once the loops are quiet) or the runtime's, has had
		// time; every TLS backend waits the same.
		sleep(ctx, tlsSettle)
	}
	sleep(ctx, settle)
	idle, err := srv.rss()
	if err != nil {
		return finish(err)
	}
	if _, err := io.WriteString(stdin, "echo\n"); err != nil {
		return finish(err)
	}
	if err := expectLine(ctx, lines, fmt.Sprintf("echoed %d", n), time.Minute); err != nil {
		return finish(fmt.Errorf("idle client: %v: %s", err, lastLine(stderr.String())))
	}
	sleep(ctx, settle)
	touched, err := srv.rss()
	if err != nil {
		return finish(err)
	}
	if err := finish(nil); err != nil {
		return err
	}
	r.add(float64(idle-base)/float64(n), "rss-B/conn")
	r.add(float64(touched-base)/float64(n), "rss-after-echo-B/conn")
	r.add(float64(base)/(1<<20), "rss-empty-MiB")
	return nil
}

// expectLine waits for the next line from lines and checks it is want.
func expectLine(ctx context.Context, lines <-chan string, want string, limit time.Duration) error {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case got, ok := <-lines:
		if !ok {
			return fmt.Errorf("exited before printing %q", want)
		}
		if got != want {
			return fmt.Errorf("printed %q, want %q", got, want)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("did not print %q within %v", want, limit)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
