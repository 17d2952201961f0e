package zonemu

import (
	"encoding/binary"
	"fmt"

	"github.com/plinth-storage/plinth/internal/keyhash"
	"github.com/plinth-storage/plinth/io/dev"
)

const (
	slotMagic     = "PLZONEMU"
	formatVersion = 1
)

// hashKey is the fixed HighwayHash-64 key of the slot checksum: these 32
// ASCII bytes. It is no secret: the checksum detects torn and corrupted
// writes, not tampering.
const hashKey = "plinth/zonemu metadata slot key."

// The key must be exactly 32 bytes; this fails to compile otherwise.
var _ = [1]struct{}{}[len(hashKey)-32]

// Header field offsets; see the table in the package comment.
const (
	hMagic     = 0
	hVersion   = 8
	hSlot      = 12
	hSeq       = 16
	hZoneSize  = 24
	hZoneCap   = 32
	hNrZones   = 40
	hNrConv    = 44
	hMaxOpen   = 48
	hMaxActive = 52
	hLBS       = 56
	hBehavior  = 60
	hReserved  = 61
	hChecksum  = 64
	hEnd       = 72
)

// Zone table entry offsets.
const (
	eCond     = 0
	eReserved = 1
	eWP       = 4
)

var le = binary.LittleEndian

// headerOff and tableOff place slot k's header and zone table relative to
// the end of a backing device of size size.
func headerOff(size int64, k int) int64 {
	return size - 2*headerSize + int64(k)*headerSize
}

func tableOff(size int64, nrZones, k int) int64 {
	t := tableSize(nrZones)
	return size - 2*headerSize - 2*t + int64(k)*t
}

// checksum covers every byte of the slot but the checksum field.
func checksum(hdr, table []byte) uint64 {
	return slotHash.Sum64(hdr[:hChecksum], hdr[hEnd:], table)
}

var slotHash = keyhash.New64([]byte(hashKey))

// encodeSlot writes the image of cfg and zones, as slot k with sequence
// seq, into hdr (headerSize bytes) and table (tableSize bytes).
func encodeSlot(hdr, table []byte, cfg Config, k int, seq uint64, zones []zoneState) {
	clear(hdr)
	clear(table)
	copy(hdr[hMagic:], slotMagic)
	le.PutUint32(hdr[hVersion:], formatVersion)
	le.PutUint32(hdr[hSlot:], uint32(k))
	le.PutUint64(hdr[hSeq:], seq)
	le.PutUint64(hdr[hZoneSize:], uint64(cfg.ZoneSize))
	le.PutUint64(hdr[hZoneCap:], uint64(cfg.ZoneCapacity))
	le.PutUint32(hdr[hNrZones:], uint32(cfg.NrZones))
	le.PutUint32(hdr[hNrConv:], uint32(cfg.NrConventional))
	le.PutUint32(hdr[hMaxOpen:], uint32(cfg.MaxOpenZones))
	le.PutUint32(hdr[hMaxActive:], uint32(cfg.MaxActiveZones))
	le.PutUint32(hdr[hLBS:], uint32(cfg.LogicalBlockSize))
	hdr[hBehavior] = byte(cfg.Behavior)
	lbs := int64(cfg.LogicalBlockSize)
	for i, z := range zones {
		cond := z.cond
		if cond.IsActive() && z.wp == 0 {
			// Open or closed with nothing written yet (an explicit open,
			// or a first write still transferring): after a power cycle
			// such a zone is empty.
			cond = dev.ZoneCondEmpty
		}
		e := table[i*entrySize:]
		e[eCond] = byte(cond)
		le.PutUint32(e[eWP:], uint32(z.wp/lbs))
	}
	le.PutUint64(hdr[hChecksum:], checksum(hdr, table))
}

// slotFault says why a slot cannot be used.
type slotFault int

const (
	slotAbsent  slotFault = iota + 1 // no magic: never written or zeroed
	slotTorn                         // fails its checksum: torn or corrupt write; the other slot is used
	slotInvalid                      // passes its checksum yet holds impossible values: Open fails
)

type slotError struct {
	kind slotFault
	msg  string
}

func (e *slotError) Error() string { return e.msg }

func slotErrf(kind slotFault, format string, args ...any) *slotError {
	return &slotError{kind, fmt.Sprintf(format, args...)}
}

// headerZones reads the zone count of a slot header, which sizes its zone
// table, before the checksum can be verified. maxTable bounds the table
// by what the backing device can hold.
func headerZones(hdr []byte, size int64) (int, *slotError) {
	if string(hdr[hMagic:hMagic+len(slotMagic)]) != slotMagic {
		return 0, slotErrf(slotAbsent, "no magic")
	}
	n := int64(le.Uint32(hdr[hNrZones:]))
	if n < 1 || n > maxZones || 2*(headerSize+tableSize(int(n))) > size {
		msg := fmt.Sprintf("zone count %d does not fit the device (torn or corrupt header)", n)
		if v := le.Uint32(hdr[hVersion:]); v != formatVersion {
			msg += fmt.Sprintf("; format version %d, this build reads version %d", v, formatVersion)
		}
		return 0, slotErrf(slotTorn, "%s", msg)
	}
	return int(n), nil
}

// slotImage is a decoded, validated slot.
type slotImage struct {
	cfg   Config
	seq   uint64
	zones []zoneState
}

