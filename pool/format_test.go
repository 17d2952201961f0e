package pool

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
)

// TestRecordGolden pins the record format: these bytes are what version 1
// writes, and a change here is a new format version.
func TestRecordGolden(t *testing.T) {
	r := record{kind: kindData, owner: []byte("bucket/key"), payload: 5, version: 0x0102030405060708, offset: 4088, checksum: payloadSum([]byte("hello"))}
	got := appendHeader(nil, &r)
	want := "0101000a00000005" + "0102030405060708" + "0000000000000ff8" +
		hex.EncodeToString(be64(payloadSum([]byte("hello")))) + hex.EncodeToString(be64(recordHash.Sum64(got[:32], r.owner))) +
		hex.EncodeToString([]byte("bucket/key"))
	if hex.EncodeToString(got) != want {
		t.Fatalf("header\n got %x\nwant %s", got, want)
	}
	// The keyed hash itself is pinned, so a change of key or hash fails.
	if s := payloadSum([]byte("hello")); s != 0x1811c7d8c69c1c36 {
		t.Fatalf("payload checksum of %q is %#x", "hello", s)
	}
	back, err := parseHeader(got)
	if err != nil || back.kind != r.kind || !bytes.Equal(back.owner, r.owner) || back.payload != 5 || back.version != r.version || back.offset != 4088 || back.checksum != r.checksum {
		t.Fatalf("parse: %+v %v", back, err)
	}
}

func be64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
	return b
}

// TestRecordCorrupt: every damaged header is refused with ErrCorrupt.
func TestRecordCorrupt(t *testing.T) {
	r := record{kind: kindTombstone, owner: []byte("o"), version: 3, checksum: payloadSum(nil)}
	good := appendHeader(nil, &r)
	if _, err := parseHeader(good); err != nil {
		t.Fatal(err)
	}
	for i := range len(good) * 8 {
		b := bytes.Clone(good)
		b[i/8] ^= 1 << (i % 8)
		if b[0] == kindPad {
			continue // a zero first byte is padding, by definition
		}
		if _, err := parseHeader(b); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("bit %d flipped: %v", i, err)
		}
	}
	for n := 1; n < len(good); n++ {
		if _, err := parseHeader(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut to %d bytes: %v", n, err)
		}
	}
	// A stripe: two records, padding, and a damaged payload.
	d := record{kind: kindData, owner: []byte("x"), payload: 3, checksum: payloadSum([]byte("abc"))}
	stripe := append(appendHeader(nil, &d), "abc"...)
	stripe = append(stripe, good...)
	stripe = append(stripe, make([]byte, 100)...)
	recs, err := scanStripe(stripe, 1000)
	if err != nil || len(recs) != 2 || recs[0].at != 1000 || string(recs[0].data) != "abc" || recs[1].kind != kindTombstone {
		t.Fatalf("scan: %v %v", recs, err)
	}
	stripe[headerLen(1)] ^= 1
	if _, err := scanStripe(stripe, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad payload: %v", err)
	}
}

// TestIndexCodecs: heads, extents and repair entries round-trip, and
// malformed ones are ErrCorrupt.
func TestIndexCodecs(t *testing.T) {
	heads := []head{
		{state: stateData, version: 9, size: 1 << 40},
		{state: stateTombstone, version: 2, tomb: loc{set: 5, off: 4096, len: 41}},
		{state: stateTombstone, version: 2}, // pending
	}
	for _, h := range heads {
		got, err := decodeHead(encodeHead(h))
		if err != nil || !reflect.DeepEqual(got, h) {
			t.Fatalf("%+v: %+v %v", h, got, err)
		}
	}
	bad := []head{
		{state: 3, version: 1},
		{state: stateData, version: 1, tomb: loc{set: 1, len: 41}},
		{state: stateTombstone, version: 1, size: 5},
		{state: stateTombstone, version: 1, tomb: loc{set: 1}},
	}
	for _, h := range bad {
		if _, err := decodeHead(encodeHead(h)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%+v decoded: %v", h, err)
		}
	}
	if _, err := decodeHead(encodeHead(heads[0])[:10]); !errors.Is(err, ErrCorrupt) {
		t.Fatal("short head decoded")
	}
	e := extent{offset: 77, rec: loc{set: alloc.SetID(3), off: 8192, len: 41 + 100}, payload: 100, version: 4, checksum: 0xdeadbeef}
	got, err := decodeExtent(encodeExtent(e), 77)
	if err != nil || got != e {
		t.Fatalf("extent: %+v %v", got, err)
	}
	e.rec.len = 50 // shorter than header + payload
	if _, err := decodeExtent(encodeExtent(e), 77); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad extent: %v", err)
	}
	owner, off, err := parseExtentKey(extentKey([]byte("ab"), 1<<40))
	if err != nil || string(owner) != "ab" || off != 1<<40 {
		t.Fatalf("extent key: %q %d %v", owner, off, err)
	}
	// Keys of one owner sort by offset and never interleave with another's.
	if bytes.Compare(extentKey([]byte("a"), 5), extentKey([]byte("a"), 300)) >= 0 ||
		bytes.HasPrefix(extentKey([]byte("ab"), 0), extentPrefix([]byte("a"))) {
		t.Fatal("extent key order")
	}
	for _, k := range [][]byte{nil, {0, 1, 'a'}, append(extentKey([]byte("a"), 0), 0)} {
		if _, _, err := parseExtentKey(k); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("key %x: %v", k, err)
		}
	}
	m, q, err := decodeRepair(encodeRepair(0b101, 12345))
	if err != nil || m != 0b101 || q != 12345 {
		t.Fatalf("repair: %v %v %v", m, q, err)
	}
	id, s, err := parseRepairKey(repairKey(9, 17))
	if err != nil || id != 9 || s != 17 {
		t.Fatalf("repair key: %v %v %v", id, s, err)
	}
}

// FuzzRecord: parsing arbitrary bytes never panics; whatever parses
// re-encodes to the same bytes.
func FuzzRecord(f *testing.F) {
	d := record{kind: kindData, owner: []byte("x"), payload: 3, checksum: payloadSum([]byte("abc"))}
	f.Add(append(appendHeader(nil, &d), "abc"...))
	f.Add([]byte{0})
	f.Add([]byte{1, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, _ := scanStripe(b, 0)
		for _, r := range recs {
			enc := appendHeader(nil, &r.record)
			if !bytes.Equal(enc, b[r.at:r.at+headerLen(len(r.owner))]) {
				t.Fatalf("re-encoded %x, was %x", enc, b[r.at:r.at+headerLen(len(r.owner))])
			}
		}
		_, _ = decodeHead(b)
		_, _ = decodeExtent(b, 0)
		_, _, _ = parseExtentKey(b)
	})
}
