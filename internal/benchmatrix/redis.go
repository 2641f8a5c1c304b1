package benchmatrix

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/airsock/airsock/internal/report"
)

// redisCell is one redis-benchmark invocation: pipeline depth and clients.
type redisCell struct{ pipeline, clients int }

// requests is -n for the cell: sized for about a second per test on the
// project's machine (pipelined cells go some twenty times faster), scaled
// by the options.
func (c redisCell) requests(scale float64) int {
	n := 100_000.0
	if c.pipeline > 1 {
		n *= 20
	}
	if c.clients >= 1000 {
		n /= 2
	}
	return max(int(n*scale), 1000)
}

// redis is scenario 5: an external client, redis-benchmark, against
// `airsock serve --proto resp` on each backend and against redis-server
// itself, all pinned the same way.
func (m *matrix) redis(ctx context.Context) error {
	backends := m.airsockBackends(false)
	if m.opts.RedisServer != "" {
		backends = append(backends, redisBackend)
	}
	var cells []redisCell
	for _, p := range m.opts.RedisPipelines {
		for _, c := range m.opts.RedisClients {
			cells = append(cells, redisCell{p, c})
		}
	}
	for round := 1; round <= m.opts.RedisRounds; round++ {
		for _, be := range rotate(backends, round) {
			if err := ctx.Err(); err != nil {
				return err
			}
			m.redisBackend(ctx, be, round, cells)
		}
	}
	return nil
}

// redisBackend runs every cell against one fresh server of the backend.
func (m *matrix) redisBackend(ctx context.Context, be string, round int, cells []redisCell) {
	fail := func(cell redisCell, err error) {
		m.record(&result{Scenario: "redis", Backend: be, Round: round, Params: cell.params("all")}, err)
	}
	srv, err := m.startServer(ctx, be, "resp")
	if err != nil {
		fail(cells[0], err)
		return
	}
	defer func() {
		if err := srv.stop(); err != nil {
			fail(cells[0], err)
		}
	}()
	if err := m.verify(ctx, srv, loadSpec{proto: "resp", respCmd: "setget", conns: 50, depth: 4, size: 16}); err != nil {
		fail(cells[0], err)
		return
	}
	for _, cell := range cells {
		if err := m.redisRun(ctx, srv, be, round, cell); err != nil {
			fail(cell, err)
		}
	}
}

func (c redisCell) params(test string) []string {
	return []string{"test=" + test, fmt.Sprintf("P=%d", c.pipeline), fmt.Sprintf("c=%d", c.clients)}
}

// redisRun runs redis-benchmark once for the cell and records a result per
// test, plus one ("test=all") with the server's CPU time per request over
// the whole invocation.
func (m *matrix) redisRun(ctx context.Context, srv *serverProc, be string, round int, cell redisCell) error {
	host, port, _ := strings.Cut(srv.addr, ":")
	n := cell.requests(m.opts.RedisScale)
	cmd := m.pinned(m.opts.ClientCPU, m.opts.RedisBenchmark, "-h", host, "-p", port, "-t", m.opts.RedisTests,
		"-P", strconv.Itoa(cell.pipeline), "-c", strconv.Itoa(cell.clients), "-n", strconv.Itoa(n), "--csv")
	var stdout bytes.Buffer
	stderr := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	cpu0, err := srv.cpu()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := runBounded(ctx, cmd, 3*time.Minute); err != nil {
		return fmt.Errorf("redis-benchmark: %v: %s", err, lastLine(stderr.String()))
	}
	wall := time.Since(start).Seconds()
	cpu1, err := srv.cpu()
	if err != nil {
		return err
	}
	rows, err := parseRedisCSV(stdout.Bytes())
	if err != nil {
		return err
	}
	for _, row := range rows {
		r := &result{Scenario: "redis", Backend: be, Round: round, Params: cell.params(row.test)}
		r.add(row.rps, "rps")
		r.add(row.p50ms*1e3, "p50-us")
		r.add(row.p99ms*1e3, "p99-us")
		m.record(r, nil)
	}
	total := float64(n * len(rows))
	used := cpu1.Sub(cpu0)
	client := report.ExitedCPU(cmd.ProcessState)
	r := &result{Scenario: "redis", Backend: be, Round: round, Params: cell.params("all")}
	r.add(used.Total()*1e6/total, "server-us/req")
	r.add(100*used.Total()/wall, "server-cpu-%")
	r.add(client.Total()*1e6/total, "client-us/req")
	r.add(100*client.Total()/wall, "client-cpu-%")
	if client.Total()/wall >= clientBound {
		r.Note = "client-bound"
	}
	m.record(r, nil)
	return nil
}

// redisRow is one test's line of redis-benchmark --csv.
type redisRow struct {
	test         string
	rps          float64
	p50ms, p99ms float64
}

// parseRedisCSV reads redis-benchmark's --csv output: a header naming the
// columns (test, rps, ..., p50_latency_ms, ..., p99_latency_ms, ...) and a
// row per test.
func parseRedisCSV(b []byte) ([]redisRow, error) {
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark csv: %w", err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("redis-benchmark printed no results: %q", b)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range []string{"test", "rps", "p50_latency_ms", "p99_latency_ms"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("redis-benchmark csv: no %q column in %q", h, recs[0])
		}
	}
	var rows []redisRow
	for _, rec := range recs[1:] {
		num := func(h string) (float64, error) { return strconv.ParseFloat(rec[col[h]], 64) }
		rps, err1 := num("rps")
		p50, err2 := num("p50_latency_ms")
		p99, err3 := num("p99_latency_ms")
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("redis-benchmark csv: bad row %q", rec)
		}
		rows = append(rows, redisRow{test: rec[col["test"]], rps: rps, p50ms: p50, p99ms: p99})
	}
	return rows, nil
}
