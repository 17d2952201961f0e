package zonemu

import (
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// encode renders the zone state as slot k with sequence seq into hdrBuf and
// tableBuf. pmu and mu must be held.
func (d *Device) encode(k int, seq uint64) {
	encodeSlot(d.hdrBuf, d.tableBuf, d.cfg, k, seq, d.zones)
}

// writeEncoded writes the rendered slot k: zone table first, header last.
// A write torn anywhere fails the checksum, and Open falls back to the
// other slot. pmu must be held.
func (d *Device) writeEncoded(k int) error {
	size := d.under.Geometry().Size
	if _, err := d.under.WriteAt(d.tableBuf, tableOff(size, d.cfg.NrZones, k)); err != nil {
		return fmt.Errorf("writing the zone table of metadata slot %d: %w", k, err)
	}
	if _, err := d.under.WriteAt(d.hdrBuf, headerOff(size, k)); err != nil {
		return fmt.Errorf("writing the header of metadata slot %d: %w", k, err)
	}
	return nil
}

// writeSlot renders and writes slot k with sequence seq, without flushing.
// pmu must be held, mu must not.
func (d *Device) writeSlot(k int, seq uint64) error {
	d.mu.Lock()
	d.encode(k, seq)
	d.mu.Unlock()
	return d.writeEncoded(k)
}

// persistLocked makes the current zone state durable: the data first (the
// slot records write pointers that cover it, and a reset must not be
// recorded while writes from before it may still land), then the slot that
// does not hold the last durable state, then a flush. pmu and mu must be
// held. On failure the durable slot is unchanged and the state stays
// dirty.
func (d *Device) persistLocked() error {
	if err := d.under.Flush(); err != nil {
		return fmt.Errorf("flushing data before the metadata: %w", err)
	}
	k, seq := 1-d.durableSlot, d.durableSeq+1
	d.encode(k, seq)
	if err := d.writeEncoded(k); err != nil {
		return err
	}
	if err := d.under.Flush(); err != nil {
		return fmt.Errorf("flushing metadata slot %d: %w", k, err)
	}
	d.durableSlot, d.durableSeq, d.persisted = k, seq, d.version
	return nil
}

// Flush makes every write that completed before the call durable, and the
// zone state with it: it flushes the backing device and then, if the zone
// state changed since it was last persisted, writes the next metadata slot
// and flushes again. The state is captured before the first flush, so a
// write pointer is never recorded ahead of the data it covers.
func (d *Device) Flush() error {
	if d.closed.Load() {
		return d.opErr("flush", 0, 0, dev.ErrClosed)
	}
	d.pmu.Lock()
	defer d.pmu.Unlock()
	d.mu.Lock()
	v := d.version
	dirty := v != d.persisted
	k, seq := 1-d.durableSlot, d.durableSeq+1
	if dirty {
		d.encode(k, seq)
	}
	d.mu.Unlock()
	if err := d.under.Flush(); err != nil {
		return d.passErr("flush", 0, 0, err)
	}
	if !dirty {
		return nil
	}
	if err := d.writeEncoded(k); err != nil {
		return d.opErr("flush", 0, 0, err)
	}
	if err := d.under.Flush(); err != nil {
		return d.opErr("flush", 0, 0, fmt.Errorf("flushing metadata slot %d: %w", k, err))
	}
	d.mu.Lock()
	d.durableSlot, d.durableSeq, d.persisted = k, seq, v
	d.mu.Unlock()
	return nil
}
