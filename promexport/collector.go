package promexport

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// Collector is a prometheus.Collector of airsock's figures. Register it
// once (prometheus.MustRegister, or a Registry of one's own); Prometheus
// calls Describe and Collect from its own goroutines, and each scrape reads
// the counters without taking a lock any loop takes.
type Collector struct {
	mu      sync.Mutex // engines, and the snapshot Collect reuses
	engines []namedEngine
	snap    loop.Metrics
	loopIDs []string // "0", "1"...: labels made once
}

type namedEngine struct {
	name string
	e    *loop.Engine
}

// NewCollector returns a collector of serversocket's figures, and of the
// engines added to it. Any goroutine.
func NewCollector() *Collector { return &Collector{} }

// AddEngine adds e's loops to what c exports, labelled engine=name. Any
// goroutine; an engine added after registration shows from the next scrape.
func (c *Collector) AddEngine(name string, e *loop.Engine) {
	c.mu.Lock()
	c.engines = append(c.engines, namedEngine{name, e})
	c.mu.Unlock()
}

// Describe sends the descriptions of every series c exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range loopSeries {
		ch <- s.desc
	}
	ch <- closedDesc
	for _, s := range socketSeries {
		ch <- s.desc
	}
	ch <- eventsDesc
}

// Collect sends the figures as they are now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ne := range c.engines {
		ne.e.ReadMetrics(&c.snap)
		for i := range c.snap.Loops {
			m := &c.snap.Loops[i]
			id := c.loopID(i)
			for _, s := range loopSeries {
				ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value(m), ne.name, id)
			}
			for r, n := range m.Closed {
				ch <- prometheus.MustNewConstMetric(closedDesc, prometheus.CounterValue, float64(n), ne.name, id, loop.CloseReason(r).String())
			}
		}
	}
	var sm serversocket.Metrics
	serversocket.ReadMetrics(&sm)
	for _, s := range socketSeries {
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value(&sm))
	}
	for i, n := range sm.Events {
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(n), serversocket.EventTypes[i])
	}
}

func (c *Collector) loopID(i int) string {
	for len(c.loopIDs) <= i {
		c.loopIDs = append(c.loopIDs, strconv.Itoa(len(c.loopIDs)))
	}
	return c.loopIDs[i]
}
