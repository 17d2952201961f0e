package faultdev

import (
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// WriteAt writes p to the inner device, recording the pre-image of every
// range it writes in the undo log, and applies the write faults: the write
// may land only partly (torn) or at another offset (misdirected). Either way
// it reports success.
func (d *Device) WriteAt(p []byte, off int64) (int, error) {
	n := int64(len(p))
	if err := dev.CheckIO(d.geo, p, off); err != nil {
		return 0, d.opErr("write", off, n, err)
	}
	d.delay(OpWrite)
	d.transfer(n)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.admit("write", off, n); err != nil {
		return 0, err
	}
	if d.fail(OpWrite, off, n) {
		return 0, d.opErr("write", off, n, errInjected)
	}
	if n == 0 {
		return d.inner.WriteAt(p, off)
	}
	lbs := d.geo.LogicalBlockSize
	target := d.misdirectTarget(off, n)
	landed := d.tornMask(len(p) / lbs)
	err := runs(landed, len(p)/lbs, func(i, j int) error {
		return d.writeLogged(p[i*lbs:j*lbs], target+int64(i*lbs))
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeLogged saves the pre-image of the range p covers at off, then writes
// p there. Called with d.mu held.
func (d *Device) writeLogged(p []byte, off int64) error {
	if !d.zoned {
		if err := d.savePreImage(off, int64(len(p))); err != nil {
			return fmt.Errorf("faultdev: write: %w", err)
		}
	}
	_, err := d.inner.WriteAt(aligned(p, d.geo.MemAlign), off)
	return err
}

// misdirectTarget returns where a write of n bytes meant for off lands: off,
// or with the misdirect rate a random block-aligned offset whose range does
// not overlap [off, off+n). Called with d.mu held.
func (d *Device) misdirectTarget(off, n int64) int64 {
	if d.zoned || !d.chance(d.faults.misdirect) {
		return off
	}
	lbs := int64(d.geo.LogicalBlockSize)
	var before, after int64 // slots ending at or before off, starting at or after off+n
	if off >= n {
		before = (off-n)/lbs + 1
	}
	if last := d.geo.Size - n; last >= off+n {
		after = (last-off-n)/lbs + 1
	}
	if before+after == 0 {
		return off
	}
	d.stats.MisdirectedWrites++
	k := d.rng.Int64N(before + after)
	if k < before {
		return k * lbs
	}
	return off + n + (k-before)*lbs
}

// tornMask returns nil when a write of nb blocks lands whole, or with the
// torn-write rate which of its blocks land: a random proper subset. Called
// with d.mu held.
func (d *Device) tornMask(nb int) []bool {
	if d.zoned || nb == 0 || !d.chance(d.faults.torn) {
		return nil
	}
	d.stats.TornWrites++
	mask := make([]bool, nb)
	all := true
	for i := range mask {
		mask[i] = d.rng.Uint64()&1 == 0
		all = all && mask[i]
	}
	if all {
		mask[d.rng.IntN(nb)] = false
	}
	return mask
}

// runs calls fn for each maximal run [i, j) of blocks of [0, nb) that mask
// selects (every block when mask is nil), in order, and stops at the first
// error.
func runs(mask []bool, nb int, fn func(i, j int) error) error {
	if mask == nil {
		if nb == 0 {
			return nil
		}
		return fn(0, nb)
	}
	for i := 0; i < nb; {
		if !mask[i] {
			i++
			continue
		}
		j := i + 1
		for j < nb && mask[j] {
			j++
		}
		if err := fn(i, j); err != nil {
			return err
		}
		i = j
	}
	return nil
}
