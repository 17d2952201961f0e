package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-storage/plinth/io/iostat"
)

// driveCollector exports iostat's per-drive figures.
type driveCollector struct {
	src func() []iostat.Stats
}

var (
	driveLatency = prometheus.NewDesc("plinth_drive_io_latency_seconds",
		"Latency of IO to a drive as Plinth sees it, by kind of operation (iostat).", []string{"drive", "op"}, nil)
	driveBytes    = counter("plinth_drive_io_bytes_total", "Bytes read from or written to a drive.", "drive", "op")
	driveErrors   = counter("plinth_drive_io_errors_total", "Drive operations that returned an error.", "drive", "op")
	driveInFlight = gauge("plinth_drive_io_in_flight", "Drive operations started and not completed.", "drive", "op")
)

func (c *driveCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- driveLatency
	describe(ch, driveBytes, driveErrors, driveInFlight)
}

func (c *driveCollector) Collect(ch chan<- prometheus.Metric) {
	dup := seen{}
	for _, s := range c.src() {
		if !dup.first(s.Path) {
			continue
		}
		for _, k := range iostat.Kinds() {
			o, op := s.Ops[k], k.String()
			count, sum, buckets := histogram(o)
			m, err := prometheus.NewConstHistogram(driveLatency, count, sum, buckets, s.Path, op)
			if err != nil {
				m = prometheus.NewInvalidMetric(driveLatency, err)
			}
			ch <- m
			if k == iostat.Read || k == iostat.Write {
				driveBytes.emit(ch, float64(o.Bytes), s.Path, op)
			}
			driveErrors.emit(ch, float64(o.Errors), s.Path, op)
			driveInFlight.emit(ch, float64(o.InFlight), s.Path, op)
		}
	}
}

// histogram converts iostat's log2 µs buckets to Prometheus's cumulative
// buckets in seconds (see the package comment). The count is the buckets'
// total, not OpStats.Count, so that the two agree whatever IO completed
// while the snapshot was read.
func histogram(o iostat.OpStats) (count uint64, sum float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, iostat.NumBuckets-1)
	var cum uint64
	for i, n := range o.Buckets {
		cum += uint64(max(n, 0))
		if i < iostat.NumBuckets-1 {
			buckets[iostat.BucketUpper(i).Seconds()] = cum
		}
	}
	return cum, float64(o.SumMicros) / 1e6, buckets
}
