package dev

import "fmt"

// Geometry describes a device's size, block sizes and zone layout.
type Geometry struct {
	// Size is the addressable size in bytes.
	Size int64
	// LogicalBlockSize is the unit of addressing: every IO offset and
	// length is a multiple of it.
	LogicalBlockSize int
	// PhysicalBlockSize is the unit the media writes atomically; writes
	// smaller than it cost a read-modify-write inside the drive.
	PhysicalBlockSize int
	// OptimalIOSize is the drive's preferred request size in bytes, 0 when
	// it does not say.
	OptimalIOSize int
	// MemAlign is the alignment IO buffers need in memory.
	MemAlign int
	// DirectIO is false when the backing store could not be opened with
	// O_DIRECT (a file on tmpfs, say) and buffered IO with fdatasync is
	// used instead. The contract holds either way; only speed differs.
	DirectIO bool
	// Rotational is true for spinning media.
	Rotational bool

	// Zoned is the zone model; the remaining fields are zero when it is
	// ZoneModelNone.
	Zoned ZoneModel
	// ZoneSize is the size of every zone in bytes (the last zone may be
	// smaller on some devices; Plinth does not use a short last zone).
	ZoneSize int64
	// NrZones is the number of zones.
	NrZones int
	// MaxOpenZones and MaxActiveZones are the device's limits; 0 means no
	// limit.
	MaxOpenZones   int
	MaxActiveZones int
	// ZoneWriteGranularity is the unit of writes to sequential zones.
	ZoneWriteGranularity int
}

// Validate reports a geometry that no backend should produce.
func (g Geometry) Validate() error {
	if g.LogicalBlockSize <= 0 || g.LogicalBlockSize&(g.LogicalBlockSize-1) != 0 {
		return fmt.Errorf("logical block size %d is not a power of two", g.LogicalBlockSize)
	}
	if g.Size <= 0 || g.Size%int64(g.LogicalBlockSize) != 0 {
		return fmt.Errorf("size %d is not a positive multiple of the logical block size %d", g.Size, g.LogicalBlockSize)
	}
	if g.MemAlign <= 0 || g.MemAlign&(g.MemAlign-1) != 0 {
		return fmt.Errorf("memory alignment %d is not a power of two", g.MemAlign)
	}
	if g.Zoned == ZoneModelNone {
		return nil
	}
	if g.ZoneSize <= 0 || g.ZoneSize%int64(g.LogicalBlockSize) != 0 {
		return fmt.Errorf("zone size %d is not a positive multiple of the logical block size", g.ZoneSize)
	}
	if g.NrZones <= 0 || int64(g.NrZones)*g.ZoneSize > g.Size+g.ZoneSize {
		return fmt.Errorf("%d zones of %d bytes do not fit %d bytes", g.NrZones, g.ZoneSize, g.Size)
	}
	if g.ZoneWriteGranularity <= 0 || g.ZoneWriteGranularity%g.LogicalBlockSize != 0 {
		return fmt.Errorf("zone write granularity %d is not a multiple of the logical block size", g.ZoneWriteGranularity)
	}
	return nil
}

// WriteUnit is the size of a unit of on-disk structure written whole on g:
// atLeast, or the logical block or zone write granularity when larger.
func (g Geometry) WriteUnit(atLeast int64) int64 {
	return max(atLeast, int64(g.LogicalBlockSize), int64(g.ZoneWriteGranularity))
}

// ZoneIndex returns the index of the zone containing off.
func (g Geometry) ZoneIndex(off int64) int { return int(off / g.ZoneSize) }

// ZoneStart returns the byte offset of zone i.
func (g Geometry) ZoneStart(i int) int64 { return int64(i) * g.ZoneSize }
