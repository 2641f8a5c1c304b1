package benchmatrix

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/airsock/airsock/internal/backend"
)

// The udp scenario: closed-loop UDP echo, `airsock serve --udp` against
// `airsock load --udp` (each flow its own connected socket keeping depth
// datagrams in flight, every datagram verified), measured as the
// throughput scenario measures TCP: datagrams/s, the server's CPU and
// syscalls per datagram (perf stat), and the loss, which UDP may have and
// the table shows.

// chosenOf returns the backends chosen that are in names, in table order.
func (m *matrix) chosenOf(names []string) []string {
	var out []string
	for _, b := range m.opts.Backends {
		if slices.Contains(names, b) {
			out = append(out, b)
		}
	}
	return out
}

// udp is the UDP scenario.
func (m *matrix) udp(ctx context.Context) error {
	backends := m.chosenOf(backend.UDPNames())
	if len(backends) == 0 {
		return fmt.Errorf("none of the backends %q serves UDP (%q do)", m.opts.Backends, backend.UDPNames())
	}
	cells := closedLoopCells(m.opts.UDPFlows, m.opts.UDPSizes, m.opts.UDPDepths, true)
	if m.opts.UDPBulk {
		for _, c := range cells {
			if c.depth > 1 {
				c.gso = true
				cells = append(cells, c)
			}
		}
	}
	return m.closedLoop(ctx, "udp", cells, backends)
}

func udpTables(b *strings.Builder, cells []string, data map[string]cellData, bs []string) {
	b.WriteString("## 6. UDP echo, closed loop\n\n")
	b.WriteString("`airsock serve --udp` against `airsock load --udp`: each flow its own connected socket keeping `depth` " +
		"datagrams in flight, every datagram verified; one not back within 1 s is lost (and replaced). " +
		"\"client-bound\" as in section 1: then server µs/datagram is the figure to compare. " +
		"The generator sends each datagram on its own, as independent clients do, but in the cells \"sender=gso\" " +
		"(--udp-bulk), where each flow's datagrams in flight leave as one segmented send (UDP GSO), as a bulk " +
		"sender's would; a server with GRO on (loop and serversocket by default) then takes them coalesced, " +
		"the others get them cut by the kernel.\n\n")
	metricTable(b, "### datagrams/s", "dgrams/s", cells, data, bs, shortNum, clientBoundNote, true)
	metricTable(b, "### server CPU µs per datagram (user+system; lower is better)", "server-us/dgram", cells, data, bs, fixed(2), nil, true)
	if hasUnit(data, "server-syscalls/dgram") {
		metricTable(b, "### server syscalls per datagram (perf stat; lower is better)", "server-syscalls/dgram", cells, data, bs, fixed(3), nil, true)
	}
	metricTable(b, "### loss, % of the datagrams sent in the window", "loss-%", cells, data, bs, fixed(3), nil, false)
}
