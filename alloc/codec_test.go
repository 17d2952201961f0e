package alloc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleSegment() Segment {
	return Segment{Drive: 3, Index: 17, State: StateSealed, Gen: 9, Set: 42, Live: 1 << 20, Time: time.Unix(0, 1_700_000_000_123_456_789).UTC()}
}

func sampleSet() Set {
	return Set{ID: 42, Layout: EC(4, 2), State: StateSealed,
		Members: []Member{{0, 5, 1}, {3, 17, 9}, {1, 6, 2}, {7, 0, 1}, {5, 39, 3}, {2, 8, 1}},
		Created: time.Unix(0, 1_700_000_000_000_000_000).UTC(), Sealed: time.Unix(0, 1_700_000_100_000_000_000).UTC(),
		Capacity: 4 << 20, Frontier: 3 << 20, Live: 1 << 20}
}

func TestSegmentRoundTrip(t *testing.T) {
	for _, s := range []Segment{sampleSegment(), {Drive: 0, Index: 0, State: StateFree, Gen: 1}} {
		got, err := decodeSegment(segKey(s.Drive, s.Index), s.encode())
		if err != nil {
			t.Fatal(err)
		}
		if got != s {
			t.Fatalf("round trip: %+v, want %+v", got, s)
		}
	}
	good := sampleSegment().encode()
	key := segKey(3, 17)
	bad := map[string]func([]byte) []byte{
		"version":   func(b []byte) []byte { b[0] = 2; return b },
		"state":     func(b []byte) []byte { b[1] = 5; return b },
		"reserved":  func(b []byte) []byte { b[5] = 1; return b },
		"gen 0":     func(b []byte) []byte { clear(b[8:16]); return b },
		"live":      func(b []byte) []byte { b[24] = 0x80; return b },
		"short":     func(b []byte) []byte { return b[:39] },
		"long":      func(b []byte) []byte { return append(b, 0) },
		"empty":     func(b []byte) []byte { return nil },
		"version 0": func(b []byte) []byte { b[0] = 0; return b },
	}
	for name, f := range bad {
		if _, err := decodeSegment(key, f(bytes.Clone(good))); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, k := range [][]byte{nil, key[:7], append(bytes.Clone(key), 0)} {
		if _, err := decodeSegment(k, good); !errors.Is(err, ErrCorrupt) {
			t.Errorf("key %x: %v", k, err)
		}
	}
}

func TestSetRoundTrip(t *testing.T) {
	open := Set{ID: 1, Layout: Mirror(3), State: StateOpen, Members: []Member{{0, 1, 1}, {1, 1, 1}, {2, 1, 1}}, Created: time.Unix(5, 0).UTC(), Capacity: 1 << 20}
	for _, s := range []Set{sampleSet(), open} {
		got, err := decodeSet(setKey(s.ID), s.encode())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("round trip: %+v, want %+v", got, s)
		}
	}
	good := sampleSet().encode()
	key := setKey(42)
	bad := map[string]func([]byte) []byte{
		"version":        func(b []byte) []byte { b[0] = 9; return b },
		"state free":     func(b []byte) []byte { b[1] = 0; return b },
		"state":          func(b []byte) []byte { b[1] = 4; return b },
		"kind":           func(b []byte) []byte { b[2] = 3; return b },
		"no data":        func(b []byte) []byte { b[3] = 0; return b },
		"mirror parity":  func(b []byte) []byte { b[2] = kindMirror; b[3] = 6; return b },
		"reserved":       func(b []byte) []byte { b[6] = 1; return b },
		"capacity":       func(b []byte) []byte { b[24] = 0xff; return b },
		"live":           func(b []byte) []byte { b[40] = 0x80; return b },
		"member gen 0":   func(b []byte) []byte { clear(b[48+8 : 48+16]); return b },
		"short":          func(b []byte) []byte { return b[:len(b)-1] },
		"long":           func(b []byte) []byte { return append(b, make([]byte, 16)...) },
		"header only":    func(b []byte) []byte { return b[:20] },
		"wide":           func(b []byte) []byte { b[3], b[4] = 60, 10; return b },
		"width mismatch": func(b []byte) []byte { b[4] = 3; return b },
	}
	for name, f := range bad {
		if _, err := decodeSet(key, f(bytes.Clone(good))); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, k := range [][]byte{nil, setKey(0), key[:4]} {
		if _, err := decodeSet(k, good); !errors.Is(err, ErrCorrupt) {
			t.Errorf("key %x: %v", k, err)
		}
	}
}

func TestMetaRoundTrip(t *testing.T) {
	r := metaRecord{NextSet: 77}
	got, err := decodeMeta(r.encode())
	if err != nil || got != r {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, b := range [][]byte{nil, {2}, make([]byte, 16), append(r.encode(), 0), func() []byte { b := r.encode(); b[3] = 1; return b }()} {
		if _, err := decodeMeta(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%x: %v", b, err)
		}
	}
}

func TestLayout(t *testing.T) {
	for _, c := range []struct {
		l        Layout
		ok       bool
		width    int
		share    int64 // of 10 live bytes
		capacity int64 // of 100-byte segments
		usable   int64 // of 60 raw bytes
		name     string
	}{
		{EC(4, 2), true, 6, 3, 400, 40, "4+2"},
		{EC(1, 0), true, 1, 10, 100, 60, "1+0"},
		{Mirror(3), true, 3, 10, 100, 20, "3-way mirror"},
		{EC(0, 2), false, 0, 0, 0, 0, ""},
		{Layout{}, false, 0, 0, 0, 0, ""},
		{Layout{Data: 2, Copies: 2}, false, 0, 0, 0, 0, ""},
		{EC(60, 5), false, 0, 0, 0, 0, ""},
		{EC(-1, 3), false, 0, 0, 0, 0, ""},
	} {
		err := c.l.Validate()
		if (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.l, err)
			continue
		}
		if !c.ok {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%+v: %v", c.l, err)
			}
			continue
		}
		if c.l.Width() != c.width || c.l.share(10) != c.share || c.l.capacity(100) != c.capacity || c.l.usable(60) != c.usable || c.l.String() != c.name {
			t.Errorf("%+v: width %d share %d capacity %d usable %d %q", c.l, c.l.Width(), c.l.share(10), c.l.capacity(100), c.l.usable(60), c.l)
		}
	}
	if s := EC(4, 2).share(0); s != 0 {
		t.Errorf("share of nothing: %d", s)
	}
}

