package benchmatrix

import (
	"context"
	"fmt"
	"strings"

	"github.com/airsock/airsock/internal/backend"
)

// The tls scenario: the backends that serve TLS (`airsock serve
// --tls-self-signed`: airsock's loop and serversocket with crypto/tls on
// it, net with crypto/tls over each net.Conn, nbio with its TLS extension
// over llib's fork of crypto/tls) against airsock's TLS clients (`load
// --tls`, `bench churn --tls`, `bench idle --tls`, which do not verify the
// certificate made at the server's start). Three parts, each with the
// throughput scenario's rounds: closed-loop echo at TLSConns x TLSSizes,
// depth 1 (server CPU and syscalls per message); handshakes per second
// (the churn client, a full handshake per connection, no resumption); and
// RSS per idle established connection (IdleConns, the memory rounds).

// tlsServeFlag makes `airsock serve` serve TLS.
const tlsServeFlag = "--tls-self-signed"

// serveTLS returns the serve flags for TLS, or none.
func serveTLS(on bool) []string {
	if on {
		return []string{tlsServeFlag}
	}
	return nil
}

// tlsScenario is the tls scenario.
func (m *matrix) tlsScenario(ctx context.Context) error {
	backends := m.chosenOf(backend.TLSNames())
	if len(backends) == 0 {
		return fmt.Errorf("none of the backends %q serves TLS (%q do)", m.opts.Backends, backend.TLSNames())
	}
	cells := closedLoopCells(m.opts.TLSConns, m.opts.TLSSizes, []int{1}, false)
	for i := range cells {
		cells[i].tls = true
	}
	if err := m.closedLoop(ctx, "tls", cells, backends); err != nil {
		return err
	}
	for round := 1; round <= m.opts.Rounds; round++ {
		for _, be := range rotate(backends, round) {
			if err := ctx.Err(); err != nil {
				return err
			}
			r := &result{Scenario: "tls", Backend: be, Round: round,
				Params: []string{"handshakes", fmt.Sprintf("slots=%d", m.opts.ChurnConns)}}
			m.record(r, m.churnRun(ctx, r, true))
		}
	}
	for round := 1; round <= m.opts.MemoryRounds; round++ {
		for _, be := range rotate(backends, round) {
			if err := ctx.Err(); err != nil {
				return err
			}
			r := &result{Scenario: "tls", Backend: be, Round: round,
				Params: []string{"idle", fmt.Sprintf("conns=%d", m.opts.IdleConns)}}
			m.record(r, m.memoryRun(ctx, r, true))
		}
	}
	return nil
}

func tlsTables(b *strings.Builder, cells []string, data map[string]cellData, bs []string) {
	b.WriteString("## 7. TLS\n\n")
	b.WriteString("`airsock serve --tls-self-signed` (loop, serversocket: crypto/tls on the loop; net: crypto/tls over each net.Conn; " +
		"nbio: its TLS extension, over lesismal/llib's fork of crypto/tls) against " +
		"airsock's TLS clients (no verification of the certificate made at the server's start), TLS 1.3 with X25519 and " +
		"AES-128-GCM as crypto/tls negotiates by default.\n\n")
	var echo, handshakes, idle []string
	for _, c := range cells {
		switch {
		case has("handshakes")(c):
			handshakes = append(handshakes, c)
		case has("idle")(c):
			idle = append(idle, c)
		default:
			echo = append(echo, c)
		}
	}
	if len(echo) > 0 {
		b.WriteString("### Echo, closed loop, depth 1\n\n")
		metricTable(b, "#### msgs/s", "msgs/s", echo, data, bs, shortNum, clientBoundNote, true)
		metricTable(b, "#### server CPU µs per message (lower is better)", "server-us/msg", echo, data, bs, fixed(2), nil, true)
		if hasUnit(data, "server-syscalls/msg") {
			metricTable(b, "#### server syscalls per message (perf stat)", "server-syscalls/msg", echo, data, bs, fixed(3), nil, true)
		}
	}
	if len(handshakes) > 0 {
		b.WriteString("### Handshakes: connect, full TLS handshake, one 16-byte echo, close\n\n")
		metricTable(b, "#### connections (handshakes) per second", "conns/s", handshakes, data, bs, shortNum, nil, true)
		metricTable(b, "#### server CPU µs per connection", "server-us/conn", handshakes, data, bs, fixed(0), nil, true)
	}
	if len(idle) > 0 {
		b.WriteString("### Memory per idle established TLS connection\n\n")
		metricTable(b, "#### server RSS per connection, bytes (VmRSS over the empty server)", "rss-B/conn", idle, data, bs, fixed(0), nil, true)
		metricTable(b, "#### after one 16-byte echo on each", "rss-after-echo-B/conn", idle, data, bs, fixed(0), nil, true)
	}
}
