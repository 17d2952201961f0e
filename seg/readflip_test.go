package seg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// oneFlip flips one bit in one read, as a bad cable or controller does on
// the way from the media: the media stays intact and reading again
// returns the right bytes. The flip hits the first read, from the armed
// one on, that overlaps [lo, hi), at a random byte of the overlap.
type oneFlip struct {
	rng    *rand.Rand
	skip   int // reads to let through first; < 0: disarmed
	lo, hi int64
	at     int64 // where the bit flipped, -1 before
}

func (f *oneFlip) read(p []byte, off int64) {
	if f.skip < 0 {
		return
	}
	if f.skip > 0 {
		f.skip--
		return
	}
	lo, hi := max(off, f.lo), min(off+int64(len(p)), f.hi)
	if lo >= hi {
		return
	}
	f.at = lo + f.rng.Int64N(hi-lo)
	p[f.at-off] ^= 1 << f.rng.IntN(8)
	f.skip = -1
}

type flipDev struct {
	dev.Device
	*oneFlip
}

func (d flipDev) ReadAt(p []byte, off int64) (int, error) {
	n, err := d.Device.ReadAt(p, off)
	if err == nil {
		d.read(p, off)
	}
	return n, err
}

type flipZoned struct {
	dev.ZonedDevice
	*oneFlip
}

func (d flipZoned) ReadAt(p []byte, off int64) (int, error) {
	n, err := d.ZonedDevice.ReadAt(p, off)
	if err == nil {
		d.read(p, off)
	}
	return n, err
}

// A bit flipped in transit while the recovery scan read the last write used
// to be taken for a torn tail: the scan stopped early without an error,
// and the recovery then gave the next record a sequence number already in
// use (or, with the flip in the write's first block, wrote over it), losing
// acknowledged records. The scan now reads damaged bytes again before
// deciding anything.
func TestReadFlipDuringRecovery(t *testing.T) {
	seeds := simSeeds()
	seeds = seeds[:max(1, len(seeds)/4)]
	for _, seed := range seeds {
		for _, zoned := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(seed, 0xf11b))
			flip := &oneFlip{rng: rng, skip: -1, at: -1}
			var loc Location
			if zoned {
				z, l := zonedSegment(t, 1<<20)
				loc = l
				loc.Dev = flipZoned{z, flip}
			} else {
				d, l := memSegment(t, 1<<20)
				loc = l
				loc.Dev = flipDev{d, flip}
			}
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("seed %d, zoned %v, bit flipped at %d: %s\nrerun: go test ./seg -run 'TestReadFlipDuringRecovery$' -seg.seed=%d -v",
					seed, zoned, flip.at, fmt.Sprintf(format, args...), seed)
			}
			w, err := Create(loc, testHeader(6))
			if err != nil {
				t.Fatal(err)
			}
			var acked []simRec
			for range 1 + rng.IntN(4) {
				for range 1 + rng.IntN(300) {
					r := simRec{typ: TypeUser, payload: uniquePayload(rng, rng.IntN(1500))}
					if r.seq, err = w.Append(r.typ, 0, r.payload); err != nil {
						t.Fatal(err)
					}
					acked = append(acked, r)
				}
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			check := func(what string, recs []Record) {
				t.Helper()
				if len(recs) != len(acked) {
					fail("%s: %d records, %d acknowledged", what, len(recs), len(acked))
				}
				for i, r := range recs {
					if !acked[i].matches(r) {
						fail("%s: record %d: seq %d %d bytes, want %v", what, i, r.Seq, len(r.Payload), acked[i])
					}
				}
			}

			// Recovery, with one bit flipped in one of its reads of the
			// records (the header is left alone: a flip there fails the
			// scan, and the caller sees it).
			flip.skip, flip.lo, flip.hi = rng.IntN(3), loc.Start+4096, loc.Start+w.Written()
			var s *Scanner
			var recs []Record
			if s, err = Scan(loc, Expect{Generation: 6}); err != nil {
				fail("scan: %v", err)
			}
			for {
				r, err := s.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					fail("recovery scan: %v", err)
				}
				r.Payload = bytes.Clone(r.Payload)
				recs = append(recs, r)
			}
			check("recovery scan", recs)
			if w, err = Resume(loc, s); err != nil {
				fail("resume: %v", err)
			}
			r := simRec{typ: TypeUser, payload: []byte("after the recovery")}
			if r.seq, err = w.Append(r.typ, 0, r.payload); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			acked = append(acked, r)
			flip.skip = -1
			recs, _, err = scanAll(t, loc, 6)
			if err != nil && !errors.Is(err, io.EOF) {
				fail("scan after the recovery: %v", err)
			}
			check("scan after the recovery", recs)
		}
	}
}