// The fuzzers check that the decoders never panic and accept only the
// canonical encoding: whatever decodes encodes back to the same bytes.

func FuzzDecodeSegment(f *testing.F) {
	s := sampleSegment()
	f.Add(segKey(s.Drive, s.Index), s.encode())
	f.Add(segKey(0, 0), Segment{State: StateFree, Gen: 1}.encode())
	f.Add([]byte{1, 2, 3}, []byte{1})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		s, err := decodeSegment(k, v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		if !bytes.Equal(segKey(s.Drive, s.Index), k) || !bytes.Equal(s.encode(), v) {
			t.Fatalf("%x %x decoded to %+v, which encodes differently", k, v, s)
		}
	})
}

func FuzzDecodeSet(f *testing.F) {
	s := sampleSet()
	f.Add(setKey(s.ID), s.encode())
	f.Add(setKey(1), Set{ID: 1, Layout: Mirror(2), State: StateOpen, Members: []Member{{0, 1, 1}, {1, 1, 1}}, Capacity: 10}.encode())
	f.Add(setKey(0), []byte{1, 1, 1, 1})
	v1 := s.encode()
	v1[0] = setVersion1
	f.Add(setKey(s.ID), v1)
	s.Replacing = []Replacement{{Set: s.ID, Member: 2, Target: Member{Drive: 9, Segment: 3, Gen: 4}, Started: time.Unix(7, 0).UTC()}}
	f.Add(setKey(s.ID), s.encode())
	f.Fuzz(func(t *testing.T, k, v []byte) {
		s, err := decodeSet(k, v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		// A version 1 entry is read as the version 2 entry of no pending
		// replacements, which differs from it in its version byte only.
		want := v
		if v[0] == setVersion1 {
			want = append([]byte{setVersion}, v[1:]...)
		}
		if !bytes.Equal(setKey(s.ID), k) || !bytes.Equal(s.encode(), want) {
			t.Fatalf("%x %x decoded to %+v, which encodes differently", k, v, s)
		}
		if len(s.Members) != s.Layout.Width() {
			t.Fatalf("%d members for %s", len(s.Members), s.Layout)
		}
	})
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add(metaRecord{NextSet: 1}.encode())
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		r, err := decodeMeta(v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		if !bytes.Equal(r.encode(), v) {
			t.Fatalf("%x decoded to %+v, which encodes differently", v, r)
		}
	})
}

