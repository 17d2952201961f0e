package beck

import (
	"slices"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/pool"
)

// data is a staged data record of owner "o/b/k" in set at stream offset
// at.
func data(version uint64, offset, payload int64, set uint64, at int64) staged {
	hl := pool.RecordHeaderLen(5)
	return staged{owner: []byte("o/b/k"), version: version, rank: rankData, offset: offset, payload: payload,
		rec: pool.RecordLoc{Set: set, At: at, Len: hl + payload}}
}

func attrsRec(version uint64, size int64, attrs string) staged {
	p := make([]byte, 10, 10+len(attrs))
	p[0], p[7] = 0, byte(size)
	p[6] = byte(size >> 8)
	p[9] = byte(len(attrs))
	p = append(p, attrs...)
	return staged{owner: []byte("o/b/k"), version: version, rank: rankAttrs, payload: int64(len(p)), chunk: p,
		rec: pool.RecordLoc{Set: 1, At: 9999, Len: pool.RecordHeaderLen(5) + int64(len(p))}}
}

func tomb(version uint64, set uint64) staged {
	return staged{owner: []byte("o/b/k"), version: version, rank: rankTombstone,
		rec: pool.RecordLoc{Set: set, At: 77, Len: pool.RecordHeaderLen(5)}}
}

// order sorts staged records as the staging tree does.
func order(recs ...staged) []staged {
	slices.SortFunc(recs, func(a, b staged) int {
		switch {
		case a.version != b.version:
			if a.version > b.version {
				return -1
			}
			return 1
		case a.rank != b.rank:
			return int(a.rank) - int(b.rank)
		}
		return int(a.offset - b.offset)
	})
	return recs
}

func offsets(o outcome) []int64 {
	var out []int64
	for _, e := range o.exts {
		out = append(out, e.Offset)
	}
	return out
}

