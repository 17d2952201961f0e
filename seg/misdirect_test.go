package seg

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
)

// TestMisdirectedWrites puts several segments, of different generations
// and one of them reused, on a drive that sometimes writes to the wrong
// place and reports success. Acknowledged records may then be lost (the
// drive lied), and scans may report corruption or a foreign header, but a
// scan must never return a record that was not appended to that segment
// use with that sequence number: not another segment's, not another
// generation's, not a record moved to the wrong place inside its own
// segment by the layout (the write chain catches that).
func TestMisdirectedWrites(t *testing.T) {
	const (
		nseg   = 4
		segCap = 128 << 10
	)
	seeds := simSeeds()
	var misdirected, lost, failed, records int
	for _, seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, 0x3d1f))
		mem := memdev.New("misdirect", 4096+nseg*segCap+4096, 4096)
		fd := faultdev.New(mem, seed)
		type segment struct {
			loc      Location
			gen      uint64
			w        *Writer
			acked    int
			versions map[uint64][]simRec
		}
		segs := make([]*segment, nseg)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d: %s\nrerun: go test ./seg -run 'TestMisdirectedWrites$' -seg.seed=%d -v", seed, fmt.Sprintf(format, args...), seed)
		}
		create := func(i int, gen uint64) {
			s := segs[i]
			s.gen, s.acked, s.versions = gen, 0, map[uint64][]simRec{}
			w, err := Create(s.loc, testHeader(gen))
			if err != nil {
				fail("create segment %d: %v", i, err)
			}
			s.w = w
		}
		for i := range segs {
			segs[i] = &segment{loc: Location{Dev: fd, Index: uint32(i), Start: 4096 + int64(i)*segCap, Capacity: segCap}}
			create(i, uint64(1+i%2)) // two segments share each generation number
		}
		// Segment 0 is in its second use: the first one's records stay
		// behind.
		appendN(t, segs[0].w, 0, 200)
		if err := segs[0].w.Flush(); err != nil {
			fail("%v", err)
		}
		create(0, 3)
		fd.MisdirectRate(0.05)
		for range 60 {
			s := segs[rng.IntN(nseg)]
			if s.w == nil {
				continue
			}
			for n := 1 + rng.IntN(5); n > 0; n-- {
				r := simRec{typ: TypeUser, flags: uint16(rng.Uint32()), payload: uniquePayload(rng, rng.IntN(6000))}
				seq, err := s.w.Append(r.typ, r.flags, r.payload)
				if errors.Is(err, ErrFull) {
					s.w.Seal()
					s.w = nil
					break
				}
				if err != nil {
					fail("append: %v", err)
				}
				r.seq = seq
				s.versions[seq] = append(s.versions[seq], r)
			}
			if s.w != nil {
				if err := s.w.Flush(); err != nil {
					fail("flush: %v", err)
				}
				s.acked = int(s.w.NextSeq() - 100)
			}
		}
		fd.MisdirectRate(0)
		misdirected += fd.Stats().MisdirectedWrites
		for i, s := range segs {
			sc, err := Scan(s.loc, Expect{Node: testNode, Drive: testDrive, Kind: KindJournal, Generation: s.gen})
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrStale) && !errors.Is(err, ErrNotWritten) {
					fail("scan segment %d: %v", i, err)
				}
				failed++
				continue
			}
			n := 0
			for {
				r, err := sc.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					if !errors.Is(err, ErrCorrupt) {
						fail("segment %d: %v", i, err)
					}
					failed++
					break
				}
				ok := false
				for _, v := range s.versions[r.Seq] {
					ok = ok || v.matches(r)
				}
				if !ok {
					fail("segment %d (generation %d) returned a record that was never appended to it: seq %d, %d bytes at %d", i, s.gen, r.Seq, len(r.Payload), r.Offset)
				}
				n++
				records++
			}
			if n < s.acked {
				lost++
				if fd.Stats().MisdirectedWrites == 0 {
					fail("segment %d lost %d acknowledged records without a misdirected write", i, s.acked-n)
				}
			}
		}
	}
	t.Logf("%d seeds: %d misdirected writes, %d records read back, %d segments lost records, %d scans reported damage", len(seeds), misdirected, records, lost, failed)
}
