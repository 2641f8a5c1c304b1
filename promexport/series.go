package promexport

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// series is one exported figure: its description, its kind and where it
// comes from in a snapshot.
type series[M any] struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*M) float64
}

var loopLabels = []string{"engine", "loop"}

func loopGauge(name, help string, v func(*loop.LoopMetrics) float64) series[loop.LoopMetrics] {
	return series[loop.LoopMetrics]{prometheus.NewDesc("airsock_"+name, help, loopLabels, nil), prometheus.GaugeValue, v}
}

func loopCounter(name, help string, v func(*loop.LoopMetrics) uint64) series[loop.LoopMetrics] {
	return series[loop.LoopMetrics]{prometheus.NewDesc("airsock_"+name+"_total", help, loopLabels, nil), prometheus.CounterValue,
		func(m *loop.LoopMetrics) float64 { return float64(v(m)) }}
}

var loopSeries = []series[loop.LoopMetrics]{
	loopGauge("connections_open", "Connections registered on the loop.", func(m *loop.LoopMetrics) float64 { return float64(m.Open) }),
	loopGauge("connections_paused", "Open connections whose reading is paused by back-pressure.", func(m *loop.LoopMetrics) float64 { return float64(m.Paused) }),
	loopGauge("loop_queued_tasks", "Tasks other goroutines queued for the loop.", func(m *loop.LoopMetrics) float64 { return float64(m.Queued) }),
	loopGauge("loop_up_seconds", "Time since the loop started.", func(m *loop.LoopMetrics) float64 { return m.Up.Seconds() }),
	loopCounter("connections_accepted", "Connections accepted by the loop's listeners.", func(m *loop.LoopMetrics) uint64 { return m.Accepted }),
	loopCounter("connections_dialled", "Dials started on the loop, connected or not (a failed one is counted closed too).", func(m *loop.LoopMetrics) uint64 { return m.Dialled }),
	loopCounter("received_bytes", "Bytes read from sockets (TLS: ciphertext).", func(m *loop.LoopMetrics) uint64 { return m.BytesIn }),
	loopCounter("sent_bytes", "Bytes the kernel took for sending.", func(m *loop.LoopMetrics) uint64 { return m.BytesOut }),
	loopCounter("callbacks", "OnData calls: batches of messages handed to handlers.", func(m *loop.LoopMetrics) uint64 { return m.Callbacks }),
	loopCounter("reads", "Socket reads that returned bytes or the end of stream.", func(m *loop.LoopMetrics) uint64 { return m.Reads }),
	loopCounter("writes", "Writes handed to the I/O backend.", func(m *loop.LoopMetrics) uint64 { return m.Writes }),
	loopCounter("waits", "Waits on the I/O backend.", func(m *loop.LoopMetrics) uint64 { return m.Waits }),
	loopCounter("syscalls", "Syscalls made for the loop's I/O, as its backend counts them.", func(m *loop.LoopMetrics) uint64 { return m.Syscalls }),
	loopCounter("accept_backoffs", "Times a listener stopped accepting for lack of descriptors or memory.", func(m *loop.LoopMetrics) uint64 { return m.AcceptBackoffs }),
	loopCounter("panics", "Handler panics recovered.", func(m *loop.LoopMetrics) uint64 { return m.Panics }),
	loopCounter("proxy_headers", "PROXY protocol headers taken.", func(m *loop.LoopMetrics) uint64 { return m.ProxyHeaders }),
	loopCounter("proxy_rejected", "Connections refused for a PROXY header from an untrusted source, or for none where one is required.", func(m *loop.LoopMetrics) uint64 { return m.ProxyRejected }),
	loopCounter("proxy_malformed", "Connections closed for a malformed PROXY header.", func(m *loop.LoopMetrics) uint64 { return m.ProxyMalformed }),
	{prometheus.NewDesc("airsock_loop_busy_seconds_total", "Time the loop spent serving rather than waiting.", loopLabels, nil), prometheus.CounterValue,
		func(m *loop.LoopMetrics) float64 { return m.Busy.Seconds() }},
}

var closedDesc = prometheus.NewDesc("airsock_connections_closed_total", "Connections closed, by reason.", []string{"engine", "loop", "reason"}, nil)

var socketSeries = []series[serversocket.Metrics]{
	{prometheus.NewDesc("airsock_sockets_opened_total", "serversocket Sockets that got a connection.", nil, nil), prometheus.CounterValue,
		func(m *serversocket.Metrics) float64 { return float64(m.SocketsOpened) }},
	{prometheus.NewDesc("airsock_sockets_closed_total", "serversocket Sockets whose connection ended.", nil, nil), prometheus.CounterValue,
		func(m *serversocket.Metrics) float64 { return float64(m.SocketsClosed) }},
	{prometheus.NewDesc("airsock_sockets_open", "serversocket Sockets connected now.", nil, nil), prometheus.GaugeValue,
		func(m *serversocket.Metrics) float64 { return float64(m.SocketsOpened - m.SocketsClosed) }},
}

var eventsDesc = prometheus.NewDesc("airsock_events_total", "serversocket events dispatched, by type.", []string{"type"}, nil)