// goldenHex joins hex strings (spaces allowed) into bytes.
func goldenHex(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(strings.Join(parts, ""), " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleSet's entry as the package doc lays it out: setHeadHex is bytes 1
// to 4 (after the version), setBodyHex bytes 8 on (times, sizes, members).
const (
	// sealed, erasure-coded, 4 data, 2 parity
	setHeadHex = "02 01 04 02"
	// created, sealed; then capacity, frontier, live; then the members
	// (drive, segment, generation)
	setBodyHex = "17979cfe362a0000 17979d157ea0e800" +
		"0000000000400000 0000000000300000 0000000000100000" +
		"00000000 00000005 0000000000000001" +
		"00000003 00000011 0000000000000009" +
		"00000001 00000006 0000000000000002" +
		"00000007 00000000 0000000000000001" +
		"00000005 00000027 0000000000000003" +
		"00000002 00000008 0000000000000001"
)

// TestSetGolden: the set entry's bytes, version 2 with and without
// pending replacements, and version 1 (still read, written as version 2).
func TestSetGolden(t *testing.T) {
	s := sampleSet()
	v1 := goldenHex(t, "01", setHeadHex, "000000", setBodyHex)
	v2 := goldenHex(t, "02", setHeadHex, "000000", setBodyHex)
	got, err := decodeSet(setKey(42), v1)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("version 1 golden: %+v %v, want %+v", got, err, s)
	}
	if b := s.encode(); !bytes.Equal(b, v2) {
		t.Fatalf("encoded\n%x\nwant\n%x", b, v2)
	}
	s.Replacing = []Replacement{
		{Set: 42, Member: 1, Target: Member{Drive: 4, Segment: 20, Gen: 3}, Started: time.Unix(0, 1_700_000_200_000_000_000).UTC()},
		{Set: 42, Member: 4, Target: Member{Drive: 6, Segment: 7, Gen: 1}, Started: time.Unix(0, 1_700_000_300_000_000_000).UTC()},
	}
	v2r := goldenHex(t, "02", setHeadHex, "02 0000", setBodyHex,
		"01 00000004 00000014 0000000000000003 17979d2cc717d000", // member 1: drive 4, segment 20, generation 3, started
		"04 00000006 00000007 0000000000000001 17979d440f8eb800")
	if b := s.encode(); !bytes.Equal(b, v2r) {
		t.Fatalf("encoded\n%x\nwant\n%x", b, v2r)
	}
	got, err = decodeSet(setKey(42), v2r)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("version 2 golden: %+v %v, want %+v", got, err, s)
	}
	// What the decoder refuses in the replacements.
	bad := map[string]func([]byte) []byte{
		"v1 with a count":   func(b []byte) []byte { b[0] = 1; return b },
		"count too high":    func(b []byte) []byte { b[5] = 3; return b },
		"count above width": func(b []byte) []byte { b[5] = 7; return append(b, make([]byte, 5*replacementSize)...) },
		"count too low":     func(b []byte) []byte { b[5] = 1; return b },
		"reserved":          func(b []byte) []byte { b[7] = 1; return b },
		"member past width": func(b []byte) []byte { b[len(b)-replacementSize] = 6; return b },
		"out of order":      func(b []byte) []byte { b[len(b)-replacementSize] = 1; return b },
		"generation 0":      func(b []byte) []byte { clear(b[len(b)-16 : len(b)-8]); return b },
		"truncated":         func(b []byte) []byte { return b[:len(b)-1] },
	}
	for name, f := range bad {
		if _, err := decodeSet(setKey(42), f(bytes.Clone(v2r))); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The state byte of a set is never a segment's rebuilding state.
	b := bytes.Clone(v2r)
	b[1] = byte(StateRebuilding)
	if _, err := decodeSet(setKey(42), b); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a rebuilding set: %v", err)
	}
}

// TestSegmentGolden: a rebuilding segment's bytes.
func TestSegmentGolden(t *testing.T) {
	e := Segment{Drive: 4, Index: 20, State: StateRebuilding, Gen: 3, Set: 42, Time: time.Unix(0, 1_700_000_200_000_000_000).UTC()}
	want := goldenHex(t, "01 04 000000000000", "0000000000000003", "000000000000002a", "0000000000000000", "17979d2cc717d000")
	if b := e.encode(); !bytes.Equal(b, want) {
		t.Fatalf("encoded\n%x\nwant\n%x", b, want)
	}
	if got, err := decodeSegment(segKey(4, 20), want); err != nil || got != e {
		t.Fatalf("decoded %+v %v", got, err)
	}
}
