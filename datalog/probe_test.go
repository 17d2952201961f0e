package datalog

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/plinth-storage/plinth/stripe"
)

// TestProbes: from its members alone, a set's data members are placed by
// their tags, a wrong parity order is seen as inconsistent, the
// generation of a data member with no device is found from the others,
// and the stream's end is found, past a damaged stripe too.
func TestProbes(t *testing.T) {
	for li, l := range layouts[:3] {
		t.Run(l.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(li), 77))
			segSize := int64(4096 + 8*l.Unit)
			set, fds := testSet(t, l, segSize, 7, uint64(li))
			stream := write(t, set, rng, 5*StripeBytes(l))
			for i, m := range set.Members {
				d, err := ProbeDataMember(m, set.ID, l, 0)
				want := i
				switch {
				case i >= l.N && l.N == 1:
					want = 0 // one data unit: the parity units are copies of it
				case i >= l.N:
					want = -1
				}
				if err != nil || d != want {
					t.Fatalf("member %d probed as %d (%v)", i, d, err)
				}
			}
			if d, err := ProbeDataMember(set.Members[0], set.ID+1, l, 0); err != nil || d != -1 {
				t.Fatalf("another set's id: %d %v", d, err)
			}
			if d, err := ProbeDataMember(set.Members[0], set.ID, l, 100); err != nil || d != -1 {
				t.Fatalf("beyond the segment: %d %v", d, err)
			}
			end, err := ProbeEnd(set, 4)
			if err != nil || end != int64(len(stream)) {
				t.Fatalf("end %d (%v), want %d", end, err, len(stream))
			}
			// A stripe whose every data unit is damaged, not the last one:
			// the end is found past it.
			for d := range l.N {
				fds[d].CorruptAt(unitDevOffset(set, d, 1))
			}
			if end, err := ProbeEnd(set, 4); err != nil || end != int64(len(stream)) {
				t.Fatalf("end past a damaged stripe %d (%v), want %d", end, err, len(stream))
			}
			if ok, known, err := ParityConsistent(set, 0); err != nil || (l.K > 0) != known || known && !ok {
				t.Fatalf("consistent: %v %v %v", ok, known, err)
			}
			if l.K >= 2 && l.N > 1 { // (one data unit: parity units are copies, in any order)
				swapped := set
				swapped.Members = slices.Clone(set.Members)
				swapped.Members[l.N], swapped.Members[l.N+1] = swapped.Members[l.N+1], swapped.Members[l.N]
				if ok, known, err := ParityConsistent(swapped, 0); err != nil || !known || ok {
					t.Fatalf("swapped parity: %v %v %v", ok, known, err)
				}
			}
			if l.K == 0 {
				return
			}
			lost := set
			lost.Members = slices.Clone(set.Members)
			lost.Members[0].Loc.Dev = nil
			lost.Members[0].Generation = 0
			gen, err := RecoverGeneration(lost, 0, 0, 1000)
			if err != nil || gen != 7 {
				t.Fatalf("recovered generation %d (%v), want 7", gen, err)
			}
			if _, err := RecoverGeneration(lost, 0, 0, 6); !errors.Is(err, stripe.ErrUnrecoverable) {
				t.Fatalf("generation beyond the bound: %v", err)
			}
			if _, err := RecoverGeneration(set, 0, 0, 1000); !errors.Is(err, ErrSet) {
				t.Fatalf("member with a device: %v", err)
			}
		})
	}
}

