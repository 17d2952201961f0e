package zonemu

import (
	"errors"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// slotBytes returns slot k's header and zone table on the media (aliases).
func slotBytes(m media, cfg Config, k int) (hdr, table []byte) {
	size := m.Geometry().Size
	h := headerOff(size, k)
	tb := tableOff(size, cfg.NrZones, k)
	return m.Bytes()[h : h+headerSize], m.Bytes()[tb : tb+tableSize(cfg.NrZones)]
}

// reseal recomputes slot k's checksum after a test changed it.
func reseal(m media, cfg Config, k int) {
	hdr, table := slotBytes(m, cfg, k)
	le.PutUint64(hdr[hChecksum:], checksum(hdr, table))
}

// twoStates leaves slot 0 with zone 3 at 1 block and slot 1 (the newer)
// with zone 3 at 2 blocks.
func twoStates(t *testing.T) (Config, *testDev) {
	cfg := smallCfg()
	d, m := create(t, cfg)
	mustWrite(t, d, zstart(3), tLBS, 1)
	mustOK(t, d.Flush()) // slot 0, seq 3
	mustWrite(t, d, zstart(3)+tLBS, tLBS, 2)
	mustOK(t, d.Flush()) // slot 1, seq 4
	if slotSeq(m, 0) != 3 || slotSeq(m, 1) != 4 {
		t.Fatalf("slot sequences %d/%d", slotSeq(m, 0), slotSeq(m, 1))
	}
	return cfg, m
}

func TestOpenUsesNewestSlot(t *testing.T) {
	_, m := twoStates(t)
	d, _ := reopen(t, m)
	wantZone(t, d, 3, dev.ZoneCondClosed, 2*tLBS)
	// The next persist goes to the other slot.
	mustOK(t, d.ResetZone(zstart(3)))
	if slotSeq(m, 0) != 5 {
		t.Fatalf("next persist went to slot 0 with seq %d", slotSeq(m, 0))
	}
}

func TestTornSlotFallsBack(t *testing.T) {
	corruptions := []struct {
		name string
		do   func(hdr, table []byte)
	}{
		{"header byte", func(hdr, _ []byte) { hdr[hSeq] ^= 1 }},
		{"checksum", func(hdr, _ []byte) { hdr[hChecksum+3] ^= 0x40 }},
		{"zone table entry", func(_, table []byte) { table[3*entrySize+eWP] ^= 1 }},
		{"table padding", func(_, table []byte) { table[len(table)-1] = 1 }},
		{"header padding", func(hdr, _ []byte) { hdr[headerSize-1] = 1 }},
		{"torn table: old first half", func(_, table []byte) { clear(table[:len(table)/2]) }},
		{"header never written", func(hdr, _ []byte) { clear(hdr) }},
		{"zone count", func(hdr, _ []byte) { le.PutUint32(hdr[hNrZones:], 1<<30) }},
	}
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			cfg, m := twoStates(t)
			c.do(slotBytes(m, cfg, 1))
			d, m2 := reopen(t, m)
			wantZone(t, d, 3, dev.ZoneCondClosed, tLBS)
			// Persisting again overwrites the bad slot and works.
			mustWrite(t, d, zstart(3)+tLBS, tLBS, 3)
			mustOK(t, d.Flush())
			d2, _ := reopen(t, m2)
			wantZone(t, d2, 3, dev.ZoneCondClosed, 2*tLBS)
		})
	}
}

func TestOlderSlotCorrupt(t *testing.T) {
	cfg, m := twoStates(t)
	hdr, _ := slotBytes(m, cfg, 0)
	hdr[hZoneSize] ^= 1
	d, _ := reopen(t, m)
	wantZone(t, d, 3, dev.ZoneCondClosed, 2*tLBS)
}

func TestBothSlotsBad(t *testing.T) {
	cfg, m := twoStates(t)
	h0, _ := slotBytes(m, cfg, 0)
	_, t1 := slotBytes(m, cfg, 1)
	h0[hSeq] ^= 1
	t1[0] ^= 1
	_, err := Open(m.reopen())
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
	msg := err.Error()
	for _, s := range []string{"no valid metadata slot", "slot 0", "slot 1", "checksum"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not mention %q", msg, s)
		}
	}
	var oe *dev.OpError
	if !errors.As(err, &oe) || oe.Path != memPath {
		t.Fatalf("error %v is not a *dev.OpError naming the path", err)
	}
}

func TestNotFormatted(t *testing.T) {
	_, err := Open(newMemDev(1<<20, 4096))
	if !errors.Is(err, ErrNotFormatted) {
		t.Fatalf("Open of a blank device = %v, want ErrNotFormatted", err)
	}
	// Reformatting leaves nothing of the old format behind.
	cfg, m := twoStates(t)
	cfg2 := cfg
	cfg2.NrZones = 4 // a smaller table, elsewhere
	cfg2.Behavior = BehaviorZNS
	_, err = Create(m.reopen(), cfg2)
	mustOK(t, err)
	d, _ := reopen(t, m)
	if d.Config() != cfg2 {
		t.Fatalf("config after reformat %+v, want %+v", d.Config(), cfg2)
	}
	wantZone(t, d, 3, dev.ZoneCondEmpty, 0)
}

