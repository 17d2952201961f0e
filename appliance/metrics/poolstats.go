package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-storage/plinth/pool"
)

// poolCollector exports the pools' counters (pool.Stats).
type poolCollector struct {
	src func() map[string]pool.Stats
}

var (
	poolPuts          = counter("plinth_pool_puts_total", "Writes the pool committed.", "pool")
	poolDeletes       = counter("plinth_pool_deletes_total", "Deletes the pool committed.", "pool")
	poolWritten       = counter("plinth_pool_written_bytes_total", "Payload bytes written.", "pool")
	poolRead          = counter("plinth_pool_read_bytes_total", "Payload bytes read.", "pool")
	poolCommits       = counter("plinth_pool_commits_total", "Metadata commits (each takes a group of writes).", "pool")
	poolDegraded      = counter("plinth_pool_degraded_reads_total", "Reads that rebuilt data from parity.", "pool")
	poolRepaired      = counter("plinth_pool_repaired_stripes_total", "Damaged stripes repaired.", "pool")
	poolCleaned       = counter("plinth_pool_sets_cleaned_total", "Segment sets the cleaner emptied.", "pool")
	poolReleased      = counter("plinth_pool_sets_released_total", "Segment sets freed.", "pool")
	poolRelocated     = counter("plinth_pool_relocated_bytes_total", "Record bytes the cleaner and repairs moved.", "pool")
	poolCleanerActive = gauge("plinth_pool_cleaner_active", "1 while the cleaner works because free space is low.", "pool")
	poolSeries        = []series{poolPuts, poolDeletes, poolWritten, poolRead, poolCommits, poolDegraded,
		poolRepaired, poolCleaned, poolReleased, poolRelocated, poolCleanerActive}
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) { describe(ch, poolSeries...) }

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	stats := c.src()
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, p := range names {
		s := stats[p]
		poolPuts.emit(ch, float64(s.Puts), p)
		poolDeletes.emit(ch, float64(s.Deletes), p)
		poolWritten.emit(ch, float64(s.BytesWritten), p)
		poolRead.emit(ch, float64(s.BytesRead), p)
		poolCommits.emit(ch, float64(s.Commits), p)
		poolDegraded.emit(ch, float64(s.DegradedReads), p)
		poolRepaired.emit(ch, float64(s.Repaired), p)
		poolCleaned.emit(ch, float64(s.SetsCleaned), p)
		poolReleased.emit(ch, float64(s.SetsReleased), p)
		poolRelocated.emit(ch, float64(s.BytesRelocated), p)
		poolCleanerActive.emit(ch, b2f(s.Cleaner.Active), p)
	}
}
