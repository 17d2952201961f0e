package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Background is where a pool's background work stands: its rebuild and
// its scrub (the server's figures, passed in so that this package needs
// nothing above the pool).
type Background struct {
	Pool               string
	Rebuilding         bool
	RebuildSetsDone    int
	RebuildSetsTotal   int
	RebuildBytes       int64
	RebuildETASeconds  float64 // 0: unknown or idle
	Scrubbing          bool
	ScrubSetsDone      int64
	ScrubSetsTotal     int64
	ScrubLastCompleted float64 // Unix seconds; 0: never
	ScrubDamagedLast   int64
	ScrubUnrecoverLast int64
}

// backgroundCollector exports Sources.Background.
type backgroundCollector struct {
	src func() []Background
}

var (
	rebuildRunning   = gauge("plinth_rebuild_running", "1 while the pool rebuilds members of failed drives.", "pool")
	rebuildSetsDone  = gauge("plinth_rebuild_sets_done", "Sets the current (or last) rebuild finished.", "pool")
	rebuildSetsTotal = gauge("plinth_rebuild_sets_total", "Sets the current (or last) rebuild has to do.", "pool")
	rebuildBytes     = gauge("plinth_rebuild_written_bytes", "Bytes the current (or last) rebuild wrote to new members.", "pool")
	rebuildETA       = gauge("plinth_rebuild_eta_seconds", "Expected time left of the rebuild, from its pace (0: unknown or idle).", "pool")
	scrubRunning     = gauge("plinth_scrub_running", "1 while a scrub pass runs.", "pool")
	scrubSetsDone    = gauge("plinth_scrub_sets_done", "Sets the scrub pass under way has checked.", "pool")
	scrubSetsTotal   = gauge("plinth_scrub_sets_total", "Sets the scrub pass under way checks.", "pool")
	scrubLast        = gauge("plinth_scrub_last_completed_timestamp_seconds", "When the last complete scrub pass ended (0: never).", "pool")
	scrubDamaged     = gauge("plinth_scrub_damaged_stripes", "Damaged stripes the last complete pass found (queued for repair).", "pool")
	scrubUnrecover   = gauge("plinth_scrub_unrecoverable_stripes", "Stripes the last complete pass found beyond repair.", "pool")
	backgroundSeries = []series{rebuildRunning, rebuildSetsDone, rebuildSetsTotal, rebuildBytes, rebuildETA,
		scrubRunning, scrubSetsDone, scrubSetsTotal, scrubLast, scrubDamaged, scrubUnrecover}
)

func (c *backgroundCollector) Describe(ch chan<- *prometheus.Desc) { describe(ch, backgroundSeries...) }

func (c *backgroundCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[string]bool{}
	for _, b := range c.src() {
		if seen[b.Pool] {
			continue
		}
		seen[b.Pool] = true
		p := b.Pool
		rebuildRunning.emit(ch, b2f(b.Rebuilding), p)
		rebuildSetsDone.emit(ch, float64(b.RebuildSetsDone), p)
		rebuildSetsTotal.emit(ch, float64(b.RebuildSetsTotal), p)
		rebuildBytes.emit(ch, float64(b.RebuildBytes), p)
		rebuildETA.emit(ch, b.RebuildETASeconds, p)
		scrubRunning.emit(ch, b2f(b.Scrubbing), p)
		scrubSetsDone.emit(ch, float64(b.ScrubSetsDone), p)
		scrubSetsTotal.emit(ch, float64(b.ScrubSetsTotal), p)
		scrubLast.emit(ch, b.ScrubLastCompleted, p)
		scrubDamaged.emit(ch, float64(b.ScrubDamagedLast), p)
		scrubUnrecover.emit(ch, float64(b.ScrubUnrecoverLast), p)
	}
}
