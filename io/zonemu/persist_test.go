package zonemu

import (
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// slotSeq returns the sequence number in slot k's header on the media.
func slotSeq(m media, k int) uint64 {
	return le.Uint64(m.Bytes()[headerOff(m.Geometry().Size, k)+hSeq:])
}

// countMetaWrites makes m count the writes that land in the metadata.
func countMetaWrites(m *testDev, cfg Config) *int {
	n := new(int)
	start := m.Geometry().Size - MetadataSize(cfg)
	m.fail = func(op string, off, _ int64) error {
		if op == "write" && off >= start {
			*n++
		}
		return nil
	}
	return n
}

func TestPersistAcrossCloseAndOpen(t *testing.T) {
	cfg := Config{ZoneSize: tZone, ZoneCapacity: 12 * tLBS, NrZones: 10, NrConventional: 1,
		MaxOpenZones: 4, MaxActiveZones: 5, LogicalBlockSize: tLBS, Behavior: BehaviorZNS}
	d, m := create(t, cfg)
	conv := mustWrite(t, d, 0, 2*tLBS, 9)
	a := mustWrite(t, d, zstart(1), 3*tLBS, 1) // imp-open -> closed
	mustOK(t, d.OpenZone(zstart(2)))           // exp-open, empty -> empty
	mustOK(t, d.OpenZone(zstart(3)))
	b := mustWrite(t, d, zstart(3), tLBS, 2) // exp-open -> closed
	c := mustWrite(t, d, zstart(4), 2*tLBS, 3)
	mustOK(t, d.CloseZone(zstart(4)))      // closed
	mustWrite(t, d, zstart(5), 12*tLBS, 4) // full by writes
	e := mustWrite(t, d, zstart(6), tLBS, 5)
	mustOK(t, d.FinishZone(zstart(6)))
	f := mustWrite(t, d, zstart(7), tLBS, 6)
	mustOK(t, d.InjectCondition(zstart(7), dev.ZoneCondReadOnly))
	mustOK(t, d.InjectCondition(zstart(8), dev.ZoneCondOffline))
	mustOK(t, d.Flush())
	mustOK(t, d.Close())

	d2, err := Open(m.reopen())
	mustOK(t, err)
	if d2.Config() != cfg {
		t.Fatalf("config %+v, want %+v", d2.Config(), cfg)
	}
	if d2.Geometry() != d.Geometry() {
		t.Fatalf("geometry %+v, want %+v", d2.Geometry(), d.Geometry())
	}
	wantZone(t, d2, 0, dev.ZoneCondNotWP, -1)
	wantZone(t, d2, 1, dev.ZoneCondClosed, 3*tLBS)
	wantZone(t, d2, 2, dev.ZoneCondEmpty, 0)
	wantZone(t, d2, 3, dev.ZoneCondClosed, tLBS)
	wantZone(t, d2, 4, dev.ZoneCondClosed, 2*tLBS)
	wantZone(t, d2, 5, dev.ZoneCondFull, -1)
	wantZone(t, d2, 6, dev.ZoneCondFull, -1)
	wantZone(t, d2, 7, dev.ZoneCondReadOnly, -1)
	wantZone(t, d2, 8, dev.ZoneCondOffline, -1)
	wantZone(t, d2, 9, dev.ZoneCondEmpty, 0)
	wantData(t, d2, 0, conv)
	wantData(t, d2, zstart(1), a)
	wantData(t, d2, zstart(3), b)
	wantData(t, d2, zstart(4), c)
	wantData(t, d2, zstart(6), e)
	wantZeros(t, d2, zstart(6)+tLBS, tZone-tLBS)
	wantData(t, d2, zstart(7), f)
	if o, a := counts(t, d2); o != 0 || a != 3 || d2.nrOpen != 0 || d2.nrActive != 3 {
		t.Fatalf("after a power cycle: %d open, %d active (counters %d, %d)", o, a, d2.nrOpen, d2.nrActive)
	}
	// The reopened zones obey the limits and the rules as before.
	mustOK(t, write1(d2, t, 1))
	mustOK(t, write1(d2, t, 3))
	mustOK(t, write1(d2, t, 4))
	mustOK(t, write1(d2, t, 9))
	wantErr(t, write1(d2, t, 2), dev.ErrTooManyOpenZones)
}

func TestUnflushedWritesRollBack(t *testing.T) {
	d, m := create(t, smallCfg())
	a := mustWrite(t, d, zstart(3), 2*tLBS, 1)
	mustOK(t, d.Flush())
	mustWrite(t, d, zstart(3)+2*tLBS, 3*tLBS, 2)
	mustWrite(t, d, zstart(4), tLBS, 3)
	// Power cut: no flush, no close.
	d2, m2 := reopen(t, m)
	wantZone(t, d2, 3, dev.ZoneCondClosed, 2*tLBS)
	wantZone(t, d2, 4, dev.ZoneCondEmpty, 0)
	wantData(t, d2, zstart(3), a)
	wantZeros(t, d2, zstart(3)+2*tLBS, tZone-2*tLBS) // the media holds the lost writes
	// Writing resumes at the rolled-back write pointer.
	b := mustWrite(t, d2, zstart(3)+2*tLBS, tLBS, 4)
	mustOK(t, d2.Flush())
	d3, _ := reopen(t, m2)
	wantData(t, d3, zstart(3), append(append([]byte{}, a...), b...))
	wantZone(t, d3, 3, dev.ZoneCondClosed, 3*tLBS)
}

func TestZoneCommandsPersistAtOnce(t *testing.T) {
	cmds := []struct {
		name string
		do   func(d *Device) error
		cond dev.ZoneCond
	}{
		{"reset", func(d *Device) error { return d.ResetZone(zstart(3)) }, dev.ZoneCondEmpty},
		{"finish", func(d *Device) error { return d.FinishZone(zstart(3)) }, dev.ZoneCondFull},
		{"close", func(d *Device) error { return d.CloseZone(zstart(3)) }, dev.ZoneCondClosed},
		{"open", func(d *Device) error { return d.OpenZone(zstart(3)) }, dev.ZoneCondClosed},
	}
	for _, c := range cmds {
		t.Run(c.name, func(t *testing.T) {
			d, m := create(t, smallCfg())
			mustWrite(t, d, zstart(3), 2*tLBS, 1)
			mustOK(t, d.Flush())
			mustWrite(t, d, zstart(3)+2*tLBS, tLBS, 2)
			mustOK(t, c.do(d))
			d2, _ := reopen(t, m)
			wantZone(t, d2, 3, c.cond, -1)
		})
	}
}

func TestFlushWritesSlotOnlyWhenStateChanged(t *testing.T) {
	cfg := smallCfg()
	d, m := create(t, cfg)
	n := countMetaWrites(m, cfg)
	mustOK(t, d.Flush())
	if *n != 0 {
		t.Fatalf("flush with nothing changed wrote %d metadata blocks", *n)
	}
	mustWrite(t, d, 0, tLBS, 1) // conventional: no zone state
	mustOK(t, d.Flush())
	if *n != 0 {
		t.Fatalf("flush after a conventional write wrote %d metadata blocks", *n)
	}
	s0, s1 := slotSeq(m, 0), slotSeq(m, 1)
	mustWrite(t, d, zstart(3), tLBS, 1)
	mustOK(t, d.Flush())
	if *n != 2 {
		t.Fatalf("flush after a sequential write wrote %d metadata blocks, want a table and a header", *n)
	}
	mustOK(t, d.Flush())
	mustOK(t, d.ResetZone(zstart(4))) // no-op on an empty zone, nothing dirty
	if *n != 2 {
		t.Fatalf("no-op flush and reset wrote %d metadata blocks", *n-2)
	}
	// The slots alternate, with increasing sequence numbers.
	if s0 != 1 || s1 != 2 || slotSeq(m, 0) != 3 || slotSeq(m, 1) != 2 {
		t.Fatalf("slot sequences %d/%d then %d/%d", s0, s1, slotSeq(m, 0), slotSeq(m, 1))
	}
	mustOK(t, d.ResetZone(zstart(3)))
	if slotSeq(m, 0) != 3 || slotSeq(m, 1) != 4 {
		t.Fatalf("slot sequences %d/%d after a reset", slotSeq(m, 0), slotSeq(m, 1))
	}
}

func TestFailedPersistRollsBack(t *testing.T) {
	// The flush after the slot write fails: the slot may have landed (on
	// testDev it has), the command is rolled back, and the next Flush must
	// overwrite that slot with the rolled-back state.
	d, m := create(t, smallCfg())
	a := mustWrite(t, d, zstart(3), 2*tLBS, 1)
	mustOK(t, d.Flush())
	flushes := 0
	m.fail = func(op string, _, _ int64) error {
		if op == "flush" {
			flushes++
			if flushes == 2 {
				return dev.ErrIO
			}
		}
		return nil
	}
	wantErr(t, d.ResetZone(zstart(3)), dev.ErrIO)
	m.fail = nil
	wantZone(t, d, 3, dev.ZoneCondImpOpen, 2*tLBS)
	wantData(t, d, zstart(3), a)
	// The rolled-back state is what a Flush persists.
	mustOK(t, d.Flush())
	d2, _ := reopen(t, m)
	wantZone(t, d2, 3, dev.ZoneCondClosed, 2*tLBS)
	wantData(t, d2, zstart(3), a)
}

func TestFailedPersistKeepsLimits(t *testing.T) {
	// Finishing frees a resource; a failed persist takes it back.
	d, m := create(t, limitCfg(BehaviorZNS, 1, 0))
	mustOK(t, write1(d, t, 3))
	m.fail = func(op string, _, _ int64) error {
		if op == "write" {
			return dev.ErrIO
		}
		return nil
	}
	wantErr(t, d.FinishZone(zstart(3)), dev.ErrIO)
	m.fail = nil
	wantZone(t, d, 3, dev.ZoneCondImpOpen, tLBS)
	wantErr(t, write1(d, t, 4), dev.ErrTooManyOpenZones)
	// Opening implicitly closes nothing on ZNS; on SMR a failed open
	// rolls back the implicit close too.
	d, m = create(t, limitCfg(BehaviorSMR, 1, 0))
	mustOK(t, write1(d, t, 3))
	m.fail = func(op string, _, _ int64) error {
		if op == "flush" {
			return dev.ErrIO
		}
		return nil
	}
	wantErr(t, d.OpenZone(zstart(4)), dev.ErrIO)
	m.fail = nil
	wantZone(t, d, 3, dev.ZoneCondImpOpen, tLBS)
	wantZone(t, d, 4, dev.ZoneCondEmpty, 0)
	if d.nrOpen != 1 || d.nrActive != 1 || len(d.impOpen) != 1 {
		t.Fatalf("counters after rollback: %d open, %d active, %d implicitly open", d.nrOpen, d.nrActive, len(d.impOpen))
	}
}

func TestFailedFlush(t *testing.T) {
	d, m := create(t, smallCfg())
	a := mustWrite(t, d, zstart(3), tLBS, 1)
	m.fail = func(op string, _, _ int64) error {
		if op == "flush" {
			return dev.ErrIO
		}
		return nil
	}
	wantErr(t, d.Flush(), dev.ErrIO)
	m.fail = func(op string, off, _ int64) error {
		if op == "write" && off >= d.geo.Size {
			return dev.ErrIO
		}
		return nil
	}
	wantErr(t, d.Flush(), dev.ErrIO)
	d2, _ := reopen(t, m)
	wantZone(t, d2, 3, dev.ZoneCondEmpty, 0)
	m.fail = nil
	mustOK(t, d.Flush())
	d3, _ := reopen(t, m)
	wantZone(t, d3, 3, dev.ZoneCondClosed, tLBS)
	wantData(t, d3, zstart(3), a)
}
