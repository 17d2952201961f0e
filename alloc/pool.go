package alloc

import (
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/superblock"
)

// Drive describes one drive of the pool.
type Drive struct {
	Position uint32 // the drive's position in the node (its label's Position)
	Segments uint32 // segments on the drive (the label's NrSegments)
	// SegmentSize is the bytes a segment can hold: the segment size on a
	// conventional drive, the zone capacity on a zoned one.
	SegmentSize int64
	// Meta is the drive's metadata ranges (journal ring and metadata
	// segments), never handed out.
	Meta superblock.Meta
	// Zoned drives have limits on open and active zones (0: none). Every
	// open set with a member on the drive holds one open zone there, and
	// so does every rebuild target (BeginReplace) until its replacement
	// ends.
	Zoned              bool
	MaxOpen, MaxActive int
	Health             Health
}

// DriveFromLabel describes a drive from its label and geometry. A zoned
// drive whose zones hold less than their size (ZNS zone capacity) needs
// SegmentSize lowered to that capacity.
func DriveFromLabel(l superblock.Label, g dev.Geometry, h Health) Drive {
	return Drive{
		Position:    l.Position,
		Segments:    l.NrSegments,
		SegmentSize: l.SegmentSize,
		Meta:        l.Meta,
		Zoned:       l.ZoneModel != dev.ZoneModelNone,
		MaxOpen:     g.MaxOpenZones,
		MaxActive:   g.MaxActiveZones,
		Health:      h,
	}
}

// isMeta reports whether segment i is in one of the metadata ranges.
func (d *Drive) isMeta(i uint32) bool {
	in := func(first, count uint32) bool {
		return uint64(i) >= uint64(first) && uint64(i) < uint64(first)+uint64(count)
	}
	return in(d.Meta.RingFirst, d.Meta.RingCount) || in(d.Meta.SegFirst, d.Meta.SegCount)
}

// nextData returns the first data segment (not metadata) at or after i.
func (d *Drive) nextData(i uint32) (uint32, bool) {
	for uint64(i) < uint64(d.Segments) {
		if !d.isMeta(i) {
			return i, true
		}
		// Jump over the range i is in.
		switch m := d.Meta; {
		case i >= m.RingFirst && uint64(i) < uint64(m.RingFirst)+uint64(m.RingCount):
			i = uint32(min(uint64(m.RingFirst)+uint64(m.RingCount), uint64(d.Segments)))
		default:
			i = uint32(min(uint64(m.SegFirst)+uint64(m.SegCount), uint64(d.Segments)))
		}
	}
	return 0, false
}

// metaSegments is how many of the drive's segments the metadata ranges
// take (the label guarantees that they do not overlap).
func (d *Drive) metaSegments() uint32 {
	var n uint32
	for _, r := range [][2]uint32{{d.Meta.RingFirst, d.Meta.RingCount}, {d.Meta.SegFirst, d.Meta.SegCount}} {
		if uint64(r[0]) < uint64(d.Segments) {
			n += uint32(min(uint64(r[1]), uint64(d.Segments)-uint64(r[0])))
		}
	}
	return n
}

// zoneLimit is how many open sets may have a member on the drive: the
// smaller of its zone limits less the zones others need (reserve), or -1
// for no limit.
func (d *Drive) zoneLimit(reserve int) int {
	if !d.Zoned {
		return -1
	}
	limit := -1
	for _, l := range []int{d.MaxOpen, d.MaxActive} {
		if l > 0 && (limit < 0 || l < limit) {
			limit = l
		}
	}
	if limit < 0 {
		return -1
	}
	return max(limit-reserve, 0)
}

// Pool is the drives the allocator places sets on.
type Pool struct {
	// Name names the allocator's trees (see the package comment); ""
	// for the node's first pool as older formats made it.
	Name   string
	Drives []Drive
	// Layout is the layout of the pool's data sets; FSStat's usable space
	// is counted in its terms.
	Layout Layout
}

// validate checks the pool and returns its drives sorted by position.
func (p Pool) validate() ([]Drive, error) {
	if len(p.Drives) == 0 {
		return nil, fmt.Errorf("%w: a pool of no drives", ErrInvalid)
	}
	if err := p.Layout.Validate(); err != nil {
		return nil, fmt.Errorf("pool layout: %w", err)
	}
	ds := slices.Clone(p.Drives)
	slices.SortFunc(ds, func(a, b Drive) int { return cmpU32(a.Position, b.Position) })
	for i, d := range ds {
		switch {
		case i > 0 && ds[i-1].Position == d.Position:
			return nil, fmt.Errorf("%w: two drives at position %d", ErrInvalid, d.Position)
		case d.Segments == 0 || d.SegmentSize <= 0:
			return nil, fmt.Errorf("%w: drive %d has %d segments of %d bytes", ErrInvalid, d.Position, d.Segments, d.SegmentSize)
		case d.MaxOpen < 0 || d.MaxActive < 0:
			return nil, fmt.Errorf("%w: drive %d has zone limits %d open, %d active", ErrInvalid, d.Position, d.MaxOpen, d.MaxActive)
		case !d.Health.valid():
			return nil, fmt.Errorf("%w: drive %d has %s", ErrInvalid, d.Position, d.Health)
		case uint64(d.Meta.RingFirst)+uint64(d.Meta.RingCount) > uint64(d.Segments) ||
			uint64(d.Meta.SegFirst)+uint64(d.Meta.SegCount) > uint64(d.Segments):
			return nil, fmt.Errorf("%w: drive %d: metadata ranges %+v beyond its %d segments", ErrInvalid, d.Position, d.Meta, d.Segments)
		case d.Meta.RingCount > 0 && d.Meta.SegCount > 0 &&
			uint64(d.Meta.RingFirst) < uint64(d.Meta.SegFirst)+uint64(d.Meta.SegCount) &&
			uint64(d.Meta.SegFirst) < uint64(d.Meta.RingFirst)+uint64(d.Meta.RingCount):
			return nil, fmt.Errorf("%w: drive %d: metadata ranges %+v overlap", ErrInvalid, d.Position, d.Meta)
		}
	}
	return ds, nil
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
