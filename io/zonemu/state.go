package zonemu

import (
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// zoneState is the emulator's view of one zone. It is guarded by Device.mu.
type zoneState struct {
	cond dev.ZoneCond
	// wp is the number of bytes written from the zone start: the write
	// pointer of a writable zone, and the end of the readable data of a
	// full, read-only or offline one (a finished zone keeps the data it
	// had; the rest reads as zeros). Always 0 for conventional zones.
	wp int64
	// lastUse orders implicitly open zones for the LRU implicit close.
	lastUse uint64
	// inflight is set while a write admitted to the zone is transferring;
	// the zone then holds data as far as closing it is concerned.
	inflight bool
}

// undoLog records zone states before a zone management command changes
// them, so that the command can be rolled back when it cannot be persisted.
type undoLog []undoRec

type undoRec struct {
	zone  int
	state zoneState
}

// save records zone z's state before it changes. u may be nil.
func (d *Device) save(u *undoLog, z int) {
	if u != nil {
		*u = append(*u, undoRec{z, d.zones[z]})
	}
}

// rollback restores the states recorded in u, newest first.
func (d *Device) rollback(u *undoLog) {
	for i := len(*u) - 1; i >= 0; i-- {
		r := (*u)[i]
		d.setCond(r.zone, r.state.cond)
		d.zones[r.zone] = r.state
	}
	*u = (*u)[:0]
}

// setCond moves zone z to condition c and keeps the resource counts.
func (d *Device) setCond(z int, c dev.ZoneCond) {
	old := d.zones[z].cond
	if old.IsOpen() {
		d.nrOpen--
	}
	if old.IsActive() {
		d.nrActive--
	}
	if old == dev.ZoneCondImpOpen {
		delete(d.impOpen, z)
	}
	if c.IsOpen() {
		d.nrOpen++
	}
	if c.IsActive() {
		d.nrActive++
	}
	if c == dev.ZoneCondImpOpen {
		d.impOpen[z] = struct{}{}
	}
	d.zones[z].cond = c
}

// closeZone closes an open zone: CLOSED when it holds data (or a write to
// it is transferring), EMPTY otherwise.
func (d *Device) closeZone(u *undoLog, z int) {
	d.save(u, z)
	if d.zones[z].wp == 0 && !d.zones[z].inflight {
		d.setCond(z, dev.ZoneCondEmpty)
	} else {
		d.setCond(z, dev.ZoneCondClosed)
	}
}

// acquireOpen checks that the EMPTY or CLOSED zone z may become open, as
// ZBC's "manage open zone resources" with ZNS's active limit (and the
// kernel's null_blk): an empty zone needs an active resource, which no
// implicit close can free (closed zones stay active); any zone needs an
// open resource, which an SMR drive frees by closing its least recently
// written implicitly open zone. It changes nothing when it fails.
func (d *Device) acquireOpen(u *undoLog, z int) error {
	c := d.cfg
	if d.zones[z].cond == dev.ZoneCondEmpty && c.MaxActiveZones > 0 && d.nrActive >= c.MaxActiveZones {
		return fmt.Errorf("%w: %d of %d zones active", dev.ErrTooManyActiveZones, d.nrActive, c.MaxActiveZones)
	}
	if c.MaxOpenZones == 0 || d.nrOpen < c.MaxOpenZones {
		return nil
	}
	if c.Behavior == BehaviorZNS {
		return fmt.Errorf("%w: %d of %d zones open (ZNS behaviour: no implicit close)", dev.ErrTooManyOpenZones, d.nrOpen, c.MaxOpenZones)
	}
	victim := -1
	for v := range d.impOpen {
		if v != z && (victim < 0 || older(d.zones[v].lastUse, v, d.zones[victim].lastUse, victim)) {
			victim = v
		}
	}
	if victim < 0 {
		return fmt.Errorf("%w: %d of %d zones open, all explicitly", dev.ErrTooManyOpenZones, d.nrOpen, c.MaxOpenZones)
	}
	d.closeZone(u, victim)
	return nil
}

// older orders implicitly open zones by last use, then by index, so that the
// choice does not depend on map iteration order.
func older(useA uint64, a int, useB uint64, b int) bool {
	return useA < useB || useA == useB && a < b
}
