package zonemu

import (
	"fmt"
	"math"
)

// Behavior selects what happens when a write (or an explicit open or a
// finish) needs an open resource and MaxOpenZones zones are already open.
type Behavior uint8

const (
	// BehaviorSMR is ZBC host-managed SMR: the drive implicitly closes the
	// least recently written implicitly open zone to make room. Explicitly
	// open zones are never closed behind the host's back; when every open
	// zone is explicitly open the command fails with
	// dev.ErrTooManyOpenZones.
	BehaviorSMR Behavior = iota
	// BehaviorZNS is an NVMe ZNS drive that does not implicitly close:
	// the command fails with dev.ErrTooManyOpenZones and the host must
	// close or finish a zone itself. It is the stricter of the two.
	BehaviorZNS
)

func (b Behavior) String() string {
	switch b {
	case BehaviorSMR:
		return "smr"
	case BehaviorZNS:
		return "zns"
	}
	return fmt.Sprintf("Behavior(%d)", uint8(b))
}

// Config describes an emulated drive. It is persisted in the metadata and
// returned unchanged by Open.
type Config struct {
	// ZoneSize is the size of every zone in bytes. ZoneCapacity is the
	// writable part of a sequential zone (ZNS); Create treats 0 as
	// ZoneSize. Both are positive multiples of LogicalBlockSize and
	// ZoneCapacity <= ZoneSize.
	ZoneSize, ZoneCapacity int64
	// NrZones is the number of zones, NrConventional how many of them,
	// at the start of the device, are conventional. At least one zone is
	// sequential-write-required.
	NrZones, NrConventional int
	// MaxOpenZones and MaxActiveZones are the drive's limits; 0 means
	// unlimited. When both are set, MaxOpenZones <= MaxActiveZones (open
	// zones are active too). Neither exceeds math.MaxInt32.
	MaxOpenZones, MaxActiveZones int
	// LogicalBlockSize is 512 or 4096. It is also the zone write
	// granularity.
	LogicalBlockSize int
	// Behavior chooses implicit close (SMR) or an error (ZNS) at the open
	// limit.
	Behavior Behavior
}

// Bounds on a Config. A zone's write pointer is stored as a 32-bit block
// count, and the zone table of a metadata slot is written whole on every
// persist, so it is kept to at most 128 MiB. The limits are stored in 32
// bits and read back into an int, which may be 32 bits wide.
const (
	maxZones      = 1 << 24
	maxZoneBlocks = math.MaxUint32
	maxLimit      = math.MaxInt32
)

// validate checks every field; it names the first one that is wrong.
func (c Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	lbs := int64(c.LogicalBlockSize)
	switch {
	case c.LogicalBlockSize != 512 && c.LogicalBlockSize != 4096:
		return bad("logical block size %d is neither 512 nor 4096", c.LogicalBlockSize)
	case c.ZoneSize <= 0 || c.ZoneSize%lbs != 0:
		return bad("zone size %d is not a positive multiple of the %d-byte logical block", c.ZoneSize, lbs)
	case c.ZoneSize/lbs > maxZoneBlocks:
		return bad("zone size %d exceeds %d logical blocks", c.ZoneSize, int64(maxZoneBlocks))
	case c.ZoneCapacity <= 0 || c.ZoneCapacity%lbs != 0:
		return bad("zone capacity %d is not a positive multiple of the %d-byte logical block", c.ZoneCapacity, lbs)
	case c.ZoneCapacity > c.ZoneSize:
		return bad("zone capacity %d exceeds the zone size %d", c.ZoneCapacity, c.ZoneSize)
	case c.NrZones <= 0 || c.NrZones > maxZones:
		return bad("zone count %d is not in [1, %d]", c.NrZones, maxZones)
	case c.NrConventional < 0 || c.NrConventional >= c.NrZones:
		return bad("conventional zone count %d is not in [0, %d) (at least one zone must be sequential)", c.NrConventional, c.NrZones)
	case int64(c.NrZones) > (math.MaxInt64-MetadataSize(c))/c.ZoneSize:
		return bad("%d zones of %d bytes overflow a 64-bit size", c.NrZones, c.ZoneSize)
	case c.MaxOpenZones < 0 || c.MaxOpenZones > maxLimit:
		return bad("max open zones %d is not in [0, %d]", c.MaxOpenZones, maxLimit)
	case c.MaxActiveZones < 0 || c.MaxActiveZones > maxLimit:
		return bad("max active zones %d is not in [0, %d]", c.MaxActiveZones, maxLimit)
	case c.MaxActiveZones > 0 && c.MaxOpenZones > c.MaxActiveZones:
		return bad("max open zones %d exceeds max active zones %d", c.MaxOpenZones, c.MaxActiveZones)
	case c.Behavior != BehaviorSMR && c.Behavior != BehaviorZNS:
		return bad("unknown behavior %d", uint8(c.Behavior))
	}
	return nil
}

// zoneArea is the number of bytes the zones occupy at the start of the
// backing device.
func (c Config) zoneArea() int64 { return int64(c.NrZones) * c.ZoneSize }

// Metadata layout, from the end of the backing device (see the package
// comment): [table 0][table 1][header 0][header 1].
const (
	blockSize  = 4096 // unit of every metadata write
	headerSize = blockSize
	entrySize  = 8
)

// tableSize is the size of one slot's zone table.
func tableSize(nrZones int) int64 {
	return (int64(nrZones)*entrySize + blockSize - 1) / blockSize * blockSize
}

// MetadataSize returns the bytes the emulator reserves at the end of the
// backing device: two slots, each a 4096-byte header and a zone table of
// 8 bytes per zone rounded up to 4096 bytes. Only NrZones matters.
func MetadataSize(cfg Config) int64 {
	n := cfg.NrZones
	if n < 0 || n > maxZones {
		n = maxZones
	}
	return 2 * (headerSize + tableSize(n))
}
