package zonemu

import (
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// zoneOp runs a zone management command on the zone starting at off and
// persists the resulting state before returning (see the package comment).
// fn changes zone states through setCond, recording them in the undo log;
// when the state cannot be persisted, the command is rolled back and fails.
// Read-only and offline zones refuse every command unless anyCond is set.
// after, if not nil, runs once the state is durable, still under zl[z].
func (d *Device) zoneOp(op string, off int64, anyCond bool, fn func(u *undoLog, z int) error, after func(z int)) error {
	zs := d.cfg.ZoneSize
	fail := func(err error) error { return d.opErr(op, off, zs, err) }
	switch {
	case d.closed.Load():
		return fail(dev.ErrClosed)
	case off < 0 || off >= d.geo.Size:
		return fail(fmt.Errorf("%w: offset %d outside the device [0, %d)", dev.ErrOutOfRange, off, d.geo.Size))
	case off%zs != 0:
		return fail(fmt.Errorf("%w: offset %d is not the start of a zone", dev.ErrMisaligned, off))
	}
	z := int(off / zs)
	if z < d.cfg.NrConventional {
		return fail(fmt.Errorf("%w: zone %d is conventional", dev.ErrZoneOp, z))
	}
	d.zl[z].Lock()
	defer d.zl[z].Unlock()
	if err := d.applyAndPersist(z, anyCond, fn); err != nil {
		return fail(err)
	}
	if after != nil {
		after(z)
	}
	return nil
}

// applyAndPersist runs fn on zone z and persists the result, or rolls it
// back. zl[z] must be held.
func (d *Device) applyAndPersist(z int, anyCond bool, fn func(u *undoLog, z int) error) error {
	d.pmu.Lock()
	defer d.pmu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if !anyCond {
		switch d.zones[z].cond {
		case dev.ZoneCondReadOnly:
			return fmt.Errorf("%w: zone %d", dev.ErrZoneReadOnly, z)
		case dev.ZoneCondOffline:
			return fmt.Errorf("%w: zone %d", dev.ErrZoneOffline, z)
		}
	}
	var u undoLog
	if err := fn(&u, z); err != nil {
		d.rollback(&u)
		return err
	}
	if len(u) > 0 {
		d.version++
	}
	if d.version == d.persisted {
		return nil
	}
	if err := d.persistLocked(); err != nil {
		d.rollback(&u)
		// The slot may have landed all the same: stay dirty, so that
		// the next persist overwrites it with the rolled-back state.
		d.version++
		return fmt.Errorf("zone state not persisted, command rolled back: %w", err)
	}
	return nil
}

// ResetZone empties the zone starting at off: its write pointer goes back
// to the zone start and its data is gone (it reads as zeros). Resetting an
// empty zone does nothing. When it returns nil the reset is durable, and so
// is every write that completed before it.
func (d *Device) ResetZone(off int64) error {
	return d.zoneOp("reset-zone", off, false, func(u *undoLog, z int) error {
		if d.zones[z].cond == dev.ZoneCondEmpty {
			return nil
		}
		d.save(u, z)
		d.setCond(z, dev.ZoneCondEmpty)
		d.zones[z].wp = 0
		return nil
	}, func(z int) {
		// Space reclamation only: the zone reads as zeros whatever
		// the backing device holds, so errors do not matter.
		_ = d.under.Discard(int64(z)*d.cfg.ZoneSize, d.cfg.ZoneSize)
	})
}

// OpenZone explicitly opens the zone starting at off. An empty or closed
// zone needs the zone resources (see the package comment); an implicitly
// open one becomes explicitly open; an explicitly open one stays so. A full
// zone cannot be opened (dev.ErrZoneOp).
func (d *Device) OpenZone(off int64) error {
	return d.zoneOp("open-zone", off, false, func(u *undoLog, z int) error {
		switch d.zones[z].cond {
		case dev.ZoneCondExpOpen:
			return nil
		case dev.ZoneCondEmpty, dev.ZoneCondClosed:
			if err := d.acquireOpen(u, z); err != nil {
				return err
			}
		case dev.ZoneCondFull:
			return fmt.Errorf("%w: zone %d is full", dev.ErrZoneOp, z)
		}
		d.save(u, z)
		d.setCond(z, dev.ZoneCondExpOpen)
		return nil
	}, nil)
}

// CloseZone closes the open zone starting at off: it becomes closed, or
// empty when nothing was written to it. Closing a closed zone does nothing;
// an empty or full zone cannot be closed (dev.ErrZoneOp).
func (d *Device) CloseZone(off int64) error {
	return d.zoneOp("close-zone", off, false, func(u *undoLog, z int) error {
		switch c := d.zones[z].cond; c {
		case dev.ZoneCondClosed:
			return nil
		case dev.ZoneCondEmpty, dev.ZoneCondFull:
			return fmt.Errorf("%w: zone %d is %v", dev.ErrZoneOp, z, c)
		}
		d.closeZone(u, z)
		return nil
	}, nil)
}

// FinishZone makes the zone starting at off full. What was written stays
// readable; the rest of the zone reads as zeros. Finishing a full zone does
// nothing; finishing an empty or closed zone needs the zone resources, as
// opening it would (ZBC; the kernel's null_blk does the same).
func (d *Device) FinishZone(off int64) error {
	return d.zoneOp("finish-zone", off, false, func(u *undoLog, z int) error {
		switch d.zones[z].cond {
		case dev.ZoneCondFull:
			return nil
		case dev.ZoneCondEmpty, dev.ZoneCondClosed:
			if err := d.acquireOpen(u, z); err != nil {
				return err
			}
		}
		d.save(u, z)
		d.setCond(z, dev.ZoneCondFull)
		return nil
	}, nil)
}

// InjectCondition puts the sequential zone starting at zoneStart in the
// read-only or offline condition, as a failing drive would, and persists
// it. The zone releases its open and active resources; a read-only zone
// keeps its data readable. An offline zone stays offline. Meant for tests.
func (d *Device) InjectCondition(zoneStart int64, cond dev.ZoneCond) error {
	if cond != dev.ZoneCondReadOnly && cond != dev.ZoneCondOffline {
		return d.opErr("inject-condition", zoneStart, d.cfg.ZoneSize, fmt.Errorf("%w: only read-only and offline can be injected, not %v", dev.ErrZoneOp, cond))
	}
	return d.zoneOp("inject-condition", zoneStart, true, func(u *undoLog, z int) error {
		switch d.zones[z].cond {
		case cond:
			return nil
		case dev.ZoneCondOffline:
			return fmt.Errorf("%w: zone %d is offline for good", dev.ErrZoneOp, z)
		}
		d.save(u, z)
		d.setCond(z, cond)
		return nil
	}, nil)
}
