package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-storage/plinth/btree/store"
)

// storeCollector exports the metadata store and its journal (store.Stats).
type storeCollector struct {
	src func() store.Stats
}

var (
	metaCheckpoints  = counter("plinth_metadata_checkpoints_total", "Checkpoints installed since the store was opened.")
	metaCkptFailed   = counter("plinth_metadata_checkpoints_failed_total", "Checkpoints that failed.")
	metaCkptDuration = gauge("plinth_metadata_checkpoint_duration_seconds", "How long the last checkpoint took.")
	metaCkptPause    = gauge("plinth_metadata_checkpoint_cut_pause_max_seconds", "The longest time a checkpoint's cut held writers.")
	metaCkptLast     = gauge("plinth_metadata_checkpoint_last_timestamp_seconds", "When the last checkpoint was installed (Unix time), 0 before the first.")
	metaWritten      = counter("plinth_metadata_written_bytes_total", "Bytes checkpoints wrote.")
	metaCleaned      = counter("plinth_metadata_segments_cleaned_total", "Metadata segments cleaned.")
	metaReadOnly     = gauge("plinth_metadata_read_only", "1 when the metadata store refuses changes.")
	metaCacheHits    = counter("plinth_metadata_cache_hits_total", "B-tree node loads answered from the cache.")
	metaCacheMisses  = counter("plinth_metadata_cache_misses_total", "B-tree node loads that read the node.")
	metaCacheEvicted = counter("plinth_metadata_cache_evictions_total", "B-tree nodes dropped from the cache to make room.")
	metaCacheBytes   = gauge("plinth_metadata_cache_bytes", "Bytes of B-tree nodes cached.")
	metaCacheLimit   = gauge("plinth_metadata_cache_limit_bytes", "The bound on the node cache.")
	journalCommits   = counter("plinth_metadata_journal_commits_total", "Metadata transactions the journal acknowledged.")
	journalBatches   = counter("plinth_metadata_journal_batches_total", "Group commits (one write and flush per mirror each).")
	journalBytes     = counter("plinth_metadata_journal_bytes_total", "Transaction bytes the journal acknowledged.")
	journalSegments  = counter("plinth_metadata_journal_segments_total", "Journal segments started.")
	journalHealthy   = gauge("plinth_metadata_journal_healthy_mirrors", "Journal mirrors in use.")
	journalUsed      = gauge("plinth_metadata_journal_used_segments", "Journal ring positions holding records not yet checkpointed.")
	journalRing      = gauge("plinth_metadata_journal_ring_segments", "Journal ring positions.")
	journalReadOnly  = gauge("plinth_metadata_journal_read_only", "1 when the journal refuses commits (too few healthy mirrors).")
	journalWaiting   = gauge("plinth_metadata_journal_waiting", "1 while commits wait for a checkpoint to free journal space.")
	metaMirrors      = gauge("plinth_metadata_mirrors", "Metadata mirrors by state: healthy (whole), partial (being rebuilt from the others), failed.", "state")
	metaResilverDone = gauge("plinth_metadata_resilver_rewritten_bytes", "Live metadata bytes the current or last resilver rewrote onto every mirror.")
	metaResilverAll  = gauge("plinth_metadata_resilver_total_bytes", "Live metadata bytes the current or last resilver has to rewrite (0: none ran).")
	storeSeriesAll   = []series{metaMirrors, metaResilverDone, metaResilverAll, metaCheckpoints, metaCkptFailed, metaCkptDuration, metaCkptPause, metaCkptLast, metaWritten, metaCleaned, metaReadOnly,
		metaCacheHits, metaCacheMisses, metaCacheEvicted, metaCacheBytes, metaCacheLimit,
		journalCommits, journalBatches, journalBytes, journalSegments, journalHealthy, journalUsed, journalRing, journalReadOnly, journalWaiting}
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) { describe(ch, storeSeriesAll...) }

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src()
	metaCheckpoints.emit(ch, float64(s.Checkpoints))
	metaCkptFailed.emit(ch, float64(s.FailedCkpts))
	metaCkptDuration.emit(ch, s.LastDuration.Seconds())
	metaCkptPause.emit(ch, s.MaxCutPause.Seconds())
	last := 0.0
	if !s.LastCheckpoint.IsZero() {
		last = float64(s.LastCheckpoint.UnixNano()) / 1e9
	}
	metaCkptLast.emit(ch, last)
	metaWritten.emit(ch, float64(s.BytesWritten))
	metaCleaned.emit(ch, float64(s.Cleaned))
	metaReadOnly.emit(ch, b2f(s.ReadOnly != ""))
	metaCacheHits.emit(ch, float64(s.Cache.Hits))
	metaCacheMisses.emit(ch, float64(s.Cache.Misses))
	metaCacheEvicted.emit(ch, float64(s.Cache.Evictions))
	metaCacheBytes.emit(ch, float64(s.Cache.Bytes))
	metaCacheLimit.emit(ch, float64(s.Cache.Limit))
	states := map[string]int{"healthy": 0, "partial": 0, "failed": 0}
	for _, m := range s.Mirrors {
		switch {
		case !m.Healthy:
			states["failed"]++
		case m.Partial:
			states["partial"]++
		default:
			states["healthy"]++
		}
	}
	for state, n := range states {
		metaMirrors.emit(ch, float64(n), state)
	}
	metaResilverDone.emit(ch, float64(s.Resilver.BytesDone))
	metaResilverAll.emit(ch, float64(s.Resilver.Bytes))
	j := s.Journal
	journalCommits.emit(ch, float64(j.Commits))
	journalBatches.emit(ch, float64(j.Batches))
	journalBytes.emit(ch, float64(j.Bytes))
	journalSegments.emit(ch, float64(j.Segments))
	journalHealthy.emit(ch, float64(j.Healthy))
	journalUsed.emit(ch, float64(j.UsedSegs))
	journalRing.emit(ch, float64(j.RingSize))
	journalReadOnly.emit(ch, b2f(j.ReadOnly))
	journalWaiting.emit(ch, b2f(j.Waiting))
}
