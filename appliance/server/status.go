package server

import (
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/metrics"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/iostat"
	"github.com/plinth-storage/plinth/pool"

	"github.com/plinth-storage/plinth/hw/biolat"
)

// Status is the node's status document (GET /v1/status).
type Status struct {
	Node     string               `json:"node"`
	Started  time.Time            `json:"started"`
	Uptime   string               `json:"uptime"`
	ReadOnly string               `json:"read_only,omitempty"` // why the metadata store refuses changes
	Drives   []DriveStatus        `json:"drives"`
	Space    appliance.NodeFSStat `json:"space"`
	Pools    []PoolStatus         `json:"pools"`
	Metadata MetadataStatus       `json:"metadata"`
	Scrub    []ScrubStatus        `json:"scrub"`
	Rebuild  []RebuildStatus      `json:"rebuild"`
	Requests int                  `json:"requests_in_flight"`
	// LatencySource says where the drives' latency figures come from.
	LatencySource biolat.Source `json:"latency_source"`
}

// DriveStatus is one drive.
type DriveStatus struct {
	Position uint32                   `json:"position"`
	Path     string                   `json:"path"`
	Zoned    bool                     `json:"zoned"`
	Bytes    int64                    `json:"bytes"`
	IO       map[string]DriveOpStatus `json:"io"`
}

// DriveOpStatus sums one kind of IO of a drive.
type DriveOpStatus struct {
	Count    int64  `json:"count"`
	Bytes    int64  `json:"bytes"`
	Errors   int64  `json:"errors"`
	InFlight int64  `json:"in_flight"`
	P50      string `json:"p50"`
	P99      string `json:"p99"`
}

// PoolStatus is one pool's state.
type PoolStatus struct {
	Name   string     `json:"name"`
	Layout string     `json:"layout"`
	Stats  pool.Stats `json:"stats"`
	Repair int        `json:"repair_queue"`
}

// MetadataStatus is the metadata store's state.
type MetadataStatus struct {
	Mirrors        int       `json:"mirrors_healthy"`
	CheckpointGen  uint64    `json:"checkpoint"`
	LastCheckpoint time.Time `json:"last_checkpoint"`
	Trees          int       `json:"trees"`
	// MirrorDrives is every metadata mirror the node opened.
	MirrorDrives []MetadataMirrorStatus `json:"mirrors"`
	// Resilver is the rebuilding of partial mirrors from the others, when
	// one ran since the start.
	Resilver *store.ResilverProgress `json:"resilver,omitempty"`
}

// MetadataMirrorStatus is one metadata mirror.
type MetadataMirrorStatus struct {
	Drive   string `json:"drive"`
	Healthy bool   `json:"healthy"`
	// Partial: it does not hold the whole store yet and is being rebuilt
	// from the others (a resilver); it is read only where it was
	// written since the start.
	Partial bool   `json:"partial"`
	Failure string `json:"failure,omitempty"`
}

// Status returns the node's status.
func (s *Server) Status() Status {
	st := s.meta.Stats()
	out := Status{
		Node: s.node.ID.String(), Started: s.start.UTC(), Uptime: time.Since(s.start).Round(time.Second).String(),
		ReadOnly: st.ReadOnly, Space: appliance.FSStat(s.pools),
		Metadata:      MetadataStatus{Mirrors: st.Journal.Healthy, CheckpointGen: st.CheckpointGen, LastCheckpoint: st.LastCheckpoint, Trees: st.Trees},
		Requests:      len(s.api.Requests()),
		Scrub:         s.scrub.Status(),
		Rebuild:       s.rebuild.Status(),
		LatencySource: s.LatencySource(),
	}
	for _, m := range st.Mirrors {
		out.Metadata.MirrorDrives = append(out.Metadata.MirrorDrives, MetadataMirrorStatus{Drive: m.Name, Healthy: m.Healthy, Partial: m.Partial, Failure: m.Failure})
	}
	if st.Resilver.Mirrors != nil {
		r := st.Resilver
		out.Metadata.Resilver = &r
	}
	for _, d := range s.node.Drives {
		ds := DriveStatus{Position: d.Label.Label().Position, Path: d.Path, Zoned: d.Dev.Geometry().Zoned != 0, Bytes: d.Dev.Geometry().Size, IO: map[string]DriveOpStatus{}}
		if w, ok := d.Dev.(*iostat.Device); ok {
			snap := w.Snapshot()
			for _, k := range iostat.Kinds() {
				o := snap.Ops[k]
				ds.IO[k.String()] = DriveOpStatus{Count: o.Count, Bytes: o.Bytes, Errors: o.Errors, InFlight: o.InFlight,
					P50: o.Percentile(50).String(), P99: o.Percentile(99).String()}
			}
		}
		out.Drives = append(out.Drives, ds)
	}
	for _, p := range s.pools {
		q, _ := p.RepairQueue()
		out.Pools = append(out.Pools, PoolStatus{Name: p.Name(), Layout: p.Layout().String(), Stats: p.Stats(), Repair: len(q)})
	}
	return out
}

// background is each pool's rebuild and scrub, for /metrics.
func (s *Server) background() []metrics.Background {
	if s.rebuild == nil || s.scrub == nil {
		return nil
	}
	rs, ss := s.rebuild.Status(), s.scrub.Status()
	var out []metrics.Background
	for i, p := range s.pools {
		b := metrics.Background{Pool: p.Name()}
		if i < len(rs) {
			r := rs[i]
			b.Rebuilding, b.RebuildSetsDone, b.RebuildSetsTotal, b.RebuildBytes = r.Running, r.SetsDone, r.SetsTotal, r.Bytes
			b.RebuildETASeconds = r.eta.Seconds()
		}
		if i < len(ss) {
			c := ss[i]
			b.Scrubbing, b.ScrubSetsDone, b.ScrubSetsTotal = c.Running, c.SetsDone, c.SetsTotal
			b.ScrubDamagedLast, b.ScrubUnrecoverLast = c.Damaged, c.Unrecoverable
			if !c.LastCompleted.IsZero() {
				b.ScrubLastCompleted = float64(c.LastCompleted.UnixNano()) / 1e9
			}
		}
		out = append(out, b)
	}
	return out
}

// driveStats is the IO accounting of every drive (for /metrics).
func (s *Server) driveStats() []iostat.Stats {
	out := make([]iostat.Stats, len(s.drives))
	for i, d := range s.drives {
		out[i] = d.Snapshot()
	}
	return out
}

// poolStats is each pool's counters (for /metrics).
func (s *Server) poolStats() map[string]pool.Stats {
	out := make(map[string]pool.Stats, len(s.pools))
	for _, p := range s.pools {
		out[p.Name()] = p.Stats()
	}
	return out
}
