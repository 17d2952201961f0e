package zonemu

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

func TestCreateFileOpenFile(t *testing.T) {
	for _, cfg := range []Config{
		{ZoneSize: 1 << 20, ZoneCapacity: 768 << 10, NrZones: 6, NrConventional: 1, MaxOpenZones: 2, LogicalBlockSize: 4096, Behavior: BehaviorZNS},
		// 512-byte blocks and zones that are no multiple of 4096.
		{ZoneSize: 9 * 512, NrZones: 5, NrConventional: 1, LogicalBlockSize: 512},
	} {
		t.Run(fmt.Sprintf("%v-%d", cfg.Behavior, cfg.LogicalBlockSize), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "smr.img")
			d, err := CreateFile(path, cfg)
			if err != nil {
				t.Fatalf("CreateFile: %v", err)
			}
			if cfg.ZoneCapacity == 0 {
				cfg.ZoneCapacity = cfg.ZoneSize
			}
			if d.Config() != cfg {
				t.Fatalf("config %+v", d.Config())
			}
			lbs := cfg.LogicalBlockSize
			z1 := cfg.ZoneSize
			a := mustWrite(t, d, z1, 2*lbs, 1)
			mustOK(t, d.Flush())
			mustOK(t, d.Close())
			st, err := os.Stat(path)
			mustOK(t, err)
			if st.Size()%4096 != 0 || st.Size() < cfg.zoneArea()+MetadataSize(cfg) {
				t.Fatalf("file size %d", st.Size())
			}
			d, err = OpenFile(path)
			if err != nil {
				t.Fatalf("OpenFile: %v", err)
			}
			defer d.Close()
			if d.Config() != cfg || d.Geometry().LogicalBlockSize != lbs {
				t.Fatalf("reopened config %+v, geometry %+v", d.Config(), d.Geometry())
			}
			wantZone(t, d, 1, dev.ZoneCondClosed, 2*int64(lbs))
			wantData(t, d, z1, a)
			// The file is owned exclusively.
			if _, err := OpenFile(path); !errors.Is(err, dev.ErrBusy) {
				t.Fatalf("second OpenFile = %v, want ErrBusy", err)
			}
		})
	}
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenFile(filepath.Join(dir, "missing.img")); err == nil {
		t.Fatal("OpenFile of a missing file succeeded")
	}
	blank := filepath.Join(dir, "blank.img")
	mustOK(t, os.WriteFile(blank, make([]byte, 1<<20), 0o600))
	if _, err := OpenFile(blank); !errors.Is(err, ErrNotFormatted) {
		t.Fatalf("OpenFile of a blank file = %v, want ErrNotFormatted", err)
	}
	// The blank file was closed again: it can be formatted.
	cfg := smallCfg()
	d, err := CreateFile(blank, cfg)
	mustOK(t, err)
	mustOK(t, d.Close())
	if _, err := CreateFile(filepath.Join(dir, "bad.img"), Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("CreateFile with a zero config = %v", err)
	}
}
