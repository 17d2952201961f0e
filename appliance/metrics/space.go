package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-storage/plinth/pool"
)

// spaceCollector exports the pools' space (pool.FSStat).
type spaceCollector struct {
	src func() []pool.FSStat
}

var (
	poolRaw          = gauge("plinth_pool_raw_bytes", "Bytes of every segment of the pool's drives.", "pool")
	poolUsable       = gauge("plinth_pool_usable_bytes", "Bytes clients can store in the pool's data segments, after redundancy.", "pool")
	poolUsed         = gauge("plinth_pool_used_bytes", "Live bytes in the pool, after redundancy.", "pool")
	poolFree         = gauge("plinth_pool_free_bytes", "Free bytes clients can still store, after redundancy, less the cleaner's reserve.", "pool")
	poolReclaimable  = gauge("plinth_pool_reclaimable_bytes", "Bytes cleaning the sealed sets would give back, after redundancy.", "pool")
	poolReserve      = gauge("plinth_pool_reserve_bytes", "Raw bytes of free segments kept for the cleaner.", "pool")
	poolUnavailable  = gauge("plinth_pool_unavailable_bytes", "Raw bytes of free segments on faulty and out drives.", "pool")
	poolDrives       = gauge("plinth_pool_drives", "Drives in the pool.", "pool")
	poolSets         = gauge("plinth_pool_sets", "Segment sets of the pool by state.", "pool", "state")
	poolProtected    = gauge("plinth_pool_write_protected", "1 when the pool refuses writes (metadata space ran out).", "pool")
	metaCapacity     = gauge("plinth_metadata_capacity_bytes", "Bytes of the metadata store's segments (on each mirror).")
	metaUsed         = gauge("plinth_metadata_used_bytes", "Bytes live in the metadata store's last checkpoint.")
	metaDirty        = gauge("plinth_metadata_dirty_bytes", "Bytes of metadata changes not checkpointed yet.")
	metaReserved     = gauge("plinth_metadata_reserved_bytes", "Bytes of metadata space kept free so checkpoints can go on.")
	spaceSeriesNames = []series{poolRaw, poolUsable, poolUsed, poolFree, poolReclaimable, poolReserve, poolUnavailable,
		poolDrives, poolSets, poolProtected, metaCapacity, metaUsed, metaDirty, metaReserved}
)

func (c *spaceCollector) Describe(ch chan<- *prometheus.Desc) { describe(ch, spaceSeriesNames...) }

func (c *spaceCollector) Collect(ch chan<- prometheus.Metric) {
	dup := seen{}
	for i, f := range c.src() {
		if i == 0 {
			m := f.Metadata
			metaCapacity.emit(ch, float64(m.CapacityBytes))
			metaUsed.emit(ch, float64(m.UsedBytes))
			metaDirty.emit(ch, float64(m.DirtyBytes))
			metaReserved.emit(ch, float64(m.ReservedBytes))
		}
		if !dup.first(f.Pool) {
			continue
		}
		d, p := f.Data, f.Pool
		poolRaw.emit(ch, float64(d.RawBytes), p)
		poolUsable.emit(ch, float64(d.UsableBytes), p)
		poolUsed.emit(ch, float64(d.UsedBytes), p)
		poolFree.emit(ch, float64(d.FreeUsableBytes), p)
		poolReclaimable.emit(ch, float64(d.ReclaimableBytes), p)
		poolReserve.emit(ch, float64(d.ReserveBytes), p)
		poolUnavailable.emit(ch, float64(d.UnavailableBytes), p)
		poolDrives.emit(ch, float64(d.Drives), p)
		poolSets.emit(ch, float64(d.OpenSets), p, "open")
		poolSets.emit(ch, float64(d.SealedSets), p, "sealed")
		poolSets.emit(ch, float64(d.CleaningSets), p, "cleaning")
		poolProtected.emit(ch, b2f(f.WriteProtected != ""), p)
	}
}
