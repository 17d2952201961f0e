package zonemu

import (
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// checkUnder reports a backing device the emulator cannot use.
func checkUnder(under dev.Device) error {
	g := under.Geometry()
	switch {
	case g.Zoned != dev.ZoneModelNone:
		return fmt.Errorf("%w: backing device %s is itself zoned (%v)", ErrInvalidConfig, under.Path(), g.Zoned)
	case g.LogicalBlockSize <= 0 || g.LogicalBlockSize > blockSize || blockSize%g.LogicalBlockSize != 0:
		return fmt.Errorf("%w: backing device %s has a %d-byte logical block; it must divide %d", ErrInvalidConfig, under.Path(), g.LogicalBlockSize, blockSize)
	case g.MemAlign <= 0 || g.MemAlign > dev.BufferAlign || dev.BufferAlign%g.MemAlign != 0:
		return fmt.Errorf("%w: backing device %s needs %d-byte buffer alignment; it must divide %d", ErrInvalidConfig, under.Path(), g.MemAlign, dev.BufferAlign)
	case g.Size < 2*headerSize:
		return fmt.Errorf("%w: backing device %s holds only %d bytes", ErrInvalidConfig, under.Path(), g.Size)
	}
	return nil
}

// fits checks cfg against the backing device.
func fits(under dev.Device, cfg Config) error {
	g := under.Geometry()
	if cfg.LogicalBlockSize%g.LogicalBlockSize != 0 {
		return fmt.Errorf("%w: logical block size %d is not a multiple of the backing device's %d", ErrInvalidConfig, cfg.LogicalBlockSize, g.LogicalBlockSize)
	}
	if need := cfg.zoneArea() + MetadataSize(cfg); g.Size < need {
		return fmt.Errorf("%w: %d zones of %d bytes and %d bytes of metadata need %d bytes; backing device %s holds %d",
			ErrInvalidConfig, cfg.NrZones, cfg.ZoneSize, MetadataSize(cfg), need, under.Path(), g.Size)
	}
	return nil
}

// Create formats under as an emulated zoned drive: conventional zones keep
// whatever under holds, sequential zones are all empty. under must hold at
// least NrZones*ZoneSize + MetadataSize(cfg) bytes; the metadata sits at
// its very end, so under must not be resized afterwards. A ZoneCapacity of
// 0 means ZoneSize. Create returns once the format is durable.
func Create(under dev.Device, cfg Config) (*Device, error) {
	if cfg.ZoneCapacity == 0 {
		cfg.ZoneCapacity = cfg.ZoneSize
	}
	fail := func(err error) (*Device, error) {
		return nil, &dev.OpError{Op: "zonemu-create", Path: under.Path(), Err: err}
	}
	if err := cfg.validate(); err != nil {
		return fail(err)
	}
	if err := checkUnder(under); err != nil {
		return fail(err)
	}
	if err := fits(under, cfg); err != nil {
		return fail(err)
	}
	zones := make([]zoneState, cfg.NrZones)
	for z := range zones {
		if z >= cfg.NrConventional {
			zones[z].cond = dev.ZoneCondEmpty
		}
	}
	d := newDevice(under, cfg, zones)
	if err := d.format(); err != nil {
		return fail(err)
	}
	return d, nil
}

// format writes the initial metadata: it invalidates the old headers, then
// writes the empty state to both slots and flushes, then discards the
// sequential zones.
func (d *Device) format() error {
	if err := d.invalidate(); err != nil {
		return err
	}
	d.pmu.Lock()
	defer d.pmu.Unlock()
	for k := range 2 {
		if err := d.writeSlot(k, uint64(k+1)); err != nil {
			return err
		}
	}
	if err := d.under.Flush(); err != nil {
		return fmt.Errorf("flushing the metadata: %w", err)
	}
	d.durableSlot, d.durableSeq = 1, 2
	// Space reclamation only, once no old format can come back (it
	// would show the discarded bytes): stale bytes are never visible,
	// so errors do not matter.
	_ = d.under.Discard(d.convEnd, d.cfg.zoneArea()-d.convEnd)
	return nil
}

// invalidate zeroes the headers of an older format, each write flushed,
// the older slot first: a format interrupted by a power cut leaves the old
// format at its newest state, no format, or the new format, and never
// brings back an older state of the old format.
func (d *Device) invalidate() error {
	size := d.under.Geometry().Size
	hdr := dev.AlignedBuffer(headerSize)
	var seqs [2]uint64
	for k := range seqs {
		// Read errors: the slot is unreadable, so unusable anyway.
		if _, err := d.under.ReadAt(hdr, headerOff(size, k)); err == nil && string(hdr[:len(slotMagic)]) == slotMagic {
			seqs[k] = le.Uint64(hdr[hSeq:])
		}
	}
	order := []int{0, 1}
	if seqs[0] > seqs[1] {
		order = []int{1, 0}
	}
	clear(hdr)
	for _, k := range order {
		if _, err := d.under.WriteAt(hdr, headerOff(size, k)); err != nil {
			return fmt.Errorf("invalidating metadata slot %d: %w", k, err)
		}
		if err := d.under.Flush(); err != nil {
			return fmt.Errorf("invalidating metadata slot %d: %w", k, err)
		}
	}
	return nil
}
