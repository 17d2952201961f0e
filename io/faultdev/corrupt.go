package faultdev

// CorruptAt flips one random bit of the byte at offset off on the media: a
// read-modify-write of the logical block holding it on the inner device. The
// flip is at rest: it survives power cuts (whichever version of the byte a
// cut leaves has the bit flipped) and lasts until the block is rewritten. It
// works while the power is off. A flip that cannot be applied (off outside
// the device, the device closed, the inner device failing or refusing the
// write, as a sequential zone does) changes nothing and is not counted in
// Stats.Corruptions.
func (d *Device) CorruptAt(off int64) {
	if off < 0 || off >= d.geo.Size {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	mask := byte(1) << d.rng.IntN(8)
	lbs := int64(d.geo.LogicalBlockSize)
	start := off - off%lbs
	block := alignedBuffer(int(lbs), d.geo.MemAlign)
	if _, err := d.inner.ReadAt(block, start); err != nil {
		return
	}
	block[off-start] ^= mask
	if _, err := d.inner.WriteAt(block, start); err != nil {
		return
	}
	d.undo.flipBit(off, mask)
	d.stats.Corruptions++
}
