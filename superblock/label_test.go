package superblock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/memdev"
)

func testLabel(pos uint32) Label {
	return Label{
		Node:       uuid.MustParse("6f1d1c1e-1111-4a5b-9c9d-000000000001"),
		Drive:      uuid.New(),
		Position:   pos,
		NodeDrives: 6,
		Created:    time.Date(2026, 11, 21, 12, 0, 0, 123, time.UTC),
	}
}

func formatMem(t *testing.T, size int64, seg int64) (*memdev.Device, *Log) {
	t.Helper()
	d := memdev.New("mem0", size, 4096)
	l := testLabel(2)
	l.SegmentSize = seg
	lg, err := Format(d, l)
	if err != nil {
		t.Fatal(err)
	}
	return d, lg
}

func TestFormatOpenRoundTrip(t *testing.T) {
	d, lg := formatMem(t, 64<<20, 4<<20)
	want := lg.Label()
	if want.FirstSegment != 2<<20 || want.NrSegments != 15 || want.SegmentSize != 4<<20 {
		t.Fatalf("layout %+v", want.Layout)
	}
	if want.DeviceSize != 64<<20 || want.LogicalBlockSize != 4096 || want.ZoneModel != dev.ZoneModelNone {
		t.Fatalf("geometry not recorded: %+v", want)
	}
	got, err := Open(d.Reopen())
	if err != nil {
		t.Fatal(err)
	}
	if got.Label() != want || got.Seq() != 1 {
		t.Fatalf("reopened label %+v seq %d, want %+v seq 1", got.Label(), got.Seq(), want)
	}
	if err := got.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestUpdatesCrossAreas(t *testing.T) {
	d, lg := formatMem(t, 16<<20, 1<<20)
	perArea := AreaMax / SlotSize
	for i := 1; i <= 3*perArea+5; i++ {
		l := lg.Label()
		l.Position = uint32(i % 6)
		if err := lg.Update(l); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		if i%97 == 0 || i == perArea || i == perArea+1 {
			re, err := Open(d.Reopen())
			if err != nil {
				t.Fatalf("open after update %d: %v", i, err)
			}
			if re.Seq() != uint64(i+1) || re.Label() != l {
				t.Fatalf("after update %d: seq %d label %+v", i, re.Seq(), re.Label())
			}
			if err := re.Check(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := lg.Check(); err != nil {
		t.Fatal(err)
	}
	if lg.active != 1 { // 3*perArea+5 updates + format: areas 0,1,0,1
		t.Fatalf("active area %d", lg.active)
	}
}

func TestUpdateRefusesLayoutChange(t *testing.T) {
	_, lg := formatMem(t, 16<<20, 1<<20)
	l := lg.Label()
	l.SegmentSize *= 2
	if err := lg.Update(l); err == nil || !strings.Contains(err.Error(), "never change") {
		t.Fatalf("layout change accepted: %v", err)
	}
	l = lg.Label()
	l.Position = 99
	if err := lg.Update(l); err == nil {
		t.Fatal("position outside the node accepted")
	}
	if lg.Seq() != 1 {
		t.Fatalf("a refused update moved the sequence to %d", lg.Seq())
	}
}

func TestBlankDrive(t *testing.T) {
	d := memdev.New("blank", 16<<20, 4096)
	_, err := Open(d)
	if !errors.Is(err, ErrNoLabel) || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("blank drive: %v", err)
	}
}

func TestNewestCorruptFallsBack(t *testing.T) {
	d, lg := formatMem(t, 16<<20, 1<<20)
	first := lg.Label()
	l := first
	l.Position = 5
	if err := lg.Update(l); err != nil {
		t.Fatal(err)
	}
	// Flip a bit in the body of the newest record (slot 1 of area 0).
	d.Bytes()[SlotSize+HeaderSize+3] ^= 0x10
	re, err := Open(d.Reopen())
	if err != nil {
		t.Fatal(err)
	}
	if re.Seq() != 1 || re.Label() != first {
		t.Fatalf("got seq %d, want the older record", re.Seq())
	}
	dmg := re.Damage()
	if len(dmg) != 1 || dmg[0].Offset != SlotSize || !errors.Is(dmg[0].Err, ErrCorrupt) {
		t.Fatalf("damage %v", dmg)
	}
	if !strings.Contains(dmg[0].String(), "checksum") {
		t.Fatalf("damage does not say checksum: %s", dmg[0])
	}
}

func TestAllCorrupt(t *testing.T) {
	d, _ := formatMem(t, 16<<20, 1<<20)
	d.Bytes()[HeaderSize+1] ^= 1
	_, err := Open(d.Reopen())
	if !errors.Is(err, ErrDamaged) || errors.Is(err, ErrNoLabel) || !strings.Contains(err.Error(), "damaged slots") || !strings.Contains(err.Error(), "byte 0") {
		t.Fatalf("corrupt label: %v", err)
	}
}

func TestNewerFormatRefused(t *testing.T) {
	d, _ := formatMem(t, 16<<20, 1<<20)
	binary.LittleEndian.PutUint16(d.Bytes()[8:], FormatVersion+1)
	_, err := Open(d.Reopen())
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "newer Plinth") {
		t.Fatalf("newer format: %v", err)
	}
}

func TestUnknownIncompatFeatureRefused(t *testing.T) {
	l := testLabel(0)
	l.Layout = Layout{SegmentSize: 1 << 20, FirstSegment: 2 << 20, NrSegments: 1, Area: [2]int64{0, 1 << 20}, AreaLen: 1 << 20}
	l.DeviceSize, l.LogicalBlockSize = 4<<20, 4096
	l.Incompat = 1 << 7
	_, err := decodeLabel(l.encode())
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "0x80") {
		t.Fatalf("unknown feature: %v", err)
	}
}

func TestWrongDeviceRefused(t *testing.T) {
	d, _ := formatMem(t, 16<<20, 1<<20)
	bigger := memdev.New("bigger", 32<<20, 4096)
	copy(bigger.Bytes(), d.Bytes())
	_, err := Open(bigger)
	if err == nil || !strings.Contains(err.Error(), "does not describe this device") {
		t.Fatalf("label on a different device: %v", err)
	}
}

func TestFormatErasesOldLabels(t *testing.T) {
	d, lg := formatMem(t, 16<<20, 1<<20)
	for i := 0; i < 10; i++ {
		if err := lg.Update(lg.Label()); err != nil {
			t.Fatal(err)
		}
	}
	l := testLabel(4)
	l.Node = uuid.New()
	l.SegmentSize = 1 << 20
	if _, err := Format(d.Reopen(), l); err != nil {
		t.Fatal(err)
	}
	re, err := Open(d.Reopen())
	if err != nil {
		t.Fatal(err)
	}
	if re.Label().Node != l.Node || re.Seq() != 1 {
		t.Fatalf("old label (seq 11) outranked the new format: node %s seq %d", re.Label().Node, re.Seq())
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	slot := make([]byte, SlotSize)
	if err := EncodeRecord(slot, 7, []byte("body")); err != nil {
		t.Fatal(err)
	}
	rec, err := DecodeRecord(slot)
	if err != nil || rec.Seq != 7 || string(rec.Body) != "body" {
		t.Fatalf("round trip: %+v %v", rec, err)
	}
	cases := []struct {
		name string
		mod  func(b []byte) []byte
		want error
		text string
	}{
		{"short", func(b []byte) []byte { return b[:10] }, ErrCorrupt, "shorter than"},
		{"empty", func(b []byte) []byte { return make([]byte, SlotSize) }, ErrEmptySlot, ""},
		{"version", func(b []byte) []byte { b[8] = 9; return b }, ErrUnsupported, "version 9"},
		{"header length", func(b []byte) []byte { b[10] = 40; return b }, ErrCorrupt, "header length"},
		{"body too long", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], SlotSize); return b }, ErrCorrupt, "exceeds"},
		{"truncated", func(b []byte) []byte { return b[:HeaderSize+2] }, ErrCorrupt, "truncated"},
		{"checksum", func(b []byte) []byte { b[HeaderSize] ^= 1; return b }, ErrCorrupt, "checksum"},
		{"sequence", func(b []byte) []byte { b[16] ^= 1; return b }, ErrCorrupt, "checksum"},
	}
	for _, c := range cases {
		b := c.mod(bytes.Clone(slot))
		_, err := DecodeRecord(b)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: got %v, want %v containing %q", c.name, err, c.want, c.text)
		}
	}
	if err := EncodeRecord(make([]byte, 64), 1, make([]byte, 40)); err == nil {
		t.Error("oversized body encoded")
	}
}

func TestProbe(t *testing.T) {
	d, lg := formatMem(t, 16<<20, 1<<20)
	got, err := Probe(bytes.NewReader(d.Bytes()), 16<<20, 0, "mem0")
	if err != nil || got != lg.Label() {
		t.Fatalf("probe: %+v %v", got, err)
	}
	_, err = Probe(bytes.NewReader(make([]byte, 4<<20)), 4<<20, 0, "blank")
	if !errors.Is(err, ErrNoLabel) {
		t.Fatalf("probe blank: %v", err)
	}
}
