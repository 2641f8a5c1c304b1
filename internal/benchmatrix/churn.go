package benchmatrix

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/airsock/airsock/internal/report"
)

// churn is scenario 4: connections per second when each connection lives
// for one echo (connect, 16 bytes there and back, close), driven by the
// churn client (`airsock bench churn`) on the client core.
func (m *matrix) churn(ctx context.Context) error {
	backends := m.airsockBackends(true)
	for round := 1; round <= m.opts.Rounds; round++ {
		for _, be := range rotate(backends, round) {
			if err := ctx.Err(); err != nil {
				return err
			}
			r := &result{Scenario: "churn", Backend: be, Round: round,
				Params: []string{fmt.Sprintf("slots=%d", m.opts.ChurnConns), fmt.Sprintf("size=%d", churnEchoSize)}}
			m.record(r, m.churnRun(ctx, r, false))
		}
	}
	return nil
}

// churnRun measures one backend's churn, over TLS if tls.
func (m *matrix) churnRun(ctx context.Context, r *result, tls bool) error {
	srv, err := m.startServer(ctx, r.Backend, "echo", serveTLS(tls)...)
	if err != nil {
		return err
	}
	sum, srvCPU, err := m.runChurnClient(ctx, srv, tls)
	if serr := srv.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	r.add(sum.CyclesPerS, "conns/s")
	r.add(srvCPU.Total()*1e6/float64(sum.Cycles), "server-us/conn")
	r.add(100*srvCPU.Total()/sum.Duration, "server-cpu-%")
	r.add(sum.P50us, "p50-us")
	r.add(sum.P99us, "p99-us")
	r.add(float64(sum.DialErrors), "dial-errors")
	return nil
}

// runChurnClient runs the churn client against srv, reading the server's
// CPU time at the edges of the measured window, which the client marks on
// its stderr (windowMarks).
func (m *matrix) runChurnClient(ctx context.Context, srv *serverProc, tls bool) (*churnSummary, report.CPU, error) {
	args := []string{m.opts.Bin, "bench", "churn", "--addr", srv.addr, "--conns", strconv.Itoa(m.opts.ChurnConns),
		"--warmup", m.opts.Warmup.String(), "--duration", m.opts.Duration.String()}
	if tls {
		args = append(args, "--tls")
	}
	if len(m.opts.Sources) > 0 {
		args = append(args, "--source", strings.Join(m.opts.Sources, ","))
	}
	cmd := m.pinned(m.opts.ClientCPU, args...)
	var stdout bytes.Buffer
	var edges []report.CPU
	stderr := &windowMarks{marked: func() {
		if c, err := srv.cpu(); err == nil {
			edges = append(edges, c)
		}
	}}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, report.CPU{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		return nil, report.CPU{}, fmt.Errorf("churn client did not end: %s", stderr)
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		return nil, report.CPU{}, ctx.Err()
	}
	sum := new(churnSummary)
	if jerr := json.Unmarshal(stdout.Bytes(), sum); jerr != nil {
		return nil, report.CPU{}, fmt.Errorf("churn client printed %q (%v): %s", stdout.String(), err, stderr)
	}
	switch {
	case err != nil:
		return sum, report.CPU{}, fmt.Errorf("churn client: %v: %s", err, lastLine(stderr.String()))
	case len(edges) < 2:
		return sum, report.CPU{}, fmt.Errorf("could not read the server's CPU time")
	case sum.ConnErrors > 0:
		return sum, report.CPU{}, fmt.Errorf("churn: %d connections failed", sum.ConnErrors)
	}
	return sum, edges[1].Sub(edges[0]), nil
}

// windowMarks keeps the tail of the churn client's stderr and calls marked
// on each line that marks an edge of its measured window (churnWindowStart,
// churnWindowEnd), as the line arrives: the server's CPU is read then, at
// the client's own edges, which move when a window measured nothing. Write
// runs on exec's copying goroutine only; marked's results are read after
// the command has been waited for.
type windowMarks struct {
	tailBuffer
	line   []byte
	marked func()
}

func (w *windowMarks) Write(p []byte) (int, error) {
	w.tailBuffer.Write(p)
	for _, b := range p {
		if b != '\n' {
			if len(w.line) < 256 {
				w.line = append(w.line, b)
			}
			continue
		}
		if l := string(w.line); l == churnWindowStart || l == churnWindowEnd {
			w.marked()
		}
		w.line = w.line[:0]
	}
	return len(p), nil
}
