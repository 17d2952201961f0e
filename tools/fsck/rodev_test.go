package fsck

import (
	"errors"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// The guard passes reads and zone reports, refuses and counts every write,
// discard and zone command, and leaves the media as it was.
func TestGuardRefusesWrites(t *testing.T) {
	var g guard
	cfg := zonemu.Config{ZoneSize: 1 << 20, ZoneCapacity: 1 << 20, NrZones: 4, NrConventional: 1,
		MaxOpenZones: 2, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}
	mem := memdev.New("z", 4<<20+zonemu.MetadataSize(cfg), 4096)
	z, err := zonemu.Create(mem, cfg)
	if err != nil {
		t.Fatal(err)
	}
	before := string(mem.Bytes())
	d := g.wrap(z)
	zd, ok := dev.AsZoned(d)
	if !ok {
		t.Fatal("a zoned device lost its zones behind the guard")
	}
	buf := dev.AlignedBuffer(4096)
	if _, err := d.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if zs, err := zd.ReportZones(0, 0); err != nil || len(zs) != 4 {
		t.Fatalf("report zones: %v %v", zs, err)
	}
	for name, op := range map[string]func() error{
		"write":   func() error { _, err := d.WriteAt(buf, 0); return err },
		"discard": func() error { return d.Discard(0, 4096) },
		"reset":   func() error { return zd.ResetZone(1 << 20) },
		"open":    func() error { return zd.OpenZone(1 << 20) },
		"close":   func() error { return zd.CloseZone(1 << 20) },
		"finish":  func() error { return zd.FinishZone(1 << 20) },
	} {
		if err := op(); !errors.Is(err, ErrWriteRefused) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := g.refused.Load(); n != 6 {
		t.Fatalf("%d refusals counted, want 6", n)
	}
	if string(mem.Bytes()) != before {
		t.Fatal("the media changed behind the guard")
	}
}
