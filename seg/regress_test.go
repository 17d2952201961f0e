package seg

import (
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
)

// A write record of length 0 with a right checksum (a writer bug, not
// random damage) used to send the scanner back to the same record forever.
func TestScanZeroLengthWriteTerminates(t *testing.T) {
	for _, count := range []int{0, 1} {
		d, loc := memSegment(t, 64<<10)
		w, err := Create(loc, testHeader(3))
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, w, 0, 3)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		at := w.Written()
		salt := MakeSalt(testDrive, loc.Index, 3)
		encodeRecord(d.Bytes()[loc.Start+at:], &salt, typeWrite, 0, 3, 0, writePayload(0, count, uint64(at)))
		_, out := scanWithin(t, loc, Expect{Generation: 3}, 10*time.Second)
		if out.err != nil || len(out.recs) != 3 || out.tail.ValidEnd != at {
			t.Fatalf("count %d: %d records, tail %+v, %v", count, len(out.recs), out.tail, out.err)
		}
	}
}

// The reserved bytes of a header are zero in version 1; a header with
// others, even with a right checksum, is not one this binary can re-encode.
func TestHeaderReservedBytesAreZero(t *testing.T) {
	h := testHeader(1)
	h.BlockSize, h.Capacity = 4096, 1<<20
	for _, at := range []int{53, 55, 96, 119} {
		b := make([]byte, 4096)
		h.encode(b)
		b[at] = 1
		binary.LittleEndian.PutUint64(b[120:], docHeaderChecksum(b))
		if got, err := decodeHeader(b); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("reserved byte %d set: %+v, %v", at, got, err)
		}
	}
}

// Sealing a conventional segment writes the footer and its copy in the last
// block. A power cut that kept the copy but not the footer write left a
// footer that ReadFooter returned for a segment a scan reads as unsealed,
// and that recovery resumes: the footer then undercounts the segment.
func TestTornSealLeavesNoFooterCopy(t *testing.T) {
	for seed := uint64(1); seed <= 64; seed++ {
		for ops := range 5 {
			mem := memdev.New("mem", (1<<20)+8192, 4096)
			fd := faultdev.New(mem, seed)
			loc := Location{Dev: fd, Index: 0, Start: 4096, Capacity: 1 << 20}
			w, err := Create(loc, testHeader(2))
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, w, 0, 6)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			fd.PowerCutAfter(ops, faultdev.CutTear)
			_, serr := w.Seal()
			fd.Restart()
			fd.PowerCutAfter(1<<40, faultdev.CutDrop)
			s, err := Scan(loc, Expect{Generation: 2})
			if err != nil {
				t.Fatal(err)
			}
			for {
				if _, err := s.Next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			f, ferr := ReadFooter(loc, Expect{Generation: 2}, -1)
			switch {
			case serr == nil && (!s.Tail().Sealed || ferr != nil || f != s.Tail().Footer):
				t.Fatalf("seed %d, cut after %d: sealed, but tail %+v, footer copy %+v %v", seed, ops, s.Tail(), f, ferr)
			case !s.Tail().Sealed && ferr == nil:
				t.Fatalf("seed %d, cut after %d: the segment is not sealed (tail %+v), yet its footer copy reads %+v", seed, ops, s.Tail(), f)
			case s.Tail().Sealed && ferr == nil && f != s.Tail().Footer:
				t.Fatalf("seed %d, cut after %d: footer copy %+v, the scan found %+v", seed, ops, f, s.Tail().Footer)
			}
		}
	}
}

// Resume needs the tail: a scan that stopped on corruption, or that was
// not read to the end, has none, and a writer started from it wrote its
// first block over the segment header.
func TestResumeNeedsTheTail(t *testing.T) {
	d, loc := memSegment(t, 1<<20)
	w, _ := Create(loc, testHeader(3))
	appendN(t, w, 0, 10)
	w.Flush()
	appendN(t, w, 10, 10)
	w.Flush()

	s, err := Scan(loc, Expect{Generation: 3})
	if err != nil {
		t.Fatal(err)
	}
	s.Next()
	if w, err := Resume(loc, s); err == nil {
		appendN(t, w, 100, 1)
		w.Flush()
		t.Fatal("resumed from a scan that read one record")
	}

	recs, _, _ := scanAll(t, loc, 3)
	d.Bytes()[loc.Start+recs[4].Offset+RecordHeaderSize] ^= 1
	s, err = Scan(loc, Expect{Generation: 3})
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = s.Next()
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("scan of a corrupt segment: %v", err)
	}
	if w, err := Resume(loc, s); err == nil || !errors.Is(err, ErrCorrupt) {
		if w != nil {
			appendN(t, w, 100, 1)
			w.Flush()
		}
		_, herr := Scan(loc, Expect{Generation: 3})
		t.Fatalf("resumed from a scan that ended on corruption: %v; the header now reads %v", err, herr)
	}
}

// A segment sealed right after a recovery from a torn tail: its footer's
// write names the torn offset as the previous end, which ReadFooter took
// for the write's own offset, rejecting a valid footer as corrupt.
func TestReadFooterAfterTornTailResume(t *testing.T) {
	for _, zoned := range []bool{false, true} {
		var loc Location
		var tear func(off int64)
		if zoned {
			z, l := zonedSegment(t, 1<<20)
			pz := &partialZoned{ZonedDevice: z, armIn: -1}
			loc = l
			loc.Dev = pz
			tear = func(int64) { pz.armIn, pz.keep = 0, 2 }
		} else {
			d, l := memSegment(t, 1<<20)
			loc = l
			tear = func(off int64) { clear(d.Bytes()[loc.Start+off+4096 : loc.Start+off+8192]) }
		}
		w, err := Create(loc, testHeader(5))
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, w, 0, 10)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		start := w.Written()
		appendN(t, w, 10, 400)
		if zoned {
			tear(start)
			for w.Flush() == nil {
				t.Fatal("the torn write succeeded")
			}
		} else {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			tear(start)
		}
		s, err := Scan(loc, Expect{Generation: 5})
		if err != nil {
			t.Fatal(err)
		}
		drain(t, s)
		if !s.Tail().Torn {
			t.Fatalf("zoned %v: tail %+v", zoned, s.Tail())
		}
		if w, err = Resume(loc, s); err != nil {
			t.Fatal(err)
		}
		f, err := w.Seal()
		if err != nil {
			t.Fatal(err)
		}
		_, tail, err := scanAll(t, loc, 5)
		if err != nil || !tail.Sealed || tail.Footer != f {
			t.Fatalf("zoned %v: sealed tail %+v, %v", zoned, tail, err)
		}
		ats := []int64{f.DataEnd}
		if !zoned {
			ats = append(ats, -1)
		}
		for _, at := range ats {
			if got, err := ReadFooter(loc, Expect{Generation: 5}, at); err != nil || got != f {
				t.Fatalf("zoned %v: ReadFooter(%d) = %+v, %v; want %+v", zoned, at, got, err, f)
			}
		}
	}
}
