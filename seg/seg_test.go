package seg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
)

var (
	testNode  = uuid.MustParse("11111111-2222-4333-8444-555555555555")
	testDrive = uuid.MustParse("66666666-7777-4888-9999-aaaaaaaaaaaa")
)

func testHeader(gen uint64) Header {
	return Header{Node: testNode, Drive: testDrive, Kind: KindJournal, Generation: gen, FirstSeq: 100,
		Created: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}
}

// memSegment is segment 0 of a conventional in-memory drive.
func memSegment(t testing.TB, capacity int64) (*memdev.Device, Location) {
	t.Helper()
	d := memdev.New("mem", capacity+8192, 4096)
	return d, Location{Dev: d, Index: 0, Start: 4096, Capacity: capacity}
}

// zonedSegment is the first sequential zone of an emulated drive.
func zonedSegment(t testing.TB, zone int64) (dev.ZonedDevice, Location) {
	t.Helper()
	cfg := zonemu.Config{ZoneSize: zone, ZoneCapacity: zone, NrZones: 4, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorZNS}
	d, err := zonemu.Create(memdev.New("zmem", 4*zone+zonemu.MetadataSize(cfg), 4096), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d, Location{Dev: d, Index: 1, Start: zone, Capacity: zone, Sequential: true}
}

func payload(i int) []byte {
	return []byte(strings.Repeat(fmt.Sprintf("record %d;", i), 1+i%7))
}

func appendN(t testing.TB, w *Writer, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := w.Append(TypeUser, 0, payload(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// scanAll returns the payload indexes found (by sequence) and the tail.
func scanAll(t testing.TB, loc Location, gen uint64) ([]Record, Tail, error) {
	t.Helper()
	s, err := Scan(loc, Expect{Node: testNode, Drive: testDrive, Kind: KindJournal, Generation: gen})
	if err != nil {
		return nil, Tail{}, err
	}
	var recs []Record
	for {
		r, err := s.Next()
		if err == io.EOF {
			return recs, s.Tail(), nil
		}
		if err != nil {
			return recs, s.Tail(), err
		}
		r.Payload = bytes.Clone(r.Payload)
		recs = append(recs, r)
	}
}

func checkRecords(t testing.TB, recs []Record, n int) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("scanned %d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		if r.Seq != uint64(100+i) || !bytes.Equal(r.Payload, payload(i)) || r.Type != TypeUser {
			t.Fatalf("record %d: seq %d type %d payload %q", i, r.Seq, r.Type, r.Payload)
		}
	}
}

func TestWriteScanSeal(t *testing.T) {
	for _, zoned := range []bool{false, true} {
		t.Run(fmt.Sprintf("zoned=%v", zoned), func(t *testing.T) {
			var loc Location
			if zoned {
				_, loc = zonedSegment(t, 1<<20)
			} else {
				_, loc = memSegment(t, 1<<20)
			}
			w, err := Create(loc, testHeader(7))
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, w, 0, 10)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			appendN(t, w, 10, 5)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			recs, tail, err := scanAll(t, loc, 7)
			if err != nil {
				t.Fatal(err)
			}
			checkRecords(t, recs, 15)
			if tail.Torn || tail.Sealed || tail.NextSeq != 115 || tail.End != w.Written() || tail.End%4096 != 0 {
				t.Fatalf("tail %+v, writer at %d", tail, w.Written())
			}
			f, err := w.Seal()
			if err != nil {
				t.Fatal(err)
			}
			if f.Records != 15 || f.FirstSeq != 100 || f.LastSeq != 114 {
				t.Fatalf("footer %+v", f)
			}
			recs, tail, err = scanAll(t, loc, 7)
			if err != nil {
				t.Fatal(err)
			}
			checkRecords(t, recs, 15)
			if !tail.Sealed || tail.Footer != f {
				t.Fatalf("sealed tail %+v, want footer %+v", tail, f)
			}
			if _, err := w.Append(TypeUser, 0, nil); !errors.Is(err, ErrSealed) {
				t.Fatalf("append after seal: %v", err)
			}
			got, err := ReadFooter(loc, Expect{Generation: 7}, f.DataEnd)
			if err != nil || got != f {
				t.Fatalf("ReadFooter at the data end: %+v %v", got, err)
			}
			if !zoned {
				got, err := ReadFooter(loc, Expect{Generation: 7}, -1)
				if err != nil || got != f {
					t.Fatalf("ReadFooter from the copy: %+v %v", got, err)
				}
			}
		})
	}
}

func TestStaleGenerationIsNotCurrent(t *testing.T) {
	_, loc := memSegment(t, 1<<20)
	w, _ := Create(loc, testHeader(1))
	appendN(t, w, 0, 50)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Reuse the slice: generation 2 writes fewer records than generation
	// 1 left behind.
	w2, err := Create(loc, testHeader(2))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w2, 0, 3)
	if err := w2.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, tail, err := scanAll(t, loc, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, 3)
	if tail.Torn {
		t.Fatalf("leftovers of generation 1 reported as a torn tail: %+v", tail)
	}
	if _, _, err := scanAll(t, loc, 1); !errors.Is(err, ErrStale) {
		t.Fatalf("scan expecting generation 1: %v", err)
	}
}

