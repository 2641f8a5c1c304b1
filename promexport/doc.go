// Package promexport exports airsock's figures to Prometheus: a
// prometheus.Collector that reads loop.Engine.ReadMetrics for each engine
// added and serversocket.ReadMetrics at every scrape.
//
// The library itself imports no metrics library: its counters are words
// each loop writes without a lock (loop.Metrics). This package is the one
// that knows Prometheus, so a program that does not scrape does not link
// client_golang. It imports loop and serversocket, and nothing imports it
// but programs (airsock serve --metrics).
//
// Series, every one labelled engine (the name given to AddEngine) and loop
// (its index), all counters ending in _total:
//
//	airsock_connections_open, airsock_connections_paused, airsock_loop_queued_tasks (gauges)
//	airsock_connections_accepted_total, airsock_connections_dialled_total
//	airsock_connections_closed_total{reason="peer|local|shutdown|idle_timeout|write_timeout|reset|limit|error|panic"}
//	airsock_received_bytes_total, airsock_sent_bytes_total, airsock_callbacks_total
//	airsock_reads_total, airsock_writes_total, airsock_waits_total, airsock_syscalls_total
//	airsock_accept_backoffs_total, airsock_panics_total
//	airsock_proxy_headers_total, airsock_proxy_rejected_total, airsock_proxy_malformed_total
//	airsock_loop_busy_seconds_total, airsock_loop_up_seconds
//
// and, without labels but type, serversocket's:
//
//	airsock_sockets_opened_total, airsock_sockets_closed_total, airsock_sockets_open
//	airsock_events_total{type="connect|socketData|close|..."}
//
// A loop's load is rate(airsock_loop_busy_seconds_total[1m]): the share of
// the time it was serving rather than waiting.
package promexport
