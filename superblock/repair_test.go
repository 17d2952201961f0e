package superblock

import (
	"testing"

	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// A damaged record in each area (the newest one in the active area, an
// old one in the other): Rewrite leaves both areas holding the label once,
// undamaged, with the next sequence, and updates go on after it.
func TestRewriteClearsDamage(t *testing.T) {
	d, lg := formatMem(t, 16<<20, 1<<20)
	perArea := AreaMax / SlotSize
	for i := 1; i <= perArea+3; i++ { // into area 1, area 0 full of old records
		l := lg.Label()
		l.Position = uint32(i % 6)
		if err := lg.Update(l); err != nil {
			t.Fatal(err)
		}
	}
	if lg.active != 1 {
		t.Fatalf("active area %d", lg.active)
	}
	b := d.Bytes()
	b[AreaMax+3*SlotSize+HeaderSize+7] ^= 1 // the newest record, area 1 slot 3
	b[5*SlotSize+HeaderSize+9] ^= 1         // an old record of area 0
	re, err := Open(d.Reopen())
	if err != nil {
		t.Fatal(err)
	}
	if len(re.Damage()) != 2 {
		t.Fatalf("damage %v", re.Damage())
	}
	want, seq := re.Label(), re.Seq()
	if err := re.Rewrite(); err != nil {
		t.Fatal(err)
	}
	if len(re.Damage()) != 0 || re.Seq() != seq+1 || re.Label() != want {
		t.Fatalf("after rewrite: damage %v, seq %d (was %d)", re.Damage(), re.Seq(), seq)
	}
	again, err := Open(d.Reopen())
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Damage()) != 0 || again.Seq() != seq+1 || again.Label() != want {
		t.Fatalf("reopened: damage %v, seq %d label %+v", again.Damage(), again.Seq(), again.Label())
	}
	if err := again.Check(); err != nil {
		t.Fatal(err)
	}
	// Nothing but the one record is left: the other slots are empty.
	for off := 0; off < 2*AreaMax; off += SlotSize {
		if _, err := DecodeRecord(b[off : off+SlotSize]); err == nil && off != 0 {
			t.Fatalf("a record is left at byte %d", off)
		}
	}
	l := again.Label()
	l.Position = 4
	if err := again.Update(l); err != nil {
		t.Fatal(err)
	}
	if err := again.Check(); err != nil {
		t.Fatal(err)
	}
}

// On an emulated ZNS drive that allows one active zone, Rewrite switches
// areas as Update does (finish, then reset) and the log goes on.
func TestRewriteOnSequentialAreas(t *testing.T) {
	cfg := znsSmallCapacity
	z, err := zonemu.Create(memdev.New("mem", int64(cfg.NrZones)*cfg.ZoneSize+zonemu.MetadataSize(cfg), 4096), cfg)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := Format(z, testLabel(1))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		l := lg.Label()
		l.Position = uint32(i)
		if err := lg.Update(l); err != nil {
			t.Fatal(err)
		}
	}
	want := lg.Label()
	for range 3 {
		if err := lg.Rewrite(); err != nil {
			t.Fatal(err)
		}
		if err := lg.Check(); err != nil {
			t.Fatal(err)
		}
	}
	re, err := Open(z)
	if err != nil {
		t.Fatal(err)
	}
	if re.Label() != want || re.Seq() != 7 || len(re.Damage()) != 0 {
		t.Fatalf("reopened: seq %d, damage %v", re.Seq(), re.Damage())
	}
	l := re.Label()
	l.Position = 5
	if err := re.Update(l); err != nil {
		t.Fatal(err)
	}
}
