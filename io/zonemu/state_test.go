package zonemu

import (
	"fmt"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// A starting state of zone 3 and how to reach it.
type startState struct {
	name  string
	setup func(t *testing.T, d *Device)
	cond  dev.ZoneCond
	wp    int64 // bytes written
}

var startStates = []startState{
	{"empty", func(t *testing.T, d *Device) {}, dev.ZoneCondEmpty, 0},
	{"imp-open", func(t *testing.T, d *Device) { mustWrite(t, d, zstart(3), tLBS, 1) }, dev.ZoneCondImpOpen, tLBS},
	{"exp-open-empty", func(t *testing.T, d *Device) { mustOK(t, d.OpenZone(zstart(3))) }, dev.ZoneCondExpOpen, 0},
	{"exp-open", func(t *testing.T, d *Device) {
		mustOK(t, d.OpenZone(zstart(3)))
		mustWrite(t, d, zstart(3), tLBS, 1)
	}, dev.ZoneCondExpOpen, tLBS},
	{"closed", func(t *testing.T, d *Device) {
		mustWrite(t, d, zstart(3), tLBS, 1)
		mustOK(t, d.CloseZone(zstart(3)))
	}, dev.ZoneCondClosed, tLBS},
	{"full-by-finish", func(t *testing.T, d *Device) {
		mustWrite(t, d, zstart(3), tLBS, 1)
		mustOK(t, d.FinishZone(zstart(3)))
	}, dev.ZoneCondFull, tLBS},
	{"full-by-write", func(t *testing.T, d *Device) { mustWrite(t, d, zstart(3), tZone, 1) }, dev.ZoneCondFull, tZone},
}

// An outcome: the condition, or the error, after an event.
type outcome struct {
	cond dev.ZoneCond
	err  error
}

func TestStateMachine(t *testing.T) {
	E, I, X, C, F := dev.ZoneCondEmpty, dev.ZoneCondImpOpen, dev.ZoneCondExpOpen, dev.ZoneCondClosed, dev.ZoneCondFull
	ok := func(c dev.ZoneCond) outcome { return outcome{cond: c} }
	bad := func(err error) outcome { return outcome{err: err} }
	// Expected outcome of each event from each start state, in the order
	// of startStates.
	events := []struct {
		name string
		do   func(d *Device, wp int64) error
		want []outcome
	}{
		{"reset", func(d *Device, _ int64) error { return d.ResetZone(zstart(3)) },
			[]outcome{ok(E), ok(E), ok(E), ok(E), ok(E), ok(E), ok(E)}},
		{"open", func(d *Device, _ int64) error { return d.OpenZone(zstart(3)) },
			[]outcome{ok(X), ok(X), ok(X), ok(X), ok(X), bad(dev.ErrZoneOp), bad(dev.ErrZoneOp)}},
		{"close", func(d *Device, _ int64) error { return d.CloseZone(zstart(3)) },
			[]outcome{bad(dev.ErrZoneOp), ok(C), ok(E), ok(C), ok(C), bad(dev.ErrZoneOp), bad(dev.ErrZoneOp)}},
		{"finish", func(d *Device, _ int64) error { return d.FinishZone(zstart(3)) },
			[]outcome{ok(F), ok(F), ok(F), ok(F), ok(F), ok(F), ok(F)}},
		{"write", func(d *Device, wp int64) error {
			_, err := d.WriteAt(pattern(tLBS, 2), zstart(3)+min(wp, tZone-tLBS))
			return err
		}, []outcome{ok(I), ok(I), ok(X), ok(X), ok(I), bad(dev.ErrZoneFull), bad(dev.ErrZoneFull)}},
	}
	for _, ev := range events {
		for i, st := range startStates {
			t.Run(fmt.Sprintf("%s/%s", ev.name, st.name), func(t *testing.T) {
				d, _ := create(t, smallCfg())
				st.setup(t, d)
				wantZone(t, d, 3, st.cond, -1)
				err := ev.do(d, st.wp)
				want := ev.want[i]
				if want.err != nil {
					wantErr(t, err, want.err)
					wantZone(t, d, 3, st.cond, -1)
					return
				}
				mustOK(t, err)
				wantZone(t, d, 3, want.cond, -1)
				o, a := counts(t, d)
				if o != d.nrOpen || a != d.nrActive {
					t.Fatalf("counters %d open %d active, report says %d and %d", d.nrOpen, d.nrActive, o, a)
				}
			})
		}
	}
}

func TestResetZeroesAndRewinds(t *testing.T) {
	d, _ := create(t, smallCfg())
	mustWrite(t, d, zstart(3), 3*tLBS, 1)
	mustOK(t, d.ResetZone(zstart(3)))
	wantZone(t, d, 3, dev.ZoneCondEmpty, 0)
	wantZeros(t, d, zstart(3), tZone)
	b := mustWrite(t, d, zstart(3), tLBS, 2)
	wantData(t, d, zstart(3), b)
	wantZeros(t, d, zstart(3)+tLBS, tZone-tLBS)
}

func TestFinishKeepsData(t *testing.T) {
	d, _ := create(t, smallCfg())
	a := mustWrite(t, d, zstart(5), 2*tLBS, 1)
	mustOK(t, d.FinishZone(zstart(5)))
	got := zone(t, d, 5)
	if got.Cond != dev.ZoneCondFull || got.WritePointer != got.Start+got.Len {
		t.Fatalf("finished zone %v", got)
	}
	wantData(t, d, zstart(5), a)
	wantZeros(t, d, zstart(5)+2*tLBS, tZone-2*tLBS)
}

func TestZoneOpArguments(t *testing.T) {
	d, _ := create(t, smallCfg())
	ops := map[string]func(int64) error{
		"reset": d.ResetZone, "open": d.OpenZone, "close": d.CloseZone, "finish": d.FinishZone,
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			wantErr(t, op(zstart(0)), dev.ErrZoneOp)
			wantErr(t, op(zstart(1)), dev.ErrZoneOp)
			wantErr(t, op(zstart(3)+tLBS), dev.ErrMisaligned)
			wantErr(t, op(zstart(8)), dev.ErrOutOfRange)
			wantErr(t, op(-tZone), dev.ErrOutOfRange)
		})
	}
}

