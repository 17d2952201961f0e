package zonemu

import (
	"bytes"
	"errors"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// Test drives are small: 4 KiB blocks, 64 KiB zones.
const (
	tLBS  = 4096
	tZone = 16 * tLBS
)

// smallCfg is 2 conventional and 6 sequential zones, no limits.
func smallCfg() Config {
	return Config{ZoneSize: tZone, ZoneCapacity: tZone, NrZones: 8, NrConventional: 2, LogicalBlockSize: tLBS}
}

// newMem returns a testDev that exactly fits cfg, with lbs-byte blocks.
func newMem(cfg Config, lbs int) *testDev {
	return newTestDev(cfg.zoneArea()+MetadataSize(cfg), lbs)
}

// create formats a fresh testDev with cfg.
func create(t *testing.T, cfg Config) (*Device, *testDev) {
	t.Helper()
	m := newMem(cfg, cfg.LogicalBlockSize)
	d, err := Create(m, cfg)
	if err != nil {
		t.Fatalf("Create(%+v): %v", cfg, err)
	}
	return d, m
}

// reopen simulates a power cycle: the old handle is abandoned (never
// closed, never flushed) and the media opened again.
func reopen(t *testing.T, m *testDev) (*Device, *testDev) {
	t.Helper()
	m2 := m.reopen()
	d, err := Open(m2)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return d, m2
}

// zstart is the byte offset of zone z of the test config.
func zstart(z int) int64 { return int64(z) * tZone }

// pattern returns n aligned bytes derived from seed.
func pattern(n int, seed byte) []byte {
	p := dev.AlignedBuffer(n)
	for i := range p {
		p[i] = seed + byte(i*7) + byte(i>>12)
	}
	return p
}

// mustWrite writes n bytes of pattern seed at off and returns them.
func mustWrite(t *testing.T, d *Device, off int64, n int, seed byte) []byte {
	t.Helper()
	p := pattern(n, seed)
	if got, err := d.WriteAt(p, off); err != nil || got != n {
		t.Fatalf("WriteAt(%d bytes at %d) = %d, %v", n, off, got, err)
	}
	return p
}

// mustRead reads n bytes at off.
func mustRead(t *testing.T, d *Device, off int64, n int) []byte {
	t.Helper()
	p := dev.AlignedBuffer(n)
	if got, err := d.ReadAt(p, off); err != nil || got != n {
		t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", n, off, got, err)
	}
	return p
}

// wantErr checks that err matches target and is a *dev.OpError.
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
	var oe *dev.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not a *dev.OpError", err)
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// zone reports zone z.
func zone(t *testing.T, d *Device, z int) dev.Zone {
	t.Helper()
	zs, err := d.ReportZones(int64(z)*d.cfg.ZoneSize, 1)
	if err != nil || len(zs) != 1 {
		t.Fatalf("ReportZones(zone %d) = %v, %v", z, zs, err)
	}
	return zs[0]
}

// wantZone checks zone z's condition and write pointer (relative to the
// zone start; ignored when wp < 0).
func wantZone(t *testing.T, d *Device, z int, cond dev.ZoneCond, wp int64) {
	t.Helper()
	got := zone(t, d, z)
	if got.Cond != cond || (wp >= 0 && got.WritePointer != got.Start+wp) {
		t.Fatalf("zone %d: %v, want cond %v wp +%d", z, got, cond, wp)
	}
}

// wantData checks that [off, off+len(want)) reads as want.
func wantData(t *testing.T, d *Device, off int64, want []byte) {
	t.Helper()
	got := mustRead(t, d, off, len(want))
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("read at %d: byte %d (offset %d) is %#x, want %#x", off, i, off+int64(i), got[i], want[i])
	}
}

// wantZeros checks that [off, off+n) reads as zeros.
func wantZeros(t *testing.T, d *Device, off int64, n int) {
	t.Helper()
	wantData(t, d, off, make([]byte, n))
}

// counts returns the numbers of open and active zones from a report.
func counts(t *testing.T, d *Device) (open, active int) {
	t.Helper()
	zs, err := d.ReportZones(0, 0)
	mustOK(t, err)
	for _, z := range zs {
		if z.Cond.IsOpen() {
			open++
		}
		if z.Cond.IsActive() {
			active++
		}
	}
	return open, active
}
