package metrics

import "github.com/prometheus/client_golang/prometheus"

// series is one series family a collector reads from a source at scrape
// time.
type series struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
}

func counter(name, help string, labels ...string) series {
	return series{prometheus.NewDesc(name, help, labels, nil), prometheus.CounterValue}
}

func gauge(name, help string, labels ...string) series {
	return series{prometheus.NewDesc(name, help, labels, nil), prometheus.GaugeValue}
}

// emit sends one sample. Label values that Prometheus refuses (invalid
// UTF-8 in a name a source gave) make an invalid metric, which fails that
// series only, never the scrape or the process.
func (s series) emit(ch chan<- prometheus.Metric, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(s.desc, s.typ, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(s.desc, err)
	}
	ch <- m
}

func describe(ch chan<- *prometheus.Desc, ss ...series) {
	for _, s := range ss {
		ch <- s.desc
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// seen filters out repeated label values, which would fail the scrape.
type seen map[string]bool

func (s seen) first(key string) bool {
	if s[key] {
		return false
	}
	s[key] = true
	return true
}