func TestReportZones(t *testing.T) {
	cfg := smallCfg()
	cfg.ZoneCapacity = 10 * tLBS
	d, _ := create(t, cfg)
	zs, err := d.ReportZones(0, 0)
	mustOK(t, err)
	if len(zs) != 8 {
		t.Fatalf("%d zones", len(zs))
	}
	for i, z := range zs {
		conv := i < 2
		if z.Start != zstart(i) || z.Len != tZone || z.Sequential() == conv {
			t.Fatalf("zone %d: %v", i, z)
		}
		if conv && (z.Cond != dev.ZoneCondNotWP || z.Capacity != tZone) {
			t.Fatalf("zone %d: %v", i, z)
		}
		if !conv && (z.Cond != dev.ZoneCondEmpty || z.Capacity != 10*tLBS || z.WritePointer != z.Start) {
			t.Fatalf("zone %d: %v", i, z)
		}
	}
	zs, err = d.ReportZones(zstart(3)+5*tLBS, 2)
	mustOK(t, err)
	if len(zs) != 2 || zs[0].Start != zstart(3) || zs[1].Start != zstart(4) {
		t.Fatalf("ReportZones(inside zone 3, 2) = %v", zs)
	}
	zs, err = d.ReportZones(zstart(6), 10)
	mustOK(t, err)
	if len(zs) != 2 {
		t.Fatalf("ReportZones(zone 6, 10) = %v", zs)
	}
	_, err = d.ReportZones(zstart(8), 0)
	wantErr(t, err, dev.ErrOutOfRange)
	_, err = d.ReportZones(-1, 0)
	wantErr(t, err, dev.ErrOutOfRange)
}

func TestGeometry(t *testing.T) {
	cfg := smallCfg()
	cfg.MaxOpenZones, cfg.MaxActiveZones = 2, 3
	m := newTestDev(cfg.zoneArea()+MetadataSize(cfg)+5*tLBS, 4096)
	mg := m.Geometry()
	mg.Rotational = true
	mg.OptimalIOSize = 1 << 20
	m.geo = &mg
	d, err := Create(m, cfg)
	mustOK(t, err)
	g := d.Geometry()
	want := dev.Geometry{
		Size: 8 * tZone, LogicalBlockSize: tLBS, PhysicalBlockSize: tLBS, OptimalIOSize: 1 << 20,
		MemAlign: 4096, DirectIO: true, Rotational: true, Zoned: dev.ZoneModelHostManaged,
		ZoneSize: tZone, NrZones: 8, MaxOpenZones: 2, MaxActiveZones: 3, ZoneWriteGranularity: tLBS,
	}
	if g != want {
		t.Fatalf("Geometry() = %+v\nwant %+v", g, want)
	}
	mustOK(t, g.Validate())
	if z, ok := dev.AsZoned(d); !ok || z != d {
		t.Fatal("AsZoned does not see a zoned device")
	}
	if d.Path() != memPath {
		t.Fatalf("Path() = %q", d.Path())
	}
}