func TestResolve(t *testing.T) {
	owner := []byte("o/b/k")
	t.Run("attrs give size and attributes", func(t *testing.T) {
		o := resolve(owner, order(attrsRec(2, 300, "A"), data(2, 0, 100, 3, 0), data(2, 100, 200, 3, 500)))
		if !o.data || o.size != 300 || string(o.attrs) != "A" || o.noAttrs || o.older || !slices.Equal(offsets(o), []int64{0, 100}) {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("no attrs record: as far as the records go", func(t *testing.T) {
		o := resolve(owner, order(data(2, 0, 100, 3, 0), data(2, 100, 50, 3, 500)))
		if !o.data || o.size != 150 || !o.noAttrs {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("no attrs record and a gap", func(t *testing.T) {
		o := resolve(owner, order(data(2, 0, 100, 3, 0), data(2, 150, 50, 3, 500)))
		if o.data || o.tomb || !strings.Contains(o.skipped, "from 100") {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("an interrupted newer write gives way to the older version", func(t *testing.T) {
		o := resolve(owner, order(attrsRec(5, 400, "new"), data(5, 0, 100, 4, 0),
			attrsRec(2, 100, "old"), data(2, 0, 100, 3, 0)))
		if !o.data || o.version != 2 || string(o.attrs) != "old" || !o.older || !strings.Contains(o.skipped, "version 5") {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("a tombstone wins a tie", func(t *testing.T) {
		o := resolve(owner, order(tomb(3, 2), tomb(3, 6), data(3, 0, 10, 2, 0), data(1, 0, 10, 1, 0)))
		if !o.tomb || o.version != 3 || o.tombRec.Set != 6 {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("the cleaner's copies, split differently", func(t *testing.T) {
		// The original in set 2 is [0, 300); the cleaner copied it into
		// set 9 as [0, 120) and [120, 300), and the first copy's stripe
		// was lost: the original covers.
		o := resolve(owner, order(attrsRec(4, 300, ""), data(4, 0, 300, 2, 0), data(4, 120, 180, 9, 4000)))
		if !o.data || o.size != 300 || len(o.exts) != 1 || o.exts[0].Rec.Set != 2 {
			t.Fatalf("%+v", o)
		}
		// Both copies whole: the newest set's is taken.
		o = resolve(owner, order(attrsRec(4, 300, ""), data(4, 0, 300, 2, 0), data(4, 0, 300, 9, 8000)))
		if !o.data || o.exts[0].Rec.Set != 9 {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("an owner of no bytes", func(t *testing.T) {
		o := resolve(owner, order(attrsRec(1, 0, "e"), data(1, 0, 0, 3, 0)))
		if !o.data || o.size != 0 || len(o.exts) != 1 || string(o.attrs) != "e" {
			t.Fatalf("%+v", o)
		}
		o = resolve(owner, order(data(1, 0, 0, 3, 0)))
		if !o.data || o.size != 0 || !o.noAttrs {
			t.Fatalf("%+v", o)
		}
	})
	t.Run("nothing whole: lost", func(t *testing.T) {
		o := resolve(owner, order(attrsRec(5, 400, ""), data(5, 0, 100, 4, 0), attrsRec(3, 10, "")))
		if o.data || o.tomb || o.version != 5 || !strings.Contains(o.skipped, "version 5") || !strings.Contains(o.skipped, "version 3") {
			t.Fatalf("%+v", o)
		}
	})
}

// The progress record and the staging entries round-trip; damaged ones
// are refused.
func TestCodecs(t *testing.T) {
	p := progress{step: stepIndex, scanSet: 3, scanOff: 1 << 40, started: 12345, idxPool: 1, idxOwner: []byte("o/b/k"),
		counters: Counters{BytesScanned: 1, Records: 2, DamagedStripes: 3, Objects: 4, Tombstones: 5, NoAttrs: 6, Older: 7, Lost: 8}}
	p.digest[0], p.digest[31] = 1, 2
	got, err := decodeProgress(p.encode())
	if err != nil || got.step != p.step || got.scanSet != 3 || got.scanOff != 1<<40 || got.digest != p.digest ||
		got.started != 12345 || got.counters != p.counters || got.idxPool != 1 || string(got.idxOwner) != "o/b/k" {
		t.Fatalf("%+v %v", got, err)
	}
	enc := p.encode()
	for _, bad := range [][]byte{nil, enc[:100], append(enc, 0), append([]byte{2}, enc[1:]...)} {
		if _, err := decodeProgress(bad); err == nil {
			t.Fatalf("%x decoded", bad)
		}
	}
	r := pool.LogRecord{Kind: pool.RecordAttrs, Format: 2, Owner: []byte("o/b/k"), Version: 7, Offset: 10, At: 4096, Len: pool.RecordHeaderLen(5) + 5, Payload: []byte("chunk"), Checksum: 99}
	s, err := decodeStaged(stagingKey(&r, 5), stagingValue(&r, 5))
	if err != nil || string(s.owner) != "o/b/k" || s.version != 7 || s.rank != rankAttrs || s.offset != 10 ||
		s.rec != (pool.RecordLoc{Set: 5, At: 4096, Len: pool.RecordHeaderLen(5) + 5}) || s.payload != 5 || string(s.chunk) != "chunk" || s.checksum != 99 {
		t.Fatalf("%+v %v", s, err)
	}
	name, owner, ok := parseLostKey(lostKey("default", []byte("o/b/k")))
	if !ok || name != "default" || string(owner) != "o/b/k" {
		t.Fatalf("lost key: %q %q %v", name, owner, ok)
	}
}

// FuzzDecoders: the progress record's and the staging entries' decoders
// never panic, whatever the bytes.
func FuzzDecoders(f *testing.F) {
	r := pool.LogRecord{Kind: pool.RecordData, Format: 1, Owner: []byte("o/b/k"), Version: 7, At: 4096, Len: pool.RecordHeaderLen(5) + 3, Payload: []byte("abc")}
	f.Add(stagingKey(&r, 5), stagingValue(&r, 5))
	f.Add(progress{step: stepScan, idxOwner: []byte("x")}.encode(), []byte{1})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		_, _ = decodeStaged(k, v)
		_, _ = decodeStaged(v, k)
		_, _ = decodeProgress(k)
		_, _, _ = parseLostKey(k)
		_, _, _ = appliance.DecodePoolRecord(v)
	})
}
