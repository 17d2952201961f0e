package zonemu

import (
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// checkIO validates a transfer against the emulated geometry.
func (d *Device) checkIO(op string, p []byte, off int64) error {
	if d.closed.Load() {
		return d.opErr(op, off, int64(len(p)), dev.ErrClosed)
	}
	if err := dev.CheckIO(d.geo, p, off); err != nil {
		return d.opErr(op, off, int64(len(p)), err)
	}
	return nil
}

// ReadAt reads len(p) bytes at off. Reads may span zones of any kind but
// fail with dev.ErrZoneOffline if they touch an offline zone. The bytes of
// a sequential zone at or past the end of its written data read as zeros,
// whatever the backing device holds, as deallocated blocks of a ZNS drive
// do: data from before a reset, or not yet flushed before a power cut, is
// never visible.
func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	if err := d.checkIO("read", p, off); err != nil {
		return 0, err
	}
	n := int64(len(p))
	if n == 0 {
		return 0, nil
	}
	zs := d.cfg.ZoneSize
	first, last := int(off/zs), int((off+n-1)/zs)
	// written[i] is how many bytes of zone first+i hold data.
	var small [8]int64
	written := small[:0]
	if last-first+1 > len(small) {
		written = make([]int64, 0, last-first+1)
	}
	d.mu.Lock()
	for z := first; z <= last; z++ {
		if z < d.cfg.NrConventional {
			written = append(written, zs)
			continue
		}
		if d.zones[z].cond == dev.ZoneCondOffline {
			d.mu.Unlock()
			return 0, d.opErr("read", off, n, fmt.Errorf("%w: zone %d (start %d)", dev.ErrZoneOffline, z, int64(z)*zs))
		}
		written = append(written, d.zones[z].wp)
	}
	d.mu.Unlock()

	// One read covers everything up to the last byte that holds data;
	// the holes are zeroed afterwards.
	var dataEnd int64
	for i, w := range written {
		start := int64(first+i) * zs
		if lo, hi := max(off, start), min(off+n, start+w); hi > lo {
			dataEnd = hi - off
		}
	}
	if dataEnd > 0 {
		if _, err := d.under.ReadAt(p[:dataEnd], off); err != nil {
			return 0, d.passErr("read", off, dataEnd, err)
		}
	}
	for i, w := range written {
		start := int64(first+i) * zs
		if lo, hi := max(off, start+w), min(off+n, start+zs); hi > lo {
			clear(p[lo-off : hi-off])
		}
	}
	return len(p), nil
}

// WriteAt writes p at off. Conventional zones take writes anywhere, and a
// write may span several of them, but not reach into a sequential zone
// (dev.ErrOutOfRange). A write to a sequential zone must start at its write
// pointer (dev.ErrNotAtWritePointer) and end within its capacity
// (dev.ErrZoneFull, also for a full zone); it never continues into the next
// zone. Read-only and offline zones take no writes. An empty or closed zone
// becomes implicitly open, which needs the zone resources (see the package
// comment); reaching the capacity makes it full. A zero-length write does
// nothing. A failed transfer leaves the write pointer where it was.
func (d *Device) WriteAt(p []byte, off int64) (int, error) {
	if err := d.checkIO("write", p, off); err != nil {
		return 0, err
	}
	n := int64(len(p))
	if n == 0 {
		return 0, nil
	}
	if off < d.convEnd {
		if off+n > d.convEnd {
			return 0, d.opErr("write", off, n, fmt.Errorf("%w: the write crosses from conventional zones into sequential zone %d", dev.ErrOutOfRange, d.cfg.NrConventional))
		}
		if m, err := d.under.WriteAt(p, off); err != nil {
			return m, d.passErr("write", off, n, err)
		}
		return len(p), nil
	}
	z := int(off / d.cfg.ZoneSize)
	d.zl[z].Lock()
	defer d.zl[z].Unlock()
	d.mu.Lock()
	err := d.admitWrite(z, off, n)
	d.mu.Unlock()
	if err != nil {
		return 0, d.opErr("write", off, n, err)
	}
	_, err = d.under.WriteAt(p, off)
	d.mu.Lock()
	d.completeWrite(z, n, err == nil)
	d.mu.Unlock()
	if err != nil {
		return 0, d.passErr("write", off, n, err)
	}
	return len(p), nil
}

// admitWrite checks a write of n bytes at off to sequential zone z and
// opens the zone if needed. mu and zl[z] must be held.
func (d *Device) admitWrite(z int, off, n int64) error {
	s := &d.zones[z]
	start := int64(z) * d.cfg.ZoneSize
	end := start + d.cfg.ZoneCapacity
	switch {
	case s.cond == dev.ZoneCondOffline:
		return fmt.Errorf("%w: zone %d (start %d)", dev.ErrZoneOffline, z, start)
	case s.cond == dev.ZoneCondReadOnly:
		return fmt.Errorf("%w: zone %d (start %d)", dev.ErrZoneReadOnly, z, start)
	case s.cond == dev.ZoneCondFull:
		return fmt.Errorf("%w: zone %d (start %d) is full", dev.ErrZoneFull, z, start)
	case off+n > end:
		return fmt.Errorf("%w: the write ends at %d, past the capacity of zone %d [%d, %d)", dev.ErrZoneFull, off+n, z, start, end)
	case off != start+s.wp:
		return fmt.Errorf("%w: zone %d (start %d) has its write pointer at %d", dev.ErrNotAtWritePointer, z, start, start+s.wp)
	}
	if s.cond == dev.ZoneCondEmpty || s.cond == dev.ZoneCondClosed {
		if err := d.acquireOpen(nil, z); err != nil {
			return fmt.Errorf("zone %d (start %d) cannot be opened: %w", z, start, err)
		}
		d.setCond(z, dev.ZoneCondImpOpen)
		d.version++
	}
	d.tick++
	s.lastUse = d.tick
	s.inflight = true
	return nil
}

// completeWrite ends a write admitted by admitWrite. The zone may have been
// implicitly closed meanwhile (by a write to another zone), never changed
// otherwise: zl[z] is still held. mu must be held.
func (d *Device) completeWrite(z int, n int64, ok bool) {
	s := &d.zones[z]
	s.inflight = false
	switch {
	case ok:
		s.wp += n
		if s.wp == d.cfg.ZoneCapacity {
			d.setCond(z, dev.ZoneCondFull)
		}
	case s.wp == 0 && (s.cond == dev.ZoneCondImpOpen || s.cond == dev.ZoneCondClosed):
		// The write that opened the zone failed: it holds nothing.
		d.setCond(z, dev.ZoneCondEmpty)
	}
	d.version++
}

// Discard passes a discard of conventional zones to the backing device. A
// discard that touches a sequential zone fails with dev.ErrZoneOp: reset
// the zone instead (host-managed SMR drives support no discard at all, and
// on ZNS it does not move the write pointer).
func (d *Device) Discard(off, length int64) error {
	if d.closed.Load() {
		return d.opErr("discard", off, length, dev.ErrClosed)
	}
	if err := dev.CheckRange(d.geo, off, length); err != nil {
		return d.opErr("discard", off, length, err)
	}
	if length == 0 {
		return nil
	}
	if off+length > d.convEnd {
		return d.opErr("discard", off, length, fmt.Errorf("%w: discard reaches sequential zone %d; reset the zone instead", dev.ErrZoneOp, max(d.cfg.NrConventional, int(off/d.cfg.ZoneSize))))
	}
	if err := d.under.Discard(off, length); err != nil {
		return d.passErr("discard", off, length, err)
	}
	return nil
}
