package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/airsock/airsock/internal/backend"
	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/promexport"
)

// metricsServer is `serve --metrics`: /metrics in Prometheus's text format,
// with airsock's figures (the loop's for backends on it, serversocket's),
// the Go runtime's and the process's.
type metricsServer struct {
	srv *http.Server
	url string
}

// startMetrics listens on addr and serves s's metrics until stop.
func startMetrics(addr string, s backend.Server) (*metricsServer, error) {
	reg := prometheus.NewRegistry()
	col := promexport.NewCollector()
	if e, ok := s.(interface{ Engine() *loop.Engine }); ok {
		col.AddEngine("serve", e.Engine())
	}
	reg.MustRegister(col, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	m := &metricsServer{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		url: "http://" + ln.Addr().String() + "/metrics",
	}
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("airsock serve: --metrics: %v\n", err)
		}
	}()
	return m, nil
}

// stop ends the metrics server, letting a scrape in progress finish.
func (m *metricsServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m.srv.Shutdown(ctx)
}
