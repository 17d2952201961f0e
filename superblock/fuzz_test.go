package superblock

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeRecord: the decoder never panics, never accepts a record whose
// checksum is wrong, and whatever it accepts re-encodes to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	slot := make([]byte, SlotSize)
	l := testLabel(1)
	l.Layout = Layout{SegmentSize: 1 << 20, FirstSegment: 2 << 20, NrSegments: 2, Area: [2]int64{0, 1 << 20}, AreaLen: 1 << 20}
	l.DeviceSize, l.LogicalBlockSize, l.PhysicalBlockSize = 4<<20, 4096, 4096
	if err := EncodeRecord(slot, 42, l.encode()); err != nil {
		f.Fatal(err)
	}
	f.Add(slot[:HeaderSize+LabelBodySize])
	f.Add(slot[:HeaderSize])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := DecodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrEmptySlot) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		again := make([]byte, HeaderSize+len(rec.Body))
		if err := EncodeRecord(again, rec.Seq, rec.Body); err != nil {
			t.Fatalf("accepted record does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b[:len(again)]) {
			t.Fatalf("accepted bytes differ from their re-encoding (checksum not verified?)")
		}
		if lbl, err := decodeLabel(rec.Body); err == nil {
			if !bytes.Equal(lbl.encode()[:LabelBodySize], rec.Body[:LabelBodySize]) {
				t.Fatalf("label does not round-trip")
			}
		}
	})
}

// FuzzLabelRoundTrip: any label that validates survives encode→decode
// exactly; the decoder never panics on any body.
func FuzzLabelRoundTrip(f *testing.F) {
	l := testLabel(3)
	l.Layout = Layout{SegmentSize: 1 << 20, FirstSegment: 2 << 20, NrSegments: 2, Area: [2]int64{0, 1 << 20}, AreaLen: 1 << 20}
	l.DeviceSize, l.LogicalBlockSize, l.PhysicalBlockSize = 4<<20, 4096, 4096
	f.Add(l.encode())
	f.Add(make([]byte, LabelBodySize))
	f.Fuzz(func(t *testing.T, body []byte) {
		lbl, err := decodeLabel(body)
		if err != nil {
			return
		}
		again, err := decodeLabel(lbl.encode())
		if err != nil || again != lbl {
			t.Fatalf("round trip: %+v -> %+v (%v)", lbl, again, err)
		}
		slot := make([]byte, SlotSize)
		if err := EncodeRecord(slot, 9, lbl.encode()); err != nil {
			t.Fatal(err)
		}
		rec, err := DecodeRecord(slot)
		if err != nil || rec.Seq != 9 {
			t.Fatalf("record round trip: %v", err)
		}
	})
}
