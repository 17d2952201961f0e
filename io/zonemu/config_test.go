package zonemu

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(c *Config)
		want string // "" = valid
	}{
		{"ok", func(c *Config) {}, ""},
		{"512-byte blocks", func(c *Config) { c.LogicalBlockSize = 512 }, ""},
		{"limits", func(c *Config) { c.MaxOpenZones, c.MaxActiveZones = 2, 2 }, ""},
		{"active limit only", func(c *Config) { c.MaxActiveZones = 2 }, ""},
		{"open limit only", func(c *Config) { c.MaxOpenZones = 2 }, ""},
		{"capacity below size", func(c *Config) { c.ZoneCapacity = tLBS }, ""},
		{"block size", func(c *Config) { c.LogicalBlockSize = 1024 }, "logical block size 1024"},
		{"zero block size", func(c *Config) { c.LogicalBlockSize = 0 }, "logical block size 0"},
		{"zone size", func(c *Config) { c.ZoneSize = tZone + 512 }, "zone size"},
		{"zero zone size", func(c *Config) { c.ZoneSize = 0 }, "zone size 0"},
		{"huge zone", func(c *Config) { c.ZoneSize = 1 << 45; c.ZoneCapacity = tLBS }, "logical blocks"},
		{"capacity", func(c *Config) { c.ZoneCapacity = tZone + tLBS }, "exceeds the zone size"},
		{"zero capacity", func(c *Config) { c.ZoneCapacity = 0 }, "zone capacity 0"},
		{"misaligned capacity", func(c *Config) { c.ZoneCapacity = 1000 }, "zone capacity 1000"},
		{"no zones", func(c *Config) { c.NrZones = 0; c.NrConventional = 0 }, "zone count 0"},
		{"too many zones", func(c *Config) { c.NrZones = maxZones + 1 }, "zone count"},
		{"all conventional", func(c *Config) { c.NrConventional = c.NrZones }, "at least one zone must be sequential"},
		{"negative conventional", func(c *Config) { c.NrConventional = -1 }, "conventional zone count -1"},
		{"overflow", func(c *Config) { c.ZoneSize = 1<<44 - 4096; c.ZoneCapacity = 1 << 20; c.NrZones = 1 << 20 }, "overflow a 64-bit size"},
		{"negative open", func(c *Config) { c.MaxOpenZones = -1 }, "max open zones -1"},
		{"negative active", func(c *Config) { c.MaxActiveZones = -1 }, "max active zones -1"},
		{"open above active", func(c *Config) { c.MaxOpenZones, c.MaxActiveZones = 3, 2 }, "exceeds max active zones"},
		{"largest limits", func(c *Config) { c.MaxOpenZones, c.MaxActiveZones = math.MaxInt32, math.MaxInt32 }, ""},
		{"open limit past 32 bits", func(c *Config) { c.MaxOpenZones = math.MaxInt32 + 1 }, "max open zones 2147483648"},
		{"active limit past 32 bits", func(c *Config) { c.MaxActiveZones = 1<<32 + 2 }, "max active zones 4294967298"},
		{"behavior", func(c *Config) { c.Behavior = 2 }, "unknown behavior 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := smallCfg()
			c.mod(&cfg)
			err := cfg.validate()
			switch {
			case c.want == "":
				mustOK(t, err)
			case !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.want):
				t.Fatalf("validate() = %v, want ErrInvalidConfig mentioning %q", err, c.want)
			}
		})
	}
}

func TestMetadataSize(t *testing.T) {
	for _, c := range []struct {
		zones int
		want  int64
	}{
		{1, 4 * 4096}, {512, 4 * 4096}, {513, 6 * 4096}, {4096, 2*4096 + 2*8*4096},
	} {
		cfg := smallCfg()
		cfg.NrZones = c.zones
		if got := MetadataSize(cfg); got != c.want {
			t.Errorf("MetadataSize(%d zones) = %d, want %d", c.zones, got, c.want)
		}
	}
	// Garbage does not panic.
	_ = MetadataSize(Config{NrZones: -5})
	_ = MetadataSize(Config{NrZones: 1 << 40})
}

