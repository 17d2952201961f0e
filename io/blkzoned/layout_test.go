package blkzoned

import (
	"testing"
	"unsafe"

	"github.com/plinth-storage/plinth/io/dev"
)

// A fact is one number on which this package and <linux/blkzoned.h> must
// agree. TestFactsLiteral checks got against the value written down here;
// TestFactsAgainstKernelHeader checks it against a C compiler's answer.
type fact struct {
	c    string // a C expression computing the number from the header
	got  uint64 // this package's number
	want uint64 // the kernel's number, written down
}

// fieldFacts pins the offset and the size of one struct field.
func fieldFacts(cStruct, cField string, off, size uintptr, wantOff, wantSize uint64) []fact {
	return []fact{
		{"offsetof(" + cStruct + ", " + cField + ")", uint64(off), wantOff},
		{"sizeof(((" + cStruct + " *)0)->" + cField + ")", uint64(size), wantSize},
	}
}

func facts() []fact {
	var z BlkZone
	var r BlkZoneReport
	var g BlkZoneRange
	const zone, report, rng = "struct blk_zone", "struct blk_zone_report", "struct blk_zone_range"

	fs := []fact{
		{"sizeof(struct blk_zone)", uint64(unsafe.Sizeof(z)), 64},
		{"sizeof(struct blk_zone_report)", uint64(unsafe.Sizeof(r)), 16},
		{"sizeof(struct blk_zone_range)", uint64(unsafe.Sizeof(g)), 16},
		// The descriptors start right after the Go header: C's
		// flexible array member must not start anywhere else.
		{"offsetof(struct blk_zone_report, zones)", uint64(sizeofBlkZoneReport), 16},
		{"sizeof(((struct blk_zone_report *)0)->zones[0])", uint64(sizeofBlkZone), 64},
		{"BLK_ZONE_REP_CAPACITY", BLK_ZONE_REP_CAPACITY, 1},
	}
	fs = append(fs, fieldFacts(zone, "start", unsafe.Offsetof(z.Start), unsafe.Sizeof(z.Start), 0, 8)...)
	fs = append(fs, fieldFacts(zone, "len", unsafe.Offsetof(z.Len), unsafe.Sizeof(z.Len), 8, 8)...)
	fs = append(fs, fieldFacts(zone, "wp", unsafe.Offsetof(z.Wp), unsafe.Sizeof(z.Wp), 16, 8)...)
	fs = append(fs, fieldFacts(zone, "type", unsafe.Offsetof(z.Type), unsafe.Sizeof(z.Type), 24, 1)...)
	fs = append(fs, fieldFacts(zone, "cond", unsafe.Offsetof(z.Cond), unsafe.Sizeof(z.Cond), 25, 1)...)
	fs = append(fs, fieldFacts(zone, "non_seq", unsafe.Offsetof(z.NonSeq), unsafe.Sizeof(z.NonSeq), 26, 1)...)
	fs = append(fs, fieldFacts(zone, "reset", unsafe.Offsetof(z.Reset), unsafe.Sizeof(z.Reset), 27, 1)...)
	fs = append(fs, fieldFacts(zone, "resv", unsafe.Offsetof(z.Resv), unsafe.Sizeof(z.Resv), 28, 4)...)
	fs = append(fs, fieldFacts(zone, "capacity", unsafe.Offsetof(z.Capacity), unsafe.Sizeof(z.Capacity), 32, 8)...)
	fs = append(fs, fieldFacts(zone, "reserved", unsafe.Offsetof(z.Reserved), unsafe.Sizeof(z.Reserved), 40, 24)...)
	fs = append(fs, fieldFacts(report, "sector", unsafe.Offsetof(r.Sector), unsafe.Sizeof(r.Sector), 0, 8)...)
	fs = append(fs, fieldFacts(report, "nr_zones", unsafe.Offsetof(r.NrZones), unsafe.Sizeof(r.NrZones), 8, 4)...)
	fs = append(fs, fieldFacts(report, "flags", unsafe.Offsetof(r.Flags), unsafe.Sizeof(r.Flags), 12, 4)...)
	fs = append(fs, fieldFacts(rng, "sector", unsafe.Offsetof(g.Sector), unsafe.Sizeof(g.Sector), 0, 8)...)
	fs = append(fs, fieldFacts(rng, "nr_sectors", unsafe.Offsetof(g.NrSectors), unsafe.Sizeof(g.NrSectors), 8, 8)...)

	for _, q := range []struct {
		name string
		got  uintptr
	}{
		{"BLKREPORTZONE", BLKREPORTZONE},
		{"BLKRESETZONE", BLKRESETZONE},
		{"BLKGETZONESZ", BLKGETZONESZ},
		{"BLKGETNRZONES", BLKGETNRZONES},
		{"BLKOPENZONE", BLKOPENZONE},
		{"BLKCLOSEZONE", BLKCLOSEZONE},
		{"BLKFINISHZONE", BLKFINISHZONE},
	} {
		fs = append(fs, fact{q.name, uint64(q.got), uint64(wantRequests[q.name])})
	}

	// ReportZones passes type and condition through unconverted, which
	// is right only while dev's constants carry the kernel's values.
	for _, e := range []struct {
		name      string
		got, want uint8
	}{
		{"BLK_ZONE_TYPE_CONVENTIONAL", uint8(dev.ZoneTypeConventional), 0x1},
		{"BLK_ZONE_TYPE_SEQWRITE_REQ", uint8(dev.ZoneTypeSeqWriteRequired), 0x2},
		{"BLK_ZONE_TYPE_SEQWRITE_PREF", uint8(dev.ZoneTypeSeqWritePreferred), 0x3},
		{"BLK_ZONE_COND_NOT_WP", uint8(dev.ZoneCondNotWP), 0x0},
		{"BLK_ZONE_COND_EMPTY", uint8(dev.ZoneCondEmpty), 0x1},
		{"BLK_ZONE_COND_IMP_OPEN", uint8(dev.ZoneCondImpOpen), 0x2},
		{"BLK_ZONE_COND_EXP_OPEN", uint8(dev.ZoneCondExpOpen), 0x3},
		{"BLK_ZONE_COND_CLOSED", uint8(dev.ZoneCondClosed), 0x4},
		{"BLK_ZONE_COND_READONLY", uint8(dev.ZoneCondReadOnly), 0xD},
		{"BLK_ZONE_COND_FULL", uint8(dev.ZoneCondFull), 0xE},
		{"BLK_ZONE_COND_OFFLINE", uint8(dev.ZoneCondOffline), 0xF},
	} {
		fs = append(fs, fact{e.name, uint64(e.got), uint64(e.want)})
	}
	return fs
}

func TestFactsLiteral(t *testing.T) {
	for _, f := range facts() {
		if f.got != f.want {
			t.Errorf("%s: this package has %d (%#x), the kernel %d (%#x)", f.c, f.got, f.got, f.want, f.want)
		}
	}
}
