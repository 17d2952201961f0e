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

// partialZoned is a zoned drive that loses power in the middle of a write:
// the armed write completes only its first blocks (possibly none) and
// fails, and the zone's write pointer stays inside the write, as on a real
// drive. zonemu alone never does this: its write pointer moves by whole
// writes.
type partialZoned struct {
	dev.ZonedDevice
	rng    *rand.Rand
	armIn  int // writes to let through before the cut; < 0: disarmed
	keep   int // blocks the cut write completes; 0: a random number
	cuts   int
	inside int // cuts that left the write pointer strictly inside the write
}

func (p *partialZoned) WriteAt(b []byte, off int64) (int, error) {
	if p.armIn < 0 {
		return p.ZonedDevice.WriteAt(b, off)
	}
	if p.armIn > 0 {
		p.armIn--
		return p.ZonedDevice.WriteAt(b, off)
	}
	p.armIn = -1
	p.cuts++
	lbs := p.Geometry().LogicalBlockSize
	k := min(p.keep, len(b)/lbs-1)
	if p.keep == 0 {
		k = p.rng.IntN(len(b) / lbs)
	}
	if k > 0 {
		p.inside++
		if _, err := p.ZonedDevice.WriteAt(b[:k*lbs], off); err != nil {
			return 0, err
		}
	}
	return k * lbs, fmt.Errorf("power lost after %d of %d blocks: %w", k, len(b)/lbs, dev.ErrPowerCut)
}

// A power cut that leaves a zone's write pointer inside a write used to
// cost acknowledged data: recovery took the tail for the write's start and
// resumed at the write pointer, inside the torn write; once later writes
// moved the write pointer past the torn write's end, scans read the torn
// write as valid, returned its unacknowledged records under the sequence
// numbers of acknowledged ones, then reported corruption.
func TestZonedWritePointerInsideWrite(t *testing.T) {
	var cuts, inside, records int
	for _, seed := range simSeeds() {
		rng := rand.New(rand.NewPCG(seed, 0x2a7e))
		z, loc := zonedSegment(t, 1<<20)
		pz := &partialZoned{ZonedDevice: z, rng: rng, armIn: -1}
		loc.Dev = pz
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d: %s\nrerun: go test ./seg -run 'TestZonedWritePointerInsideWrite$' -seg.seed=%d -v", seed, fmt.Sprintf(format, args...), seed)
		}
		w, err := Create(loc, testHeader(4))
		if err != nil {
			t.Fatal(err)
		}
		var acked, unacked, pending []simRec
		full := false
		for round := 0; round < 5 && !full; round++ {
			pz.armIn = rng.IntN(6)
			crashed := false
			for step := 0; step < 6 && !crashed && !full; step++ {
				for n := 1 + rng.IntN(40); n > 0; n-- {
					r := simRec{typ: TypeUser, flags: uint16(rng.Uint32()), payload: uniquePayload(rng, rng.IntN(3000))}
					seq, err := w.Append(r.typ, r.flags, r.payload)
					if errors.Is(err, ErrFull) {
						full = true
						break
					}
					if err != nil {
						fail("append: %v", err)
					}
					r.seq = seq
					pending = append(pending, r)
					records++
				}
				if err := w.Flush(); err != nil {
					if !errors.Is(err, dev.ErrPowerCut) {
						fail("flush: %v", err)
					}
					unacked, pending, crashed = pending, nil, true
				} else {
					acked, pending = append(acked, pending...), nil
				}
			}
			pz.armIn = -1
			pending = nil
			// The drive keeps what it wrote, write pointer included.
			if err := z.Flush(); err != nil {
				t.Fatal(err)
			}
			s, err := Scan(loc, Expect{Node: testNode, Drive: testDrive, Kind: KindJournal, Generation: 4})
			if err != nil {
				t.Fatal(err)
			}
			var recs []Record
			for err == nil {
				var r Record
				if r, err = s.Next(); err == nil {
					r.Payload = bytes.Clone(r.Payload)
					recs = append(recs, r)
				}
			}
			if err != io.EOF {
				fail("round %d: scan: %v", round, err)
			}
			tail := s.Tail()
			if len(recs) < len(acked) || len(recs) > len(acked)+len(unacked) {
				fail("round %d: %d records, %d acknowledged and %d more written", round, len(recs), len(acked), len(unacked))
			}
			for i, r := range recs {
				want := append(acked[:len(acked):len(acked)], unacked...)[i]
				if r.Seq != 100+uint64(i) || !want.matches(r) {
					fail("round %d: record %d at %d: seq %d, %d bytes; want %v", round, i, r.Offset, r.Seq, len(r.Payload), want)
				}
			}
			acked = acked[:0:0]
			for _, r := range recs {
				acked = append(acked, simRec{typ: r.Type, flags: r.Flags, seq: r.Seq, payload: r.Payload})
			}
			unacked = nil
			if w, err = Resume(loc, s); err != nil {
				fail("round %d: resume at %+v: %v", round, tail, err)
			}
		}
		cuts += pz.cuts
		inside += pz.inside
	}
	t.Logf("%d seeds: %d records, %d cuts, %d with the write pointer inside the write", len(simSeeds()), records, cuts, inside)
}
