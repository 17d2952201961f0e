package pool

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/plinth-storage/plinth/datalog"
)

// TestAttrsRecordGolden pins the attrs record (format version 2): its
// header bytes and its payload.
func TestAttrsRecordGolden(t *testing.T) {
	payload := encodeAttrsPayload(0x0102, []byte("ab"))
	if got, want := hex.EncodeToString(payload), "0000000000000102"+"0002"+"6162"; got != want {
		t.Fatalf("payload %s, want %s", got, want)
	}
	r := record{kind: kindAttrs, owner: []byte("o/b/k"), payload: uint32(len(payload)), version: 9, checksum: payloadSum(payload)}
	got := appendHeader(nil, &r)
	want := "0302" + "0005" + "0000000c" + "0000000000000009" + "0000000000000000" +
		hex.EncodeToString(be64(payloadSum(payload))) + hex.EncodeToString(be64(recordHash.Sum64(got[:32], r.owner))) +
		hex.EncodeToString([]byte("o/b/k"))
	if hex.EncodeToString(got) != want {
		t.Fatalf("header\n got %x\nwant %s", got, want)
	}
	size, attrs, err := DecodeAttrsPayload(payload)
	if err != nil || size != 0x0102 || string(attrs) != "ab" || AttrsPayloadLen(payload[:10]) != len(payload) {
		t.Fatalf("decode: %d %q %v", size, attrs, err)
	}
	for _, bad := range [][]byte{nil, payload[:9], payload[:11], append(bytes.Clone(payload), 0)} {
		if _, _, err := DecodeAttrsPayload(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%x decoded: %v", bad, err)
		}
	}
	if _, a, err := DecodeAttrsPayload(encodeAttrsPayload(5, nil)); err != nil || a != nil {
		t.Fatalf("no attributes: %q %v", a, err)
	}
}

// TestOldFormatRecords: a stripe of version 1 records (data and
// tombstone, as every log written before attrs records holds) still
// decodes, through ScanRecords too; attrs records are left out of
// scanStripe (the cleaner's and checker's view) and given by
// ScanRecords; an attrs record claiming format 1, or any record of a
// format this binary does not know, is corrupt.
func TestOldFormatRecords(t *testing.T) {
	data := record{kind: kindData, format: 1, owner: []byte("o/b/k"), payload: 3, version: 4, offset: 10, checksum: payloadSum([]byte("abc"))}
	tomb := record{kind: kindTombstone, format: 1, owner: []byte("o/b/gone"), version: 5, checksum: payloadSum(nil)}
	v1 := append(appendHeader(nil, &data), "abc"...)
	v1 = append(v1, appendHeader(nil, &tomb)...)
	if v1[1] != 1 || v1[headerLen(5)+3+1] != 1 {
		t.Fatal("not version 1 records")
	}
	stripe := append(bytes.Clone(v1), make([]byte, 64)...)
	recs, err := ScanRecords(stripe, 4096)
	if err != nil || len(recs) != 2 {
		t.Fatalf("scan: %+v %v", recs, err)
	}
	if r := recs[0]; r.Kind != RecordData || r.Format != 1 || string(r.Owner) != "o/b/k" || r.Version != 4 || r.Offset != 10 ||
		r.At != 4096 || r.Len != headerLen(5)+3 || string(r.Payload) != "abc" {
		t.Fatalf("data record %+v", r)
	}
	if r := recs[1]; r.Kind != RecordTombstone || r.Version != 5 || r.At != 4096+headerLen(5)+3 || r.Len != headerLen(8) {
		t.Fatalf("tombstone %+v", r)
	}

	// Format 2: an attrs record between the two.
	ap := encodeAttrsPayload(3, []byte("x"))
	attrs := record{kind: kindAttrs, owner: []byte("o/b/k"), payload: uint32(len(ap)), version: 4, checksum: payloadSum(ap)}
	v2 := append(appendHeader(nil, &data), "abc"...)
	v2 = append(append(v2, appendHeader(nil, &attrs)...), ap...)
	v2 = append(v2, appendHeader(nil, &tomb)...)
	v2 = append(v2, make([]byte, 64)...)
	old, err := scanStripe(v2, 0)
	if err != nil || len(old) != 2 || old[1].kind != kindTombstone {
		t.Fatalf("scanStripe leaves attrs out: %+v %v", old, err)
	}
	all, err := ScanRecords(v2, 0)
	if err != nil || len(all) != 3 || all[1].Kind != RecordAttrs || all[1].Format != 2 || !bytes.Equal(all[1].Payload, ap) {
		t.Fatalf("ScanRecords: %+v %v", all, err)
	}

	// A data record may say format 2 (a later writer): still read.
	data2 := data
	data2.format = 2
	if _, err := parseHeader(appendHeader(nil, &data2)); err != nil {
		t.Fatalf("data record of format 2: %v", err)
	}
	for _, bad := range []record{
		{kind: kindAttrs, format: 1, owner: []byte("o"), checksum: payloadSum(nil)},
		{kind: kindData, format: 3, owner: []byte("o"), checksum: payloadSum(nil)},
		{kind: 4, format: 2, owner: []byte("o"), checksum: payloadSum(nil)},
	} {
		if _, err := parseHeader(appendHeader(nil, &bad)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("kind %d format %d: %v", bad.kind, bad.format, err)
		}
	}
}