func TestValidChecksumInvalidContent(t *testing.T) {
	cases := []struct {
		name string
		do   func(hdr, table []byte)
		want string
	}{
		{"wp past capacity", func(_, tb []byte) { le.PutUint32(tb[3*entrySize+eWP:], 17) }, "zone 3"},
		{"closed at the capacity", func(_, tb []byte) { le.PutUint32(tb[3*entrySize+eWP:], 16) }, "outside (0, capacity"},
		{"empty with data", func(_, tb []byte) { le.PutUint32(tb[4*entrySize+eWP:], 1) }, "is empty but has write pointer"},
		{"closed without data", func(_, tb []byte) { le.PutUint32(tb[3*entrySize+eWP:], 0) }, "zone 3"},
		{"unknown condition", func(_, tb []byte) { tb[3*entrySize] = 7 }, "ZoneCond(0x7)"},
		{"conventional condition on sequential zone", func(_, tb []byte) { tb[4*entrySize] = 0 }, "is sequential but has condition not-wp"},
		{"condition on conventional zone", func(_, tb []byte) { tb[1*entrySize] = byte(dev.ZoneCondEmpty) }, "zone 1"},
		{"reserved entry bytes", func(_, tb []byte) { tb[5*entrySize+eReserved] = 1 }, "reserved bytes"},
		{"reserved header bytes", func(hdr, _ []byte) { hdr[hReserved+1] = 1 }, "reserved header bytes"},
		{"version", func(hdr, _ []byte) { le.PutUint32(hdr[hVersion:], 2) }, "format version 2"},
		{"slot index", func(hdr, _ []byte) { le.PutUint32(hdr[hSlot:], 0) }, "names itself slot 0"},
		{"block size", func(hdr, _ []byte) { le.PutUint32(hdr[hLBS:], 1024) }, "logical block size 1024"},
		{"capacity", func(hdr, _ []byte) { le.PutUint64(hdr[hZoneCap:], tZone+tLBS) }, "exceeds the zone size"},
		{"conventional count", func(hdr, _ []byte) { le.PutUint32(hdr[hNrConv:], 8) }, "conventional zone count 8"},
		{"behavior", func(hdr, _ []byte) { hdr[hBehavior] = 9 }, "unknown behavior 9"},
		{"open limit", func(hdr, _ []byte) { le.PutUint32(hdr[hMaxOpen:], 0); le.PutUint32(hdr[hMaxActive:], 0) }, ""},
		{"negative field", func(hdr, _ []byte) { le.PutUint64(hdr[hZoneSize:], 1<<63) }, "header byte 24"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, m := twoStates(t)
			hdr, table := slotBytes(m, cfg, 1)
			c.do(hdr, table)
			reseal(m, cfg, 1)
			_, err := Open(m.reopen())
			if c.want == "" { // still valid
				mustOK(t, err)
				return
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "slot 1") {
				t.Fatalf("Open = %v, want ErrCorrupt naming slot 1 and %q", err, c.want)
			}
		})
	}
}

func TestSlotLimitsChecked(t *testing.T) {
	cfg := limitCfg(BehaviorSMR, 2, 3)
	d, m := create(t, cfg)
	for z := 2; z <= 4; z++ {
		mustOK(t, write1(d, t, z))
	}
	mustOK(t, d.Flush()) // slot 0
	hdr, table := slotBytes(m, cfg, 0)
	table[2*entrySize] = byte(dev.ZoneCondImpOpen) // three open zones
	reseal(m, cfg, 0)
	_, err := Open(m.reopen())
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "3 open zones") {
		t.Fatalf("Open = %v, want ErrCorrupt about open zones", err)
	}
	table[2*entrySize] = byte(dev.ZoneCondClosed)
	table[5*entrySize] = byte(dev.ZoneCondClosed)
	le.PutUint32(table[5*entrySize+eWP:], 1)
	reseal(m, cfg, 0)
	_, err = Open(m.reopen())
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "4 active zones") {
		t.Fatalf("Open = %v, want ErrCorrupt about active zones", err)
	}
	_ = hdr
}

func TestSlotsDisagree(t *testing.T) {
	cfg, m := twoStates(t)
	h0, _ := slotBytes(m, cfg, 0)
	le.PutUint64(h0[hSeq:], 4)
	reseal(m, cfg, 0)
	_, err := Open(m.reopen())
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "sequence number 4") {
		t.Fatalf("Open with equal sequence numbers = %v", err)
	}
	le.PutUint64(h0[hSeq:], 3)
	h0[hBehavior] = byte(BehaviorZNS)
	reseal(m, cfg, 0)
	_, err = Open(m.reopen())
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "different configs") {
		t.Fatalf("Open with different configs = %v", err)
	}
}

func TestOpenIOError(t *testing.T) {
	_, m := twoStates(t)
	m2 := m.reopen()
	m2.fail = func(op string, _, _ int64) error { return dev.ErrIO }
	_, err := Open(m2)
	wantErr(t, err, dev.ErrIO)
}
