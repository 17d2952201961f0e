package superblock

import (
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

const (
	// AreaMax bounds the bytes of an area used for records, so that
	// reading a label costs at most two 1 MiB reads.
	AreaMax = 1 << 20
	// DefaultSegmentSize is the segment size of conventional drives.
	DefaultSegmentSize = 256 << 20
)

// areaPlace is where the two areas of a device with geometry g lie: a
// function of the geometry alone, so a reader finds them before it has read
// a label. On zoned drives the areas are zones 0 and 1.
func areaPlace(g dev.Geometry) (offsets [2]int64, maxLen int64) {
	if g.Zoned == dev.ZoneModelNone {
		return [2]int64{0, AreaMax}, AreaMax
	}
	return [2]int64{0, g.ZoneSize}, min(g.ZoneSize, AreaMax)
}

// area is one superblock area as the log uses it.
type area struct {
	off, len   int64
	sequential bool  // a sequential-write-required zone
	capacity   int64 // the zone's capacity (sequential areas); len <= capacity
}

// slotSize is the space one record takes on g: 4096 bytes, or the logical
// block or zone write granularity when larger.
func slotSize(g dev.Geometry) int64 {
	return g.WriteUnit(SlotSize)
}

// deviceAreas finds the two areas on d, asking a zoned device for the type
// and capacity of zones 0 and 1.
func deviceAreas(d dev.Device) ([2]area, error) {
	g := d.Geometry()
	offs, maxLen := areaPlace(g)
	var areas [2]area
	z, zoned := dev.AsZoned(d)
	for i, off := range offs {
		areas[i] = area{off: off, len: maxLen}
		if !zoned {
			continue
		}
		zs, err := z.ReportZones(off, 1)
		if err != nil {
			return areas, fmt.Errorf("superblock area %d: %w", i, err)
		}
		if len(zs) != 1 || zs[0].Start != off {
			return areas, fmt.Errorf("superblock area %d: zone report for %d returned %v", i, off, zs)
		}
		zn := zs[0]
		if zn.Cond == dev.ZoneCondOffline || zn.Cond == dev.ZoneCondReadOnly {
			return areas, fmt.Errorf("superblock area %d: zone at %d is %s; the drive cannot hold a label", i, off, zn.Cond)
		}
		areas[i].sequential = zn.Sequential()
		areas[i].capacity = zn.Capacity
		areas[i].len = min(maxLen, zn.Capacity) / ScanStep * ScanStep
	}
	if areas[0].len < slotSize(g) || areas[1].len != areas[0].len {
		return areas, fmt.Errorf("superblock areas of %d and %d bytes cannot hold %d-byte records", areas[0].len, areas[1].len, slotSize(g))
	}
	return areas, nil
}

// planLayout computes the layout of a drive: areas first, segments after.
// On a zoned drive a segment is a zone, so segmentSize must be 0 or the zone
// size.
func planLayout(g dev.Geometry, areas [2]area, segmentSize int64) (Layout, error) {
	l := Layout{Area: [2]int64{areas[0].off, areas[1].off}, AreaLen: areas[0].len}
	if g.Zoned != dev.ZoneModelNone {
		if segmentSize != 0 && segmentSize != g.ZoneSize {
			return Layout{}, fmt.Errorf("on a zoned drive a segment is a zone (%d bytes), not %d bytes", g.ZoneSize, segmentSize)
		}
		if g.NrZones < 3 {
			return Layout{}, fmt.Errorf("a zoned drive needs at least 3 zones (2 superblock zones and a segment), this one has %d", g.NrZones)
		}
		l.SegmentSize = g.ZoneSize
		l.FirstSegment = 2 * g.ZoneSize
		l.NrSegments = uint32(g.NrZones - 2)
		return l, nil
	}
	if segmentSize == 0 {
		segmentSize = DefaultSegmentSize
	}
	if segmentSize%int64(g.LogicalBlockSize) != 0 || segmentSize < 16*slotSize(g) {
		return Layout{}, fmt.Errorf("segment size %d is not a multiple of the %d-byte block or too small", segmentSize, g.LogicalBlockSize)
	}
	l.SegmentSize = segmentSize
	l.FirstSegment = 2 * AreaMax
	n := (g.Size - l.FirstSegment) / segmentSize
	if n < 1 {
		return Layout{}, fmt.Errorf("a %d-byte device holds no %d-byte segment after its %d bytes of superblock areas", g.Size, segmentSize, l.FirstSegment)
	}
	l.NrSegments = uint32(min(n, 1<<32-1))
	return l, nil
}
