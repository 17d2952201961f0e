package zonemu_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/devtest"
	"github.com/plinth-storage/plinth/io/direct"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// fileTarget is an emulator in a sparse file: CreateFile on the first Open,
// OpenFile after.
func fileTarget(name, path string, cfg zonemu.Config) devtest.Target {
	first := true
	return devtest.Target{
		Name: name,
		Open: func(testing.TB) (dev.Device, error) {
			if first {
				first = false
				return zonemu.CreateFile(path, cfg)
			}
			return zonemu.OpenFile(path)
		},
		Exclusive:    true,
		StrictErrors: true,
	}
}

// underTarget is an emulator over a device the test opens itself: Create on
// the first Open, Open after.
func underTarget(name, path string, cfg zonemu.Config) devtest.Target {
	first := true
	size := int64(cfg.NrZones)*cfg.ZoneSize + zonemu.MetadataSize(cfg)
	return devtest.Target{
		Name: name,
		Open: func(testing.TB) (dev.Device, error) {
			under, err := direct.Open(path, direct.Options{Create: first, Size: size, BlockSize: cfg.LogicalBlockSize})
			if err != nil {
				return nil, err
			}
			var d *zonemu.Device
			if first {
				first = false
				d, err = zonemu.Create(under, cfg)
			} else {
				d, err = zonemu.Open(under)
			}
			if err != nil {
				return nil, errors.Join(err, under.Close())
			}
			return d, nil
		},
		Exclusive:    true,
		StrictErrors: true,
	}
}

func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name  string
		cfg   zonemu.Config
		under bool // Create/Open over a direct file rather than CreateFile/OpenFile
	}{
		{"smr", zonemu.Config{
			ZoneSize: 1 << 20, NrZones: 24, NrConventional: 4,
			MaxOpenZones: 4, MaxActiveZones: 6, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR,
		}, false},
		{"smr-unlimited-no-conventional", zonemu.Config{
			ZoneSize: 1 << 20, NrZones: 16, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR,
		}, false},
		{"zns", zonemu.Config{
			ZoneSize: 2 << 20, ZoneCapacity: 1536 << 10, NrZones: 16, NrConventional: 2,
			MaxOpenZones: 3, MaxActiveZones: 5, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorZNS,
		}, false},
		{"zns-512-over-direct", zonemu.Config{
			ZoneSize: 512 << 10, ZoneCapacity: 384 << 10, NrZones: 32, NrConventional: 1,
			MaxOpenZones: 2, MaxActiveZones: 2, LogicalBlockSize: 512, Behavior: zonemu.BehaviorZNS,
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "zoned.img")
			tgt := fileTarget(c.name, path, c.cfg)
			if c.under {
				tgt = underTarget(c.name, path, c.cfg)
			}
			devtest.Run(t, tgt)
		})
	}
}