// TestPutWritesAttrsRecord: a write's attrs record, with its size and
// attributes, is in the log before its last data record, for writes of
// no bytes, of less than a stripe and of several stripes, with and
// without attributes.
func TestPutWritesAttrsRecord(t *testing.T) {
	r := newRig(t, rigConfig{})
	sizes := map[string]int{"empty": 0, "small": 100, "exact": int(r.p.sb), "big": 3*int(r.p.sb) + 7}
	for name, size := range sizes {
		o := PutOptions{}
		if size%2 == 0 {
			o.Attrs = func(n int64) ([]byte, error) { return []byte(fmt.Sprintf("%s:%d", name, n)), nil }
		}
		if _, err := r.p.PutWith(ctx, []byte(name), 1, bytes.NewReader(payload(name, 1, size)), o); err != nil {
			t.Fatal(err)
		}
	}
	found := map[string]LogRecord{}
	lastData := map[string]int64{}
	attrsAt := map[string]int64{}
	for s, err := range r.p.Allocator().Sets(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		rd := datalog.Open(r.p.dataSet(s), s.Frontier)
		for off := int64(0); off < s.Frontier; off += r.p.sb {
			b := make([]byte, min(r.p.sb, s.Frontier-off))
			if _, err := rd.ReadAt(b, off); err != nil {
				t.Fatal(err)
			}
			recs, err := ScanRecords(b, off)
			if err != nil {
				t.Fatal(err)
			}
			for _, rc := range recs {
				pos := int64(s.ID)<<40 | rc.At
				switch rc.Kind {
				case RecordAttrs:
					found[string(rc.Owner)] = rc
					attrsAt[string(rc.Owner)] = pos
				case RecordData:
					lastData[string(rc.Owner)] = max(lastData[string(rc.Owner)], pos)
				}
			}
		}
	}
	for name, size := range sizes {
		rc, ok := found[name]
		if !ok {
			t.Fatalf("%s: no attrs record", name)
		}
		gotSize, attrs, err := DecodeAttrsPayload(rc.Payload)
		want := ""
		if size%2 == 0 {
			want = fmt.Sprintf("%s:%d", name, size)
		}
		if err != nil || gotSize != int64(size) || string(attrs) != want || rc.Version != 1 {
			t.Fatalf("%s: attrs record %+v: size %d attrs %q %v", name, rc, gotSize, attrs, err)
		}
		if attrsAt[name] > lastData[name] {
			t.Fatalf("%s: attrs record after the last data record", name)
		}
	}
	r.check()
}