// decodeSlot verifies and decodes slot k from its header and zone table
// (sized by headerZones).
func decodeSlot(hdr, table []byte, k int) (*slotImage, *slotError) {
	if got, want := checksum(hdr, table), le.Uint64(hdr[hChecksum:]); got != want {
		msg := fmt.Sprintf("checksum %#016x, stored %#016x (torn or corrupt write)", got, want)
		if v := le.Uint32(hdr[hVersion:]); v != formatVersion {
			msg += fmt.Sprintf("; format version %d, this build reads version %d", v, formatVersion)
		}
		return nil, slotErrf(slotTorn, "%s", msg)
	}
	invalid := func(format string, args ...any) (*slotImage, *slotError) {
		return nil, slotErrf(slotInvalid, "passes its checksum but "+format, args...)
	}
	if v := le.Uint32(hdr[hVersion:]); v != formatVersion {
		return invalid("has format version %d; this build reads version %d", v, formatVersion)
	}
	if s := le.Uint32(hdr[hSlot:]); s != uint32(k) {
		return invalid("names itself slot %d", s)
	}
	if hdr[hReserved] != 0 || hdr[hReserved+1] != 0 || hdr[hReserved+2] != 0 {
		return invalid("has nonzero reserved header bytes %x", hdr[hReserved:hChecksum])
	}
	for i, b := range hdr[hEnd:] {
		if b != 0 {
			return invalid("has nonzero header padding at byte %d", hEnd+i)
		}
	}
	cfg, err := decodeConfig(hdr)
	if err != nil {
		return invalid("holds an invalid config: %v", err)
	}
	zones := make([]zoneState, cfg.NrZones)
	open, active := 0, 0
	for i := range zones {
		e := table[i*entrySize:]
		z := zoneState{cond: dev.ZoneCond(e[eCond]), wp: int64(le.Uint32(e[eWP:])) * int64(cfg.LogicalBlockSize)}
		if e[eReserved] != 0 || e[eReserved+1] != 0 || e[eReserved+2] != 0 {
			return invalid("zone %d has nonzero reserved bytes %x", i, e[eReserved:eWP])
		}
		if err := validZone(cfg, i, z); err != nil {
			return invalid("zone %d (start %d) %v", i, int64(i)*cfg.ZoneSize, err)
		}
		if z.cond.IsOpen() {
			open++
		}
		if z.cond.IsActive() {
			active++
		}
		zones[i] = z
	}
	for i, b := range table[cfg.NrZones*entrySize:] {
		if b != 0 {
			return invalid("has nonzero zone table padding at byte %d", cfg.NrZones*entrySize+i)
		}
	}
	if cfg.MaxOpenZones > 0 && open > cfg.MaxOpenZones {
		return invalid("has %d open zones, more than the limit %d", open, cfg.MaxOpenZones)
	}
	if cfg.MaxActiveZones > 0 && active > cfg.MaxActiveZones {
		return invalid("has %d active zones, more than the limit %d", active, cfg.MaxActiveZones)
	}
	return &slotImage{cfg: cfg, seq: le.Uint64(hdr[hSeq:]), zones: zones}, nil
}

// decodeConfig reads and validates the config fields of a header.
func decodeConfig(hdr []byte) (Config, error) {
	u32 := func(off int) (int, error) {
		v := le.Uint32(hdr[off:])
		if v > 1<<31-1 {
			return 0, fmt.Errorf("%w: field at header byte %d is %d", ErrInvalidConfig, off, v)
		}
		return int(v), nil
	}
	i64 := func(off int) (int64, error) {
		v := le.Uint64(hdr[off:])
		if v > 1<<63-1 {
			return 0, fmt.Errorf("%w: field at header byte %d is %d", ErrInvalidConfig, off, v)
		}
		return int64(v), nil
	}
	var c Config
	var errs [7]error
	c.ZoneSize, errs[0] = i64(hZoneSize)
	c.ZoneCapacity, errs[1] = i64(hZoneCap)
	c.NrZones, errs[2] = u32(hNrZones)
	c.NrConventional, errs[3] = u32(hNrConv)
	c.MaxOpenZones, errs[4] = u32(hMaxOpen)
	c.MaxActiveZones, errs[5] = u32(hMaxActive)
	c.LogicalBlockSize, errs[6] = u32(hLBS)
	c.Behavior = Behavior(hdr[hBehavior])
	for _, err := range errs {
		if err != nil {
			return c, err
		}
	}
	return c, c.validate()
}

// validZone checks a decoded zone entry against the zone's type and the
// invariants the emulator keeps.
func validZone(cfg Config, i int, z zoneState) error {
	if i < cfg.NrConventional {
		if z.cond != dev.ZoneCondNotWP || z.wp != 0 {
			return fmt.Errorf("is conventional but has condition %v and write pointer %d", z.cond, z.wp)
		}
		return nil
	}
	c := cfg.ZoneCapacity
	switch z.cond {
	case dev.ZoneCondEmpty:
		if z.wp != 0 {
			return fmt.Errorf("is empty but has write pointer +%d", z.wp)
		}
	case dev.ZoneCondImpOpen, dev.ZoneCondExpOpen, dev.ZoneCondClosed:
		if z.wp <= 0 || z.wp >= c {
			return fmt.Errorf("is %v with write pointer +%d outside (0, capacity %d)", z.cond, z.wp, c)
		}
	case dev.ZoneCondFull, dev.ZoneCondReadOnly, dev.ZoneCondOffline:
		if z.wp > c {
			return fmt.Errorf("is %v with %d bytes written, more than the capacity %d", z.cond, z.wp, c)
		}
	default:
		return fmt.Errorf("is sequential but has condition %v", z.cond)
	}
	return nil
}