func TestCreateRejects(t *testing.T) {
	cfg := smallCfg()
	fits := cfg.zoneArea() + MetadataSize(cfg)
	zoned := newTestDev(fits, 4096)
	zg := zoned.Geometry()
	zg.Zoned = dev.ZoneModelHostManaged
	zoned.geo = &zg
	bigBlocks := newMemDev(fits, 4096)
	small := cfg
	small.LogicalBlockSize = 512
	for _, c := range []struct {
		name  string
		under dev.Device
		cfg   Config
		want  string
	}{
		{"too small", newMemDev(fits-4096, 4096), cfg, "need"},
		{"tiny", newMemDev(4096, 4096), cfg, "holds only"},
		{"zoned", zoned, cfg, "itself zoned"},
		{"block size", bigBlocks, small, "not a multiple of the backing device's 4096"},
		{"bad config", newMemDev(fits, 4096), Config{ZoneSize: 1}, "logical block size"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Create(c.under, c.cfg)
			var oe *dev.OpError
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) || !errors.As(err, &oe) {
				t.Fatalf("Create = %v, want ErrInvalidConfig mentioning %q", err, c.want)
			}
		})
	}
	// Capacity 0 means the zone size.
	cfg.ZoneCapacity = 0
	d, err := Create(newMemDev(fits, 4096), cfg)
	mustOK(t, err)
	if d.Config().ZoneCapacity != tZone {
		t.Fatalf("capacity %d", d.Config().ZoneCapacity)
	}
	// A larger device is fine: the metadata sits at its very end.
	m := newTestDev(fits+3*4096, 4096)
	d, err = Create(m, cfg)
	mustOK(t, err)
	mustWrite(t, d, zstart(3), tLBS, 1)
	mustOK(t, d.Flush())
	d2, _ := reopen(t, m)
	wantZone(t, d2, 3, dev.ZoneCondClosed, tLBS)
	// A device shrunk after the format is not found.
	shrunk := newMemDev(fits, 4096)
	copy(shrunk.Bytes(), m.Bytes())
	if shrunk.Geometry().Size != fits {
		t.Fatalf("shrunk device holds %d bytes, want %d", shrunk.Geometry().Size, fits)
	}
	_, err = Open(shrunk)
	if !errors.Is(err, ErrNotFormatted) {
		t.Fatalf("Open of a shrunk device = %v", err)
	}
}

// Limits are persisted in 32 bits: Create used to accept wider ones and
// persist them truncated, so that Open returned other limits (1<<32+2 came
// back as 2, 1<<32 as unlimited) or failed on a limit past math.MaxInt32.
// Found by FuzzDecodeSlot.
func TestLimitsPersisted(t *testing.T) {
	for _, lim := range [][2]int{{1<<32 + 2, 0}, {0, 1 << 32}, {math.MaxInt32 + 1, 0}, {3, 1<<33 + 3}} {
		cfg := smallCfg()
		cfg.MaxOpenZones, cfg.MaxActiveZones = lim[0], lim[1]
		_, err := Create(newMem(cfg, tLBS), cfg)
		if !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("Create with limits %d/%d = %v, want ErrInvalidConfig", lim[0], lim[1], err)
		}
	}
	// The largest limits round-trip.
	cfg := smallCfg()
	cfg.MaxOpenZones, cfg.MaxActiveZones = math.MaxInt32, math.MaxInt32
	d, m := create(t, cfg)
	mustWrite(t, d, zstart(3), tLBS, 1)
	mustOK(t, d.Flush())
	d2, _ := reopen(t, m)
	if d2.Config() != cfg {
		t.Fatalf("config after reopening %+v, want %+v", d2.Config(), cfg)
	}
	wantZone(t, d2, 3, dev.ZoneCondClosed, tLBS)
}

func TestBehaviorString(t *testing.T) {
	if BehaviorSMR.String() != "smr" || BehaviorZNS.String() != "zns" || Behavior(7).String() != "Behavior(7)" {
		t.Fatal("Behavior.String")
	}
}
