package zonemu

import (
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

func limitCfg(b Behavior, maxOpen, maxActive int) Config {
	c := smallCfg()
	c.Behavior, c.MaxOpenZones, c.MaxActiveZones = b, maxOpen, maxActive
	return c
}

// wp returns zone z's write pointer relative to its start.
func wp(t *testing.T, d *Device, z int) int64 {
	t.Helper()
	r := zone(t, d, z)
	return r.WritePointer - r.Start
}

// write1 appends one block to zone z.
func write1(d *Device, t *testing.T, z int) error {
	t.Helper()
	_, err := d.WriteAt(pattern(tLBS, byte(z)), zstart(z)+wp(t, d, z))
	return err
}

func TestOpenLimitSMRClosesLeastRecentlyUsed(t *testing.T) {
	d, _ := create(t, limitCfg(BehaviorSMR, 2, 0))
	mustOK(t, write1(d, t, 2))
	mustOK(t, write1(d, t, 3))
	mustOK(t, write1(d, t, 2)) // zone 3 is now the least recently used
	mustOK(t, write1(d, t, 4))
	wantZone(t, d, 2, dev.ZoneCondImpOpen, 2*tLBS)
	wantZone(t, d, 3, dev.ZoneCondClosed, tLBS)
	wantZone(t, d, 4, dev.ZoneCondImpOpen, tLBS)
	mustOK(t, write1(d, t, 3)) // reopens 3, closes 2 (used before 4)
	wantZone(t, d, 2, dev.ZoneCondClosed, 2*tLBS)
	wantZone(t, d, 3, dev.ZoneCondImpOpen, 2*tLBS)
	wantZone(t, d, 4, dev.ZoneCondImpOpen, tLBS)
	if o, a := counts(t, d); o != 2 || a != 3 {
		t.Fatalf("%d open, %d active", o, a)
	}
}

func TestOpenLimitSMRNeverClosesExplicitlyOpen(t *testing.T) {
	d, _ := create(t, limitCfg(BehaviorSMR, 2, 0))
	mustOK(t, d.OpenZone(zstart(2)))
	mustOK(t, write1(d, t, 3))
	mustOK(t, write1(d, t, 4)) // closes 3, not the explicitly open 2
	wantZone(t, d, 2, dev.ZoneCondExpOpen, 0)
	wantZone(t, d, 3, dev.ZoneCondClosed, tLBS)
	mustOK(t, d.OpenZone(zstart(4)))
	wantErr(t, write1(d, t, 5), dev.ErrTooManyOpenZones)
	wantErr(t, d.OpenZone(zstart(5)), dev.ErrTooManyOpenZones)
	wantZone(t, d, 5, dev.ZoneCondEmpty, 0)
}

func TestOpenLimitZNSFails(t *testing.T) {
	d, _ := create(t, limitCfg(BehaviorZNS, 2, 0))
	mustOK(t, write1(d, t, 2))
	mustOK(t, write1(d, t, 3))
	wantErr(t, write1(d, t, 4), dev.ErrTooManyOpenZones)
	wantZone(t, d, 4, dev.ZoneCondEmpty, 0)
	wantZone(t, d, 2, dev.ZoneCondImpOpen, tLBS)
	wantZone(t, d, 3, dev.ZoneCondImpOpen, tLBS)
	// Explicit open needs the resource too.
	wantErr(t, d.OpenZone(zstart(4)), dev.ErrTooManyOpenZones)
	// A closed zone needs an open resource to be written.
	mustOK(t, d.CloseZone(zstart(2)))
	mustOK(t, write1(d, t, 4))
	wantErr(t, write1(d, t, 2), dev.ErrTooManyOpenZones)
	wantZone(t, d, 2, dev.ZoneCondClosed, tLBS)
	// Writes to zones already open need nothing.
	mustOK(t, write1(d, t, 3))
	mustOK(t, write1(d, t, 4))
	// Making an open zone full releases its resource.
	_, err := d.WriteAt(pattern(tZone-2*tLBS, 1), zstart(3)+2*tLBS)
	mustOK(t, err)
	wantZone(t, d, 3, dev.ZoneCondFull, -1)
	mustOK(t, write1(d, t, 2))
}

func TestExplicitOpenSMRImplicitlyCloses(t *testing.T) {
	d, _ := create(t, limitCfg(BehaviorSMR, 2, 0))
	mustOK(t, write1(d, t, 2))
	mustOK(t, write1(d, t, 3))
	mustOK(t, d.OpenZone(zstart(4)))
	wantZone(t, d, 2, dev.ZoneCondClosed, tLBS)
	wantZone(t, d, 3, dev.ZoneCondImpOpen, tLBS)
	wantZone(t, d, 4, dev.ZoneCondExpOpen, 0)
	// An implicitly open zone becomes explicitly open without a new
	// resource.
	mustOK(t, d.OpenZone(zstart(3)))
	wantZone(t, d, 3, dev.ZoneCondExpOpen, tLBS)
}

func TestActiveLimit(t *testing.T) {
	for _, b := range []Behavior{BehaviorSMR, BehaviorZNS} {
		t.Run(b.String(), func(t *testing.T) {
			d, _ := create(t, limitCfg(b, 0, 2))
			mustOK(t, write1(d, t, 2))
			mustOK(t, write1(d, t, 3))
			wantErr(t, write1(d, t, 4), dev.ErrTooManyActiveZones)
			wantErr(t, d.OpenZone(zstart(4)), dev.ErrTooManyActiveZones)
			wantErr(t, d.FinishZone(zstart(4)), dev.ErrTooManyActiveZones)
			// Closing frees no active resource.
			mustOK(t, d.CloseZone(zstart(2)))
			wantErr(t, write1(d, t, 4), dev.ErrTooManyActiveZones)
			// A closed zone is already active: it may be reopened.
			mustOK(t, d.OpenZone(zstart(2)))
			mustOK(t, d.CloseZone(zstart(2)))
			mustOK(t, write1(d, t, 2))
			// Finishing and resetting free it.
			mustOK(t, d.FinishZone(zstart(2)))
			mustOK(t, write1(d, t, 4))
			wantErr(t, write1(d, t, 5), dev.ErrTooManyActiveZones)
			mustOK(t, d.ResetZone(zstart(3)))
			mustOK(t, write1(d, t, 5))
			// Closing an explicitly opened empty zone frees it.
			mustOK(t, d.ResetZone(zstart(5)))
			mustOK(t, d.OpenZone(zstart(5)))
			mustOK(t, d.CloseZone(zstart(5)))
			wantZone(t, d, 5, dev.ZoneCondEmpty, 0)
			mustOK(t, write1(d, t, 6))
		})
	}
}

func TestOpenAndActiveLimits(t *testing.T) {
	// SMR: at the open limit an implicit close makes room, but the
	// active limit still holds (the closed zone stays active).
	d, _ := create(t, limitCfg(BehaviorSMR, 2, 3))
	mustOK(t, write1(d, t, 2))
	mustOK(t, write1(d, t, 3))
	mustOK(t, write1(d, t, 4)) // closes 2
	wantZone(t, d, 2, dev.ZoneCondClosed, tLBS)
	wantErr(t, write1(d, t, 5), dev.ErrTooManyActiveZones)
	wantZone(t, d, 3, dev.ZoneCondImpOpen, tLBS) // nothing closed for nothing
	// Reopening the closed zone at both limits works: it is active
	// already, and an implicit close frees an open resource.
	mustOK(t, write1(d, t, 2)) // closes 3
	wantZone(t, d, 3, dev.ZoneCondClosed, tLBS)
	if o, a := counts(t, d); o != 2 || a != 3 {
		t.Fatalf("%d open, %d active", o, a)
	}

	// ZNS: the same situation fails instead.
	d, _ = create(t, limitCfg(BehaviorZNS, 2, 3))
	mustOK(t, write1(d, t, 2))
	mustOK(t, write1(d, t, 3))
	mustOK(t, d.CloseZone(zstart(2)))
	mustOK(t, write1(d, t, 4))
	wantErr(t, write1(d, t, 5), dev.ErrTooManyActiveZones)
	wantErr(t, write1(d, t, 2), dev.ErrTooManyOpenZones)
	wantErr(t, d.FinishZone(zstart(2)), dev.ErrTooManyOpenZones)
	mustOK(t, d.FinishZone(zstart(3)))
	mustOK(t, d.FinishZone(zstart(2)))
	if o, a := counts(t, d); o != 1 || a != 1 {
		t.Fatalf("%d open, %d active", o, a)
	}
}

func TestFinishNeedsOpenResourceSMR(t *testing.T) {
	// Finishing a closed zone at the open limit implicitly closes one
	// (ZBC's manage open zone resources, as null_blk does).
	d, _ := create(t, limitCfg(BehaviorSMR, 2, 0))
	mustOK(t, write1(d, t, 2))
	mustOK(t, d.CloseZone(zstart(2)))
	mustOK(t, write1(d, t, 3))
	mustOK(t, write1(d, t, 4))
	mustOK(t, d.FinishZone(zstart(2)))
	wantZone(t, d, 2, dev.ZoneCondFull, -1)
	wantZone(t, d, 3, dev.ZoneCondClosed, tLBS)
	wantZone(t, d, 4, dev.ZoneCondImpOpen, tLBS)
}
