package blkzoned

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// The tests write report buffers byte by byte at the kernel's offsets (see
// the package comment), not through the Go structs, so that decoding is
// tested against the layout rather than against itself.
const (
	kReportSector  = 0
	kReportNrZones = 8
	kReportFlags   = 12
	kReportZones   = 16
	kZoneSize      = 64
	kZoneStart     = 0
	kZoneLen       = 8
	kZoneWp        = 16
	kZoneType      = 24
	kZoneCond      = 25
	kZoneNonSeq    = 26
	kZoneReset     = 27
	kZoneCapacity  = 32
)

// kzone is a zone descriptor as the kernel writes it, in sectors.
type kzone struct {
	start, len, wp, capacity uint64
	typ                      dev.ZoneType
	cond                     dev.ZoneCond
}

func putHeader(buf []byte, sector uint64, nrZones, flags uint32) {
	binary.NativeEndian.PutUint64(buf[kReportSector:], sector)
	binary.NativeEndian.PutUint32(buf[kReportNrZones:], nrZones)
	binary.NativeEndian.PutUint32(buf[kReportFlags:], flags)
}

func putZone(buf []byte, i int, z kzone) {
	d := buf[kReportZones+i*kZoneSize:][:kZoneSize]
	binary.NativeEndian.PutUint64(d[kZoneStart:], z.start)
	binary.NativeEndian.PutUint64(d[kZoneLen:], z.len)
	binary.NativeEndian.PutUint64(d[kZoneWp:], z.wp)
	d[kZoneType] = byte(z.typ)
	d[kZoneCond] = byte(z.cond)
	d[kZoneNonSeq] = 1 // not part of dev.Zone: must not disturb decoding
	d[kZoneReset] = 1
	binary.NativeEndian.PutUint64(d[kZoneCapacity:], z.capacity)
}

const (
	zoneSectors = 256 << 20 >> 9 // 256 MiB zones
	zoneBytes   = 256 << 20
	capSectors  = 236 << 20 >> 9 // ZNS-style capacity below the zone size
	capBytes    = 236 << 20
)

func decodeBuffer(t *testing.T, flags uint32, zones ...kzone) ([]dev.Zone, uint64, error) {
	t.Helper()
	b := newReportBuffer(len(zones) + 2) // spare room the kernel did not fill
	putHeader(b.bytes(), 12345, uint32(len(zones)), flags)
	for i, z := range zones {
		putZone(b.bytes(), i, z)
	}
	return b.decode()
}

func TestDecodeReport(t *testing.T) {
	zones := []kzone{
		// A conventional zone's write pointer is whatever the device
		// sent; 0xdeadbeef stands for that.
		{start: 0, len: zoneSectors, wp: 0xdeadbeef, capacity: zoneSectors, typ: dev.ZoneTypeConventional, cond: dev.ZoneCondNotWP},
		{start: 1 * zoneSectors, len: zoneSectors, wp: 1 * zoneSectors, capacity: capSectors, typ: dev.ZoneTypeSeqWriteRequired, cond: dev.ZoneCondEmpty},
		{start: 2 * zoneSectors, len: zoneSectors, wp: 2*zoneSectors + 8, capacity: capSectors, typ: dev.ZoneTypeSeqWriteRequired, cond: dev.ZoneCondImpOpen},
		{start: 3 * zoneSectors, len: zoneSectors, wp: 3*zoneSectors + capSectors, capacity: capSectors, typ: dev.ZoneTypeSeqWriteRequired, cond: dev.ZoneCondFull},
		// null_blk reports (sector_t)-1 for offline zones.
		{start: 4 * zoneSectors, len: zoneSectors, wp: math.MaxUint64, capacity: capSectors, typ: dev.ZoneTypeSeqWriteRequired, cond: dev.ZoneCondOffline},
		{start: 5 * zoneSectors, len: zoneSectors, wp: 0, capacity: capSectors, typ: dev.ZoneTypeSeqWriteRequired, cond: dev.ZoneCondReadOnly},
	}
	want := []dev.Zone{
		{Start: 0, Len: zoneBytes, Capacity: zoneBytes, WritePointer: 1 * zoneBytes, Type: dev.ZoneTypeConventional, Cond: dev.ZoneCondNotWP},
		{Start: 1 * zoneBytes, Len: zoneBytes, Capacity: capBytes, WritePointer: 1 * zoneBytes, Type: dev.ZoneTypeSeqWriteRequired, Cond: dev.ZoneCondEmpty},
		{Start: 2 * zoneBytes, Len: zoneBytes, Capacity: capBytes, WritePointer: 2*zoneBytes + 4096, Type: dev.ZoneTypeSeqWriteRequired, Cond: dev.ZoneCondImpOpen},
		{Start: 3 * zoneBytes, Len: zoneBytes, Capacity: capBytes, WritePointer: 3*zoneBytes + capBytes, Type: dev.ZoneTypeSeqWriteRequired, Cond: dev.ZoneCondFull},
		{Start: 4 * zoneBytes, Len: zoneBytes, Capacity: capBytes, WritePointer: 5 * zoneBytes, Type: dev.ZoneTypeSeqWriteRequired, Cond: dev.ZoneCondOffline},
		{Start: 5 * zoneBytes, Len: zoneBytes, Capacity: capBytes, WritePointer: 6 * zoneBytes, Type: dev.ZoneTypeSeqWriteRequired, Cond: dev.ZoneCondReadOnly},
	}
	got, next, err := decodeBuffer(t, BLK_ZONE_REP_CAPACITY, zones...)
	if err != nil {
		t.Fatal(err)
	}
	checkZones(t, got, want)
	if next != 6*zoneSectors {
		t.Errorf("next sector %d, want %d", next, 6*zoneSectors)
	}
	if w := got[2].Written(); w != 4096 {
		t.Errorf("implicitly open zone: Written() = %d, want 4096", w)
	}
}

