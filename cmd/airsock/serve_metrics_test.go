package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches url and parses it with Prometheus's own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: the text format does not parse: %v", err)
	}
	return fams
}

// metricsFamilies is a parsed scrape.
type metricsFamilies = map[string]*dto.MetricFamily

// scrapeUntil scrapes url until cond holds, failing the test after 10 s.
func scrapeUntil(t *testing.T, url string, cond func(metricsFamilies) bool) metricsFamilies {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f := scrape(t, url)
		if cond(f) {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("the metrics at %s never reached the state awaited", url)
		}
		time.Sleep(5 * time.Millisecond) // the counters move on the server's loops: nothing to await
	}
}

// sum adds the values of family name's series whose labels include want.
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	var total float64
series:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		}
	}
	return total
}

// TestServeMetrics: `serve --metrics` serves /metrics in Prometheus's text
// format, and after a known workload (8 connections, each echoing 10
// messages of 100 bytes, then closing) the figures are exactly that:
// 8 accepted, 8 closed by the peer, 8,000 bytes each way, none open; on
// serversocket, 8 more connect and close events too.
func TestServeMetrics(t *testing.T) {
	for _, b := range []string{"loop", "serversocket"} {
		t.Run(b, func(t *testing.T) {
			s := startServe(t, "--backend", b, "--proto", "echo", "--addr", "127.0.0.1:0", "--loops", "2", "--metrics", "127.0.0.1:0")
			url, ok := strings.CutPrefix(s.line(t), "metrics on ")
			if !ok {
				t.Fatalf("no metrics line")
			}
			before := scrape(t, url)
			const conns, msgs, size = 8, 10, 100
			msg := bytes.Repeat([]byte("m"), size)
			for range conns {
				nc, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				for range msgs {
					nc.Write(msg)
					if _, err := io.ReadFull(nc, make([]byte, size)); err != nil {
						t.Fatal(err)
					}
				}
				nc.Close()
			}
			after := scrapeUntil(t, url, func(f metricsFamilies) bool {
				return sum(f, "airsock_connections_closed_total", map[string]string{"reason": "peer"}) == conns
			})
			for name, want := range map[string]float64{
				"airsock_connections_accepted_total": conns,
				"airsock_connections_open":           0,
				"airsock_received_bytes_total":       conns * msgs * size,
				"airsock_sent_bytes_total":           conns * msgs * size,
				"airsock_panics_total":               0,
			} {
				if got := sum(after, name, nil); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			if got := sum(after, "airsock_connections_closed_total", map[string]string{"reason": "peer"}); got != conns {
				t.Errorf("closed by the peer: %v, want %d", got, conns)
			}
			if got := sum(after, "airsock_callbacks_total", nil); got < conns*msgs {
				t.Errorf("callbacks %v, want at least %d", got, conns*msgs)
			}
			if sum(after, "airsock_loop_busy_seconds_total", nil) <= 0 || sum(after, "airsock_syscalls_total", nil) <= 0 {
				t.Error("no busy time or syscalls")
			}
			if sum(after, "go_goroutines", nil) <= 0 {
				t.Error("no Go runtime metrics")
			}
			if b == "serversocket" {
				for _, typ := range []string{"connect", "close"} {
					d := sum(after, "airsock_events_total", map[string]string{"type": typ}) - sum(before, "airsock_events_total", map[string]string{"type": typ})
					if typ == "connect" && d != conns || typ == "close" && d != conns {
						t.Errorf("%s events: %v more, want %d", typ, d, conns)
					}
				}
			}
		})
	}
}