// TestReadStripes: whole stripes read a span at a time give the stream;
// a member without a device, a damaged unit, and a stripe beyond parity
// are reported per stripe, the others read.
func TestReadStripes(t *testing.T) {
	for li, l := range layouts {
		t.Run(l.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(li), 5))
			set, fds := testSet(t, l, int64(4096+8*l.Unit), 3, uint64(li))
			stream := write(t, set, rng, 6*StripeBytes(l))
			sb := StripeBytes(l)
			n := int64(len(stream)) / sb
			r := Open(set, int64(len(stream)))
			read := func(r *Reader, first, count int64) ([]byte, stripe.Report, []error) {
				p := make([]byte, count*sb)
				rep, errs, err := r.ReadStripes(p, first)
				if err != nil || int64(len(errs)) != count {
					t.Fatalf("read stripes [%d, %d): %v (%d errors)", first, first+count, err, len(errs))
				}
				return p, rep, errs
			}
			for first := int64(0); first < n; first += 2 {
				count := min(3, n-first)
				p, rep, errs := read(r, first, count)
				if !bytes.Equal(p, stream[first*sb:(first+count)*sb]) || !isClean(rep) || slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
					t.Fatalf("stripes [%d, %d): %v %v", first, first+count, rep, errs)
				}
			}
			if _, _, err := r.ReadStripes(make([]byte, sb+1), 0); !errors.Is(err, ErrSet) {
				t.Fatalf("not whole stripes: %v", err)
			}
			if _, _, err := r.ReadStripes(make([]byte, sb), n); !errors.Is(err, ErrRange) {
				t.Fatalf("beyond the end: %v", err)
			}
			if l.K == 0 {
				return
			}
			// Data member 0 without a device, a damaged block of member 1 in
			// stripe 2: rebuilt from parity.
			lost := set
			lost.Members = slices.Clone(set.Members)
			lost.Members[0].Loc.Dev = nil
			rl := Open(lost, int64(len(stream)))
			p, rep, errs := read(rl, 0, n)
			if !bytes.Equal(p, stream) || !slices.Contains(rep.Rebuilt, 0) || slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
				t.Fatalf("member 0 missing: %v %v", rep, errs)
			}
			// More bad units than parity in stripe 2: that stripe fails, the
			// others read.
			for d := range min(l.N, l.K+1) {
				fds[d].CorruptAt(unitDevOffset(set, d, 2))
			}
			if l.N < l.K+1 {
				for i := l.N; i < l.K+1; i++ {
					fds[i].CorruptAt(unitDevOffset(set, i, 2))
				}
			}
			p, _, errs = read(r, 0, n)
			for i, e := range errs {
				switch {
				case i == 2 && !errors.Is(e, stripe.ErrUnrecoverable) && l.N > l.K:
					t.Fatalf("stripe 2: %v", e)
				case i != 2 && (e != nil || !bytes.Equal(p[int64(i)*sb:int64(i+1)*sb], stream[int64(i)*sb:int64(i+1)*sb])):
					t.Fatalf("stripe %d: %v", i, e)
				}
			}
		})
	}
}

// TestSalvageStripe: a stripe with more bad units than parity gives back
// its good blocks, each marked, and nothing of the bad ones.
func TestSalvageStripe(t *testing.T) {
	l := layouts[0] // 4+2
	rng := rand.New(rand.NewPCG(3, 4))
	set, fds := testSet(t, l, int64(4096+8*l.Unit), 5, 9)
	stream := write(t, set, rng, 4*StripeBytes(l))
	for d := 1; d < 4; d++ {
		fds[d].CorruptAt(unitDevOffset(set, d, 1))
	}
	r := Open(set, int64(len(stream)))
	sb := StripeBytes(l)
	if _, errs, err := r.ReadStripes(make([]byte, sb), 1); err != nil || !errors.Is(errs[0], stripe.ErrUnrecoverable) {
		t.Fatalf("read: %v %v", errs, err)
	}
	p, good, err := r.SalvageStripe(1)
	if err != nil || int64(len(p)) != sb || len(good) != l.N*l.Unit/BlockSize {
		t.Fatalf("salvage: %d bytes, %d blocks, %v", len(p), len(good), err)
	}
	bpu := l.Unit / BlockSize
	for b, ok := range good {
		lo, hi := int64(b)*BlockPayload, int64(b+1)*BlockPayload
		switch {
		case b < bpu && (!ok || !bytes.Equal(p[lo:hi], stream[sb+lo:sb+hi])):
			t.Fatalf("block %d of the good unit: %v", b, ok)
		case b == bpu || b == 2*bpu || b == 3*bpu:
			if ok {
				t.Fatalf("block %d of a corrupt unit marked good", b)
			}
		}
	}
	if _, _, err := r.SalvageStripe(int64(len(stream)) / sb); !errors.Is(err, ErrRange) {
		t.Fatalf("beyond the end: %v", err)
	}
}