func TestCorruptionBeforeTheTail(t *testing.T) {
	d, loc := memSegment(t, 1<<20)
	w, _ := Create(loc, testHeader(3))
	appendN(t, w, 0, 10)
	w.Flush()
	appendN(t, w, 10, 10)
	w.Flush()
	recs, _, _ := scanAll(t, loc, 3)
	// Flip a byte in the payload of record 4, inside the first write.
	off := loc.Start + recs[4].Offset + RecordHeaderSize + 2
	d.Bytes()[off] ^= 0x20
	recs, _, err := scanAll(t, loc, 3)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", off-loc.Start-RecordHeaderSize-2)) {
		t.Fatalf("corruption before the tail: %v", err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records before the damage, want 4", len(recs))
	}
}

func TestTornTailAndResume(t *testing.T) {
	d, loc := memSegment(t, 1<<20)
	w, _ := Create(loc, testHeader(3))
	appendN(t, w, 0, 10)
	w.Flush()
	start := w.Written()
	appendN(t, w, 10, 400) // several blocks
	w.Flush()
	// Tear the second write: its second block never landed.
	clear(d.Bytes()[loc.Start+start+4096 : loc.Start+start+8192])
	recs, tail, err := scanAll(t, loc, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !tail.Torn || tail.ValidEnd <= start || tail.ValidEnd >= start+8192 {
		t.Fatalf("tail %+v (write at %d)", tail, start)
	}
	n := len(recs)
	checkRecords(t, recs, n)
	// Resume: the next write steps over the damage, and a scan after it
	// reads everything that was valid plus the new records.
	s, err := Scan(loc, Expect{Generation: 3})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := s.Next(); err != nil {
			break
		}
	}
	w2, err := Resume(loc, s)
	if err != nil {
		t.Fatal(err)
	}
	if w2.NextSeq() != uint64(100+n) {
		t.Fatalf("resume at seq %d, want %d", w2.NextSeq(), 100+n)
	}
	appendN(t, w2, n, 5)
	if err := w2.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, tail, err = scanAll(t, loc, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, n+5)
	if len(tail.Skipped) != 1 {
		t.Fatalf("skipped regions %v", tail.Skipped)
	}
	if _, err := w2.Seal(); err != nil {
		t.Fatal(err)
	}
	recs, tail, err = scanAll(t, loc, 3)
	if err != nil || !tail.Sealed {
		t.Fatalf("after seal: %v %+v", err, tail)
	}
	checkRecords(t, recs, n+5)
}

func TestFullSegment(t *testing.T) {
	_, loc := memSegment(t, 64<<10)
	w, _ := Create(loc, testHeader(1))
	var err error
	i := 0
	for ; err == nil; i++ {
		_, err = w.Append(TypeUser, 0, make([]byte, 1000))
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("filling the segment: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Seal(); err != nil {
		t.Fatalf("seal a full segment: %v", err)
	}
	recs, tail, err := scanAll(t, loc, 1)
	if err != nil || !tail.Sealed || len(recs) != i-1 {
		t.Fatalf("full segment: %d records (want %d), %+v, %v", len(recs), i-1, tail, err)
	}
}

func TestReservedTypesAndLimits(t *testing.T) {
	_, loc := memSegment(t, 1<<20)
	w, _ := Create(loc, testHeader(1))
	if _, err := w.Append(typeFooter, 0, nil); err == nil {
		t.Fatal("reserved record type accepted")
	}
	if _, err := w.Append(TypeUser, 0, make([]byte, MaxWrite)); err == nil {
		t.Fatal("record larger than a write accepted")
	}
}

func TestScanUnwrittenAndForeign(t *testing.T) {
	_, loc := memSegment(t, 1<<20)
	if _, err := Scan(loc, Expect{}); !errors.Is(err, ErrNotWritten) {
		t.Fatalf("unwritten: %v", err)
	}
	w, _ := Create(loc, testHeader(1))
	w.Flush()
	if _, err := Scan(loc, Expect{Node: uuid.New()}); !errors.Is(err, ErrStale) {
		t.Fatalf("another node's segment: %v", err)
	}
	if _, err := Scan(loc, Expect{Kind: KindData}); !errors.Is(err, ErrStale) {
		t.Fatalf("wrong kind: %v", err)
	}
	_, z := zonedSegment(t, 1<<20)
	if _, err := Scan(z, Expect{}); !errors.Is(err, ErrNotWritten) {
		t.Fatalf("empty zone: %v", err)
	}
}