// TestDecodeReportWithoutCapacity is a kernel before 5.9: no
// BLK_ZONE_REP_CAPACITY, so the capacity field is not a capacity (zero on
// those kernels, anything on a future one that reuses it) and the whole
// zone is writable.
func TestDecodeReportWithoutCapacity(t *testing.T) {
	for _, field := range []uint64{0, capSectors, 0xdeadbeef} {
		got, _, err := decodeBuffer(t, 0,
			kzone{start: 0, len: zoneSectors, wp: 100, capacity: field, typ: dev.ZoneTypeSeqWriteRequired, cond: dev.ZoneCondClosed})
		if err != nil {
			t.Fatalf("capacity field %d: %v", field, err)
		}
		checkZones(t, got, []dev.Zone{
			{Start: 0, Len: zoneBytes, Capacity: zoneBytes, WritePointer: 100 * 512, Type: dev.ZoneTypeSeqWriteRequired, Cond: dev.ZoneCondClosed},
		})
	}
}

func TestDecodeEmptyReport(t *testing.T) {
	got, next, err := decodeBuffer(t, BLK_ZONE_REP_CAPACITY)
	if err != nil || len(got) != 0 || next != 0 {
		t.Fatalf("got %v, next %d, %v; want no zones", got, next, err)
	}
}

