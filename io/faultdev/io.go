package faultdev

import (
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// ReadAt reads from the inner device, then applies the read faults to p
// only.
func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	n := int64(len(p))
	if err := dev.CheckIO(d.geo, p, off); err != nil {
		return 0, d.opErr("read", off, n, err)
	}
	d.delay(OpRead)
	d.transfer(n)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.stateErr("read", off, n); err != nil {
		return 0, err
	}
	if d.fail(OpRead, off, n) {
		return 0, d.opErr("read", off, n, errInjected)
	}
	got, err := d.inner.ReadAt(p, off)
	if err != nil {
		return got, err
	}
	if n > 0 && d.chance(d.faults.flip) {
		bit := d.rng.Int64N(n * 8)
		p[bit/8] ^= 1 << (bit % 8)
		d.stats.ReadFlips++
	}
	return got, nil
}

// Flush flushes the inner device. Once it succeeds, no power cut can undo
// the writes that completed before it.
func (d *Device) Flush() error {
	d.delay(OpFlush)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.admit("flush", 0, 0); err != nil {
		return err
	}
	if d.fail(OpFlush, 0, d.geo.Size) {
		return d.opErr("flush", 0, 0, errInjected)
	}
	if err := d.inner.Flush(); err != nil {
		return err
	}
	d.undo.reset()
	return nil
}

// Discard discards the range on the inner device. Until the next Flush a
// power cut restores its previous contents, as it would for a write.
func (d *Device) Discard(off, length int64) error {
	if err := dev.CheckRange(d.geo, off, length); err != nil {
		return d.opErr("discard", off, length, err)
	}
	d.delay(OpDiscard)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.admit("discard", off, length); err != nil {
		return err
	}
	if d.fail(OpDiscard, off, length) {
		return d.opErr("discard", off, length, errInjected)
	}
	if !d.zoned && length > 0 {
		if err := d.savePreImage(off, length); err != nil {
			return fmt.Errorf("faultdev: discard: %w", err)
		}
	}
	return d.inner.Discard(off, length)
}

// savePreImage reads [off, off+length) from the inner device into the undo
// log. Called with d.mu held.
func (d *Device) savePreImage(off, length int64) error {
	pre := alignedBuffer(int(length), d.geo.MemAlign)
	if _, err := d.inner.ReadAt(pre, off); err != nil {
		return fmt.Errorf("saving the pre-image of [%d, +%d) on %s: %w", off, length, d.inner.Path(), err)
	}
	d.undo.record(off, pre)
	return nil
}

// alignedBuffer returns a zeroed buffer of n bytes aligned to align.
func alignedBuffer(n, align int) []byte {
	if align <= dev.BufferAlign {
		return dev.AlignedBuffer(n)
	}
	b := make([]byte, n+align)
	for i := 0; i < align; i++ {
		if dev.IsAligned(b[i:i+1], align) {
			return b[i : i+n : i+n]
		}
	}
	return b[:n]
}

// aligned returns p, or an aligned copy of it when p is not aligned to
// align (a block inside a buffer when blocks are smaller than the memory
// alignment).
func aligned(p []byte, align int) []byte {
	if dev.IsAligned(p, align) {
		return p
	}
	c := alignedBuffer(len(p), align)
	copy(c, p)
	return c
}
