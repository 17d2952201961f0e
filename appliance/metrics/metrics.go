package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/iostat"
	"github.com/plinth-storage/plinth/pool"
)

// Sources are read at every scrape. Any may be nil.
type Sources struct {
	Drives    func() []iostat.Stats        // one per drive
	Pools     func() []pool.FSStat         // one per pool
	PoolStats func() map[string]pool.Stats // by pool name
	Store     func() store.Stats           // the node's metadata store
	// Background is each pool's rebuild and scrub (plinth_rebuild_*,
	// plinth_scrub_*).
	Background func() []Background
}

// Metrics is the node's Prometheus registry and the series the HTTP API
// feeds. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	bytesIn   *prometheus.CounterVec
	bytesOut  *prometheus.CounterVec
	inFlight  prometheus.Gauge
	rejected  *prometheus.CounterVec
	events    *prometheus.CounterVec
}

// New returns a registry with the Go and process collectors, the HTTP API's
// series and collectors for every non-nil source.
func New(o Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_http_requests_total",
			Help: "HTTP API requests completed, by API, operation and status code.",
		}, []string{"api", "op", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "plinth_http_request_duration_seconds",
			Help:    "Time from a request's arrival to its last response byte.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 17), // 0.5 ms .. 32 s
		}, []string{"api", "op"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_http_request_bytes_total",
			Help: "Bytes of request bodies received.",
		}, []string{"api", "op"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_http_response_bytes_total",
			Help: "Bytes of response bodies sent.",
		}, []string{"api", "op"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "plinth_http_requests_in_flight",
			Help: "HTTP API requests being served.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_http_rejected_total",
			Help: "HTTP API requests refused before they were served (back-pressure, limits), by reason.",
		}, []string{"reason"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_events_total",
			Help: "Events recorded in the events journal, by kind and severity.",
		}, []string{"kind", "severity"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.durations, m.bytesIn, m.bytesOut, m.inFlight, m.rejected, m.events,
	)
	if o.Drives != nil {
		m.reg.MustRegister(&driveCollector{src: o.Drives})
	}
	if o.Pools != nil {
		m.reg.MustRegister(&spaceCollector{src: o.Pools})
	}
	if o.Background != nil {
		m.reg.MustRegister(&backgroundCollector{src: o.Background})
	}
	if o.PoolStats != nil {
		m.reg.MustRegister(&poolCollector{src: o.PoolStats})
	}
	if o.Store != nil {
		m.reg.MustRegister(&storeCollector{src: o.Store})
	}
	return m
}

// Registry returns the registry, for callers that add collectors of their
// own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats. A
// collector that fails does not fail the scrape: the rest is served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // promhttp_metric_handler_errors_total
	})
}

// ObserveRequest counts a completed API request: its status code, how long
// it took and the bytes of its request and response bodies.
func (m *Metrics) ObserveRequest(api, op string, status int, d time.Duration, bytesIn, bytesOut int64) {
	m.requests.WithLabelValues(api, op, strconv.Itoa(status)).Inc()
	m.durations.WithLabelValues(api, op).Observe(d.Seconds())
	if bytesIn > 0 {
		m.bytesIn.WithLabelValues(api, op).Add(float64(bytesIn))
	}
	if bytesOut > 0 {
		m.bytesOut.WithLabelValues(api, op).Add(float64(bytesOut))
	}
}

// InFlight adds delta (+1 when a request starts, -1 when it ends) to the
// requests in flight.
func (m *Metrics) InFlight(delta int) { m.inFlight.Add(float64(delta)) }

// Rejected counts a request refused for reason.
func (m *Metrics) Rejected(reason string) { m.rejected.WithLabelValues(reason).Inc() }

// Events counts an event recorded in the events journal.
func (m *Metrics) Events(kind, severity string) { m.events.WithLabelValues(kind, severity).Inc() }
