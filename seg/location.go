package seg

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/superblock"
)

// Errors about segments as a whole.
var (
	// ErrNotWritten: the segment holds no header: never written since
	// its last reset or format.
	ErrNotWritten = errors.New("segment not written")
	// ErrStale: the segment's header belongs to another use of it (an
	// older generation, another drive, another node): its contents must
	// not be read as current.
	ErrStale = errors.New("stale segment")
	// ErrFull: the record does not fit the segment; seal it and continue
	// in another.
	ErrFull = errors.New("segment full")
	// ErrBatchFull: the pending write has reached MaxWrite; Flush first.
	ErrBatchFull = errors.New("pending write full")
	// ErrSealed: the segment is sealed; nothing more can be appended.
	ErrSealed = errors.New("segment sealed")
	// ErrBroken: a write or flush failed; what reached the media is
	// unknown until the segment is scanned again.
	ErrBroken = errors.New("segment writer broken by an earlier error")
)

// Location is where a segment lies on a device.
type Location struct {
	Dev   dev.Device
	Index uint32
	// Start is the byte offset of the segment on the device.
	Start int64
	// Capacity is how many bytes may be written: the zone capacity on a
	// zoned drive, the segment size on a conventional one.
	Capacity int64
	// Sequential segments are sequential-write-required zones: written at
	// the write pointer and reset to be reused.
	Sequential bool
}

func (l Location) String() string {
	return fmt.Sprintf("segment %d of %s", l.Index, l.Dev.Path())
}

// Locate returns the location of segment index on d, whose label's layout
// is layout.
func Locate(d dev.Device, layout superblock.Layout, index uint32) (Location, error) {
	if index >= layout.NrSegments {
		return Location{}, fmt.Errorf("segment %d of %s: the drive has %d segments", index, d.Path(), layout.NrSegments)
	}
	loc := Location{Dev: d, Index: index, Start: layout.SegmentOffset(index), Capacity: layout.SegmentSize}
	if z, ok := dev.AsZoned(d); ok {
		zs, err := z.ReportZones(loc.Start, 1)
		if err != nil {
			return Location{}, fmt.Errorf("locate %s: %w", loc, err)
		}
		if len(zs) != 1 || zs[0].Start != loc.Start {
			return Location{}, fmt.Errorf("locate %s: no zone starts at %d", loc, loc.Start)
		}
		loc.Capacity = zs[0].Capacity
		loc.Sequential = zs[0].Sequential()
	}
	return loc, nil
}

// blockSize is the unit of physical writes to a segment on g: 4096 bytes or
// the logical block / zone write granularity when larger.
func blockSize(g dev.Geometry) int64 { return g.WriteUnit(4096) }

// writePointer returns the segment-relative write pointer of a sequential
// segment, and whether the zone is full.
func (l Location) writePointer() (int64, bool, error) {
	z, ok := dev.AsZoned(l.Dev)
	if !ok {
		return 0, false, fmt.Errorf("%s: sequential segment on a device that is not zoned", l)
	}
	zs, err := z.ReportZones(l.Start, 1)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", l, err)
	}
	if len(zs) != 1 {
		return 0, false, fmt.Errorf("%s: zone report returned %d zones", l, len(zs))
	}
	zn := zs[0]
	switch zn.Cond {
	case dev.ZoneCondFull:
		return zn.Capacity, true, nil
	case dev.ZoneCondOffline:
		return 0, false, fmt.Errorf("%s: %w", l, dev.ErrZoneOffline)
	}
	return zn.WritePointer - zn.Start, false, nil
}
