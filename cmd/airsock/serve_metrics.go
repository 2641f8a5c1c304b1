package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sys/unix"

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
	ln  net.Listener
	url string
}

// startMetrics listens on addr, or on inherited (a predecessor's socket,
// which it duplicates), and serves s's metrics until stop; a failure of
// the HTTP server later goes to stderr.
func startMetrics(addr string, inherited *os.File, s backend.Server, stderr io.Writer) (*metricsServer, error) {
	reg := prometheus.NewRegistry()
	col := promexport.NewCollector()
	if e, ok := s.(interface{ Engine() *loop.Engine }); ok {
		col.AddEngine("serve", e.Engine())
	}
	reg.MustRegister(col, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var ln net.Listener
	var err error
	if inherited != nil {
		ln, err = net.FileListener(inherited)
	} else {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	m := &metricsServer{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		ln:  ln,
		url: "http://" + ln.Addr().String() + "/metrics",
	}
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "airsock serve: --metrics: %v\n", err)
		}
	}()
	return m, nil
}

// file returns a duplicate of the metrics socket for a successor (a
// hand-over: it cannot bind the port while this process holds it). The
// duplicate is made through SyscallConn: the File method of package net's
// listener would hand os/exec a descriptor whose Fd puts the socket, shared
// with this process's own, in blocking mode.
func (m *metricsServer) file() (*os.File, error) {
	rc, err := m.ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		return nil, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("fcntl", derr)
	}
	return os.NewFile(uintptr(fd), "metrics"), nil
}

// stop ends the metrics server, letting a scrape in progress finish.
func (m *metricsServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m.srv.Shutdown(ctx)
}
