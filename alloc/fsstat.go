package alloc

import (
	"fmt"
	"strings"

	"github.com/plinth-storage/plinth/internal/human"
)

// FSStat is the pool's space. Raw figures count bytes of segments on the
// drives; usable, used, free-usable and reclaimable figures count bytes
// of the sets' streams (what clients store), after redundancy.
type FSStat struct {
	Drives int `json:"drives"`
	// RawBytes is every segment of every drive.
	RawBytes int64 `json:"raw_bytes"`
	// MetadataBytes is the drives' metadata ranges, which data never takes.
	MetadataBytes int64 `json:"metadata_bytes"`
	// UsableBytes is the data segments in the pool's layout: raw less
	// metadata, times N/(N+K) (or 1/M for a mirror).
	UsableBytes int64 `json:"usable_bytes"`
	// UsedBytes is the live bytes of every set.
	UsedBytes int64 `json:"used_bytes"`
	// FreeBytes is the free segments of the drives that take new members
	// (online and slow), less the cleaner's reserve.
	FreeBytes int64 `json:"free_bytes"`
	// FreeUsableBytes is FreeBytes in the pool's layout.
	FreeUsableBytes int64 `json:"free_usable_bytes"`
	// ReserveBytes is the free segments kept for the cleaner.
	ReserveBytes int64 `json:"reserve_bytes"`
	// UnavailableBytes is the free segments of faulty and out drives.
	UnavailableBytes int64 `json:"unavailable_bytes"`
	// SpareBytes is the free segments of spare drives, kept for rebuild
	// targets (not in FreeBytes: new sets never go there).
	SpareBytes int64 `json:"spare_bytes,omitempty"`
	// RebuildingBytes is the segments being written by rebuilds (the
	// targets of pending replacements): neither free nor yet in a set's
	// figures.
	RebuildingBytes int64 `json:"rebuilding_bytes,omitempty"`
	// ReclaimableBytes is what cleaning the sealed (and cleaning) sets
	// would give back: their capacity less their live bytes (dead bytes,
	// and the unwritten tail of a set sealed before it was full).
	ReclaimableBytes int64 `json:"reclaimable_bytes"`
	// OpenUnwrittenBytes is the room left in open sets.
	OpenUnwrittenBytes int64 `json:"open_unwritten_bytes"`

	FreeSegments       int    `json:"free_segments"`
	RebuildingSegments int    `json:"rebuilding_segments,omitempty"`
	OpenSets           int64  `json:"open_sets"`
	SealedSets         int64  `json:"sealed_sets"`
	CleaningSets       int64  `json:"cleaning_sets"`
	PoolLayout         string `json:"pool_layout"`
	CountsPending      bool   `json:"counts_pending,omitempty"` // a failed commit left figures to recount
}

// FSStat returns the pool's space, from the in-memory counters: it costs
// nothing that grows with the pool. After a failed commit the totals may
// lag until the allocator can recount them (CountsPending).
func (a *Allocator) FSStat() FSStat {
	a.mu.Lock()
	if a.staleTotals && len(a.holds) == 0 {
		_ = a.countTotals() // on error the figures stay marked pending
	}
	defer a.mu.Unlock()
	f := FSStat{Drives: len(a.drives), PoolLayout: a.layout.String(), CountsPending: a.staleTotals || a.staleDrives}
	for _, d := range a.drives {
		size := d.SegmentSize
		f.RawBytes += int64(d.Segments) * size
		f.MetadataBytes += int64(d.Segments-d.data) * size
		f.FreeSegments += d.free
		f.RebuildingSegments += d.rebuild
		f.RebuildingBytes += int64(d.rebuild) * size
		switch {
		case d.Health == Spare:
			f.SpareBytes += int64(d.free) * size
		case !d.Health.allocatable():
			f.UnavailableBytes += int64(d.free) * size
		default:
			r := min(d.free, a.opts.ReserveSegments)
			f.ReserveBytes += int64(r) * size
			f.FreeBytes += int64(d.free-r) * size
		}
	}
	f.UsableBytes = a.layout.usable(f.RawBytes - f.MetadataBytes)
	f.FreeUsableBytes = a.layout.usable(f.FreeBytes)
	t := &a.tot
	for _, st := range []State{StateOpen, StateSealed, StateCleaning} {
		f.UsedBytes += t.live[st]
	}
	f.ReclaimableBytes = t.capacity[StateSealed] - t.live[StateSealed] + t.capacity[StateCleaning] - t.live[StateCleaning]
	f.OpenUnwrittenBytes = t.capacity[StateOpen] - t.frontier[StateOpen]
	f.OpenSets, f.SealedSets, f.CleaningSets = t.sets[StateOpen], t.sets[StateSealed], t.sets[StateCleaning]
	return f
}

// String renders the figures for people.
func (f FSStat) String() string {
	var b strings.Builder
	pct := func(x, of int64) string {
		if of <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(x)/float64(of))
	}
	fmt.Fprintf(&b, "pool of %d drives, %s sets\n", f.Drives, f.PoolLayout)
	fmt.Fprintf(&b, "  raw          %9s (metadata %s)\n", human.IBytes(f.RawBytes), human.IBytes(f.MetadataBytes))
	fmt.Fprintf(&b, "  usable       %9s\n", human.IBytes(f.UsableBytes))
	fmt.Fprintf(&b, "  used         %9s (%s of usable)\n", human.IBytes(f.UsedBytes), pct(f.UsedBytes, f.UsableBytes))
	fmt.Fprintf(&b, "  free         %9s usable, %s raw in %d segments (cleaner reserve %s", human.IBytes(f.FreeUsableBytes), human.IBytes(f.FreeBytes), f.FreeSegments, human.IBytes(f.ReserveBytes))
	if f.UnavailableBytes > 0 {
		fmt.Fprintf(&b, ", %s on faulty or out drives", human.IBytes(f.UnavailableBytes))
	}
	if f.SpareBytes > 0 {
		fmt.Fprintf(&b, ", %s on spare drives for rebuilds", human.IBytes(f.SpareBytes))
	}
	b.WriteString(")\n")
	if f.RebuildingSegments > 0 {
		fmt.Fprintf(&b, "  rebuilding   %9s in %d segments being rebuilt\n", human.IBytes(f.RebuildingBytes), f.RebuildingSegments)
	}
	fmt.Fprintf(&b, "  reclaimable  %9s by cleaning\n", human.IBytes(f.ReclaimableBytes))
	fmt.Fprintf(&b, "  sets         %d open (%s unwritten), %d sealed, %d cleaning", f.OpenSets, human.IBytes(f.OpenUnwrittenBytes), f.SealedSets, f.CleaningSets)
	if f.CountsPending {
		b.WriteString("\n  (figures pending a recount after a failed commit)")
	}
	return b.String()
}