func TestDecodeRejectsBadDescriptors(t *testing.T) {
	seq := func(start, length, wp, capacity uint64) kzone {
		return kzone{start: start, len: length, wp: wp, capacity: capacity, typ: dev.ZoneTypeSeqWriteRequired, cond: dev.ZoneCondImpOpen}
	}
	for _, c := range []struct {
		name string
		zone kzone
		want string
	}{
		{"zero length", seq(0, 0, 0, 0), "zero length"},
		{"start past int64 bytes", seq(1<<54, zoneSectors, 1<<54, zoneSectors), "beyond"},
		{"end past int64 bytes", seq(1<<54-zoneSectors/2, zoneSectors, 1<<54-zoneSectors/2, zoneSectors), "beyond"},
		{"capacity above length", seq(0, zoneSectors, 0, zoneSectors+8), "capacity"},
		{"write pointer before the zone", seq(zoneSectors, zoneSectors, zoneSectors-8, zoneSectors), "write pointer"},
		{"write pointer past the zone", seq(zoneSectors, zoneSectors, 2*zoneSectors+8, zoneSectors), "write pointer"},
		{"invalid write pointer of an open zone", seq(0, zoneSectors, math.MaxUint64, zoneSectors), "write pointer"},
	} {
		_, _, err := decodeBuffer(t, BLK_ZONE_REP_CAPACITY, c.zone)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestDecodeRejectsOverfilledReport(t *testing.T) {
	b := newReportBuffer(2)
	putHeader(b.bytes(), 0, 3, 0)
	if _, _, err := b.decode(); err == nil {
		t.Fatal("decoded 3 descriptors from room for 2")
	}
}

// reportFrom answers BLKREPORTZONE requests from a zone table the way the
// kernel does (blkdev_report_zones_ioctl): from the zone containing the
// requested sector, at most nr_zones descriptors, none at or past the end,
// and never more than perCall (a driver may return fewer than asked). It
// records the size of every request.
type reportFrom struct {
	zones    []kzone
	perCall  int
	requests []uint32
}

func (k *reportFrom) fill(b *reportBuffer) error {
	h := b.header()
	k.requests = append(k.requests, h.NrZones)
	if h.NrZones == 0 {
		return errors.New("EINVAL: nr_zones 0")
	}
	n := 0
	for _, z := range k.zones {
		if z.start+z.len <= h.Sector {
			continue
		}
		if n == int(h.NrZones) || n == k.perCall {
			break
		}
		putZone(b.bytes(), n, z)
		n++
	}
	putHeader(b.bytes(), h.Sector, uint32(n), BLK_ZONE_REP_CAPACITY)
	return nil
}

func zoneTable(n int) []kzone {
	zones := make([]kzone, n)
	for i := range zones {
		s := uint64(i) * zoneSectors
		zones[i] = kzone{start: s, len: zoneSectors, wp: s, capacity: capSectors, typ: dev.ZoneTypeSeqWriteRequired, cond: dev.ZoneCondEmpty}
	}
	return zones
}

func TestReportZonesBatches(t *testing.T) {
	const nzones = 2*maxReportBatch + 1808
	for _, c := range []struct {
		name     string
		sector   uint64
		nr       int
		perCall  int
		first    int // index of the first zone expected
		count    int // zones expected
		requests []uint32
	}{
		{"all zones", 0, 0, maxReportBatch, 0, nzones,
			[]uint32{maxReportBatch, maxReportBatch, maxReportBatch, maxReportBatch}},
		{"negative nr is all zones", 0, -1, maxReportBatch, 0, nzones,
			[]uint32{maxReportBatch, maxReportBatch, maxReportBatch, maxReportBatch}},
		{"nr above one batch, from inside a zone", 10*zoneSectors + 7, 5000, maxReportBatch, 10, 5000,
			[]uint32{maxReportBatch, 5000 - maxReportBatch}},
		{"nr below one batch", 3 * zoneSectors, 3, maxReportBatch, 3, 3,
			[]uint32{3}},
		{"nr past the end", (nzones - 2) * zoneSectors, 10, maxReportBatch, nzones - 2, 2,
			[]uint32{10, 8}},
		{"from the end", nzones * zoneSectors, 0, maxReportBatch, nzones, 0,
			[]uint32{maxReportBatch}},
		{"driver returns fewer than asked", 0, 2500, 1000, 0, 2500,
			[]uint32{2500, 1500, 500}},
	} {
		k := &reportFrom{zones: zoneTable(nzones), perCall: c.perCall}
		got, err := reportZones(c.sector, c.nr, k.fill)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(got) != c.count {
			t.Errorf("%s: %d zones, want %d", c.name, len(got), c.count)
			continue
		}
		for i, z := range got {
			if want := int64(c.first+i) * zoneBytes; z.Start != want || z.Len != zoneBytes || z.Capacity != capBytes {
				t.Errorf("%s: zone %d is %v, want start %d", c.name, i, z, want)
				break
			}
		}
		if !slices.Equal(k.requests, c.requests) {
			t.Errorf("%s: requested %v zones per call, want %v", c.name, k.requests, c.requests)
		}
	}
}

func TestReportZonesErrors(t *testing.T) {
	errKernel := errors.New("kernel says no")
	_, err := reportZones(0, 0, func(*reportBuffer) error { return errKernel })
	if !errors.Is(err, errKernel) || !strings.Contains(err.Error(), "BLKREPORTZONE") {
		t.Errorf("fill error came back as %v", err)
	}

	// A report that does not reach past the requested sector would be
	// asked for again forever: answer every request with the first zone.
	_, err = reportZones(0, 0, func(b *reportBuffer) error {
		putZone(b.bytes(), 0, zoneTable(1)[0])
		putHeader(b.bytes(), b.header().Sector, 1, BLK_ZONE_REP_CAPACITY)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "ending at sector") {
		t.Errorf("a report that makes no progress gave %v", err)
	}

	_, err = reportZones(0, 0, func(b *reportBuffer) error {
		putZone(b.bytes(), 0, kzone{typ: dev.ZoneTypeSeqWriteRequired, cond: dev.ZoneCondEmpty})
		putHeader(b.bytes(), b.header().Sector, 1, BLK_ZONE_REP_CAPACITY)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "zero length") {
		t.Errorf("a zero-length zone gave %v", err)
	}
}

func checkZones(t *testing.T, got, want []dev.Zone) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d zones, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("zone %d:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
}
