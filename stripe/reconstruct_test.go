package stripe

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// erasureSets returns the member sets of size lo..hi of an m-member
// stripe: all of them when there are at most max, else max random ones.
func erasureSets(rng *rand.Rand, m, lo, hi, max int) []uint32 {
	var all []uint32
	count := 0
	for k := lo; k <= hi; k++ {
		count += binomial(m, k)
	}
	if count <= max {
		var gen func(from int, set uint32, left int)
		gen = func(from int, set uint32, left int) {
			if left == 0 {
				all = append(all, set)
				return
			}
			for i := from; i <= m-left; i++ {
				gen(i+1, set|1<<i, left-1)
			}
		}
		for k := lo; k <= hi; k++ {
			gen(0, 0, k)
		}
		return all
	}
	for range max {
		k := lo + rng.IntN(hi-lo+1)
		var s uint32
		for _, i := range rng.Perm(m)[:k] {
			s |= 1 << i
		}
		all = append(all, s)
	}
	return all
}

func binomial(n, k int) int {
	if k < 0 || k > n {
		return 0
	}
	r := 1
	for i := range k {
		r = r * (n - i) / (i + 1)
	}
	return r
}

var roundTripLayouts = []Layout{
	{1, 0, BlockSize}, {3, 0, BlockSize}, {1, 1, BlockSize}, {1, 2, BlockSize}, {2, 1, BlockSize},
	{2, 2, BlockSize}, {3, 3, BlockSize}, {4, 2, 2 * BlockSize}, {6, 1, BlockSize}, {8, 3, BlockSize},
	{10, 4, BlockSize}, {12, 4, BlockSize}, {16, 16, BlockSize}, {28, 4, BlockSize}, {31, 1, BlockSize},
}

// TestReconstructErasures loses every set of up to K members (all sets for
// small layouts, a sample for large ones), in every way a member can be
// missing: a buffer holding garbage, or no buffer.
func TestReconstructErasures(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	max := 3000
	if testing.Short() || raceEnabled {
		max = 200
	}
	for _, l := range roundTripLayouts {
		s := newTestStripe(t, l, rng)
		m := l.Members()
		for _, lost := range erasureSets(rng, m, 0, l.K, max) {
			present := allPresent(m)
			for _, i := range ints(lost) {
				present[i] = false
				if rng.IntN(3) == 0 {
					s.units[i] = nil
				} else {
					fill(s.units[i], rng.Uint64())
				}
			}
			rep, err := s.c.Reconstruct(s.units, s.ids, s.sums, present)
			if err != nil {
				t.Fatalf("%v lost %v: %v", l, ints(lost), err)
			}
			if !equalInts(rep.Missing, ints(lost)) || !equalInts(rep.Rebuilt, ints(lost)) || rep.Corrupt != nil || rep.Mismatch != nil {
				t.Fatalf("%v lost %v: report %v", l, ints(lost), rep)
			}
			s.checkUnits(t, nil, "reconstruct")

			// The same loss, data only: parity members stay as they are.
			for _, i := range ints(lost) {
				fill(s.units[i], 5)
			}
			rep, err = s.c.ReconstructData(s.units, s.ids, s.sums, present)
			dataLost := lost & members(l.N)
			if err != nil || !equalInts(rep.Rebuilt, ints(dataLost)) {
				t.Fatalf("%v lost %v: ReconstructData: %v, %v", l, ints(lost), rep, err)
			}
			isData := make([]bool, m)
			for i := range l.N {
				isData[i] = true
			}
			s.checkUnits(t, isData, "reconstruct data")
			for _, i := range ints(lost &^ dataLost) {
				if bytes.Equal(s.units[i], s.orig[i]) {
					t.Fatalf("%v: ReconstructData rebuilt parity member %d", l, i)
				}
			}
			s.reset()
		}
	}
}

// TestReconstructTooMany: K+1 lost members cannot be rebuilt; the error
// names them, and no present member is touched.
func TestReconstructTooMany(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, l := range roundTripLayouts {
		s := newTestStripe(t, l, rng)
		m := l.Members()
		for _, lost := range erasureSets(rng, m, l.K+1, min(l.K+2, m), 100) {
			present := allPresent(m)
			for _, i := range ints(lost) {
				present[i] = false
				clear(s.units[i])
			}
			rep, err := s.c.Reconstruct(s.units, s.ids, s.sums, present)
			if !errors.Is(err, ErrUnrecoverable) {
				t.Fatalf("%v lost %v: %v, want ErrUnrecoverable", l, ints(lost), err)
			}
			if !equalInts(rep.Missing, ints(lost)) || rep.Rebuilt != nil {
				t.Fatalf("%v lost %v: report %v", l, ints(lost), rep)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("missing %v", ints(lost))) {
				t.Fatalf("error does not name the members: %v", err)
			}
			for i := range m {
				present[i] = lost&(1<<i) == 0
			}
			s.checkUnits(t, present, "unrecoverable")
			s.reset()
		}
	}
}

// TestReconstructCorrupt flips one bit in each member in turn, alone and
// together with a lost member: the flipped member is reported corrupt,
// not missing, and rebuilt.
func TestReconstructCorrupt(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, l := range roundTripLayouts {
		if l.K == 0 {
			continue
		}
		s := newTestStripe(t, l, rng)
		m := l.Members()
		for i := range m {
			s.units[i][rng.IntN(l.Unit)] ^= 1 << rng.IntN(8)
			present := allPresent(m)
			lost := -1
			if l.K >= 2 {
				lost = (i + 1 + rng.IntN(m-1)) % m
				present[lost] = false
				clear(s.units[lost])
			}
			rep, err := s.c.Reconstruct(s.units, s.ids, s.sums, present)
			if err != nil {
				t.Fatalf("%v corrupt %d lost %d: %v", l, i, lost, err)
			}
			if !equalInts(rep.Corrupt, []int{i}) {
				t.Fatalf("%v: corrupt %d reported as %v", l, i, rep)
			}
			if want := len(rep.Missing) + 1; len(rep.Rebuilt) != want {
				t.Fatalf("%v: %v, want %d rebuilt", l, rep, want)
			}
			s.checkUnits(t, nil, "corrupt")
			s.reset()
		}
	}
}

// TestReconstructMisdirected: a member holding another member's unit, or
// the same member's unit of another stripe or set, is corrupt, even when
// the sum it is checked against is the one written with that unit (as
// when a stripe summary is misdirected together with the unit).
func TestReconstructMisdirected(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	l := Layout{N: 4, K: 2, Unit: BlockSize}
	s := newTestStripe(t, l, rng)
	other := newTestStripe(t, l, rng)
	m := l.Members()
	cases := []struct {
		name  string
		bytes []byte
		id    UnitID // the identity the bytes and their sum were written with
	}{}
	for i := range m {
		j := (i + 1) % m
		id := s.ids[i]
		id.Stripe++
		idSet := s.ids[i]
		idSet.Set++
		cases = append(cases,
			struct {
				name  string
				bytes []byte
				id    UnitID
			}{fmt.Sprintf("member %d holds member %d's unit", i, j), s.orig[j], s.ids[j]},
			struct {
				name  string
				bytes []byte
				id    UnitID
			}{fmt.Sprintf("member %d holds another stripe's unit", i), other.orig[i], id},
			struct {
				name  string
				bytes []byte
				id    UnitID
			}{fmt.Sprintf("member %d holds its own bytes written for another set", i), s.orig[i], idSet},
		)
	}
	for k, tc := range cases {
		i := k / 3
		for _, sumTravels := range []bool{false, true} {
			if !sumTravels && bytes.Equal(tc.bytes, s.orig[i]) {
				continue // the right bytes, checked against the right sum
			}
			copy(s.units[i], tc.bytes)
			sums := append([][SumSize]byte(nil), s.sums...)
			if sumTravels {
				sums[i] = Sum(tc.bytes, tc.id)
			}
			rep, err := s.c.Reconstruct(s.units, s.ids, sums, allPresent(m))
			if !equalInts(rep.Corrupt, []int{i}) {
				t.Fatalf("%s (sum travels %v): report %v, %v", tc.name, sumTravels, rep, err)
			}
			if sumTravels { // the travelling sum is wrong for the rebuilt unit too
				if !errors.Is(err, ErrUnrecoverable) || !equalInts(rep.Mismatch, []int{i}) {
					t.Fatalf("%s: %v, %v", tc.name, rep, err)
				}
			} else {
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				s.checkUnits(t, nil, tc.name)
			}
			s.reset()
		}
	}
}

// TestReconstructStale: a member's unit left from an earlier generation of
// its segment fails even when its bytes equal the current ones and its
// sum, read from the same stale place, was right for it then.
func TestReconstructStale(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	l := Layout{N: 8, K: 3, Unit: BlockSize}
	s := newTestStripe(t, l, rng)
	m := l.Members()
	for i := range m {
		old := s.ids[i]
		old.Generation--
		sums := append([][SumSize]byte(nil), s.sums...)
		sums[i] = Sum(s.units[i], old) // same bytes, older generation
		rep, err := s.c.Reconstruct(s.units, s.ids, sums, allPresent(m))
		if !equalInts(rep.Corrupt, []int{i}) || !errors.Is(err, ErrUnrecoverable) {
			t.Fatalf("stale member %d: %v, %v", i, rep, err)
		}
		s.reset()

		// Different stale bytes, checked against the current sum: rebuilt.
		fill(s.units[i], rng.Uint64())
		rep, err = s.c.Reconstruct(s.units, s.ids, s.sums, allPresent(m))
		if err != nil || !equalInts(rep.Corrupt, []int{i}) || !equalInts(rep.Rebuilt, []int{i}) {
			t.Fatalf("stale bytes in member %d: %v, %v", i, rep, err)
		}
		s.checkUnits(t, nil, "stale")
	}
}

// TestReconstructWrongSum: a wrong expected sum never yields data. The
// member it belongs to is treated as corrupt, rebuilt, found not to match
// and zeroed; members whose rebuild verifies are still reported rebuilt.
func TestReconstructWrongSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, l := range []Layout{{4, 2, BlockSize}, {8, 3, BlockSize}, {1, 2, BlockSize}, {6, 1, BlockSize}} {
		s := newTestStripe(t, l, rng)
		m := l.Members()
		for d := range l.N {
			for _, mode := range []string{"missing", "present", "with another lost"} {
				if mode == "with another lost" && l.K < 2 {
					continue
				}
				sums := append([][SumSize]byte(nil), s.sums...)
				sums[d][rng.IntN(SumSize)] ^= 1 << rng.IntN(8)
				present := allPresent(m)
				lost := -1
				switch mode {
				case "missing":
					present[d] = false
					clear(s.units[d])
				case "with another lost":
					lost = (d + 1) % m
					present[lost] = false
					clear(s.units[lost])
				}
				rep, err := s.c.Reconstruct(s.units, s.ids, sums, present)
				if !errors.Is(err, ErrUnrecoverable) || !equalInts(rep.Mismatch, []int{d}) {
					t.Fatalf("%v wrong sum %d %s: %v, %v", l, d, mode, rep, err)
				}
				if !bytes.Equal(s.units[d], make([]byte, l.Unit)) {
					t.Fatalf("%v wrong sum %d %s: the unverified rebuild was left in the buffer", l, d, mode)
				}
				if lost >= 0 {
					if !equalInts(rep.Rebuilt, []int{lost}) || !bytes.Equal(s.units[lost], s.orig[lost]) {
						t.Fatalf("%v: %v: member %d not rebuilt", l, rep, lost)
					}
				}
				s.reset()
			}
		}
	}
}

// TestReconstructSome rebuilds only what is wanted: unwanted bad members
// are left alone, and more than K bad members do not matter while every
// wanted one is good or can be rebuilt.
func TestReconstructSome(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	l := Layout{N: 8, K: 3, Unit: BlockSize}
	s := newTestStripe(t, l, rng)
	m := l.Members()

	// A degraded read of data members 2..3: 3 is lost; the reader did not
	// read parity member 10; member 5 is corrupt.
	want := make([]bool, m)
	want[2], want[3] = true, true
	present := allPresent(m)
	present[3], present[10] = false, false
	clear(s.units[3])
	s.units[10] = nil
	s.units[5][17] ^= 4
	rep, err := s.c.ReconstructSome(s.units, s.ids, s.sums, present, want)
	if err != nil || !equalInts(rep.Rebuilt, []int{3}) || !equalInts(rep.Missing, []int{3, 10}) || !equalInts(rep.Corrupt, []int{5}) {
		t.Fatalf("%v, %v", rep, err)
	}
	s.checkUnits(t, want, "some")
	if bytes.Equal(s.units[5], s.orig[5]) || s.units[10] != nil {
		t.Fatal("an unwanted bad member was rebuilt")
	}
	s.reset()

	// More than K bad, but the wanted member is good: nothing to do.
	present = allPresent(m)
	for _, i := range []int{0, 1, 3, 4} {
		present[i] = false
	}
	want = make([]bool, m)
	want[2] = true
	if rep, err := s.c.ReconstructSome(s.units, s.ids, s.sums, present, want); err != nil || rep.Rebuilt != nil {
		t.Fatalf("wanted member good: %v, %v", rep, err)
	}
	// ... and when a wanted member is bad, too few are left.
	want[3] = true
	if _, err := s.c.ReconstructSome(s.units, s.ids, s.sums, present, want); !errors.Is(err, ErrUnrecoverable) {
		t.Fatalf("wanted member lost with K+1 bad: %v", err)
	}
	// A parity member may be wanted too (rebuilding a replaced drive).
	present = allPresent(m)
	present[9] = false
	clear(s.units[9])
	want = make([]bool, m)
	want[9] = true
	if rep, err := s.c.ReconstructSome(s.units, s.ids, s.sums, present, want); err != nil || !equalInts(rep.Rebuilt, []int{9}) {
		t.Fatalf("parity member: %v, %v", rep, err)
	}
	s.checkUnits(t, nil, "parity member")
}

func TestReconstructNoParity(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	s := newTestStripe(t, Layout{N: 3, K: 0, Unit: BlockSize}, rng)
	if rep, err := s.c.Reconstruct(s.units, s.ids, s.sums, allPresent(3)); err != nil || rep.String() != "all members good" {
		t.Fatalf("%v, %v", rep, err)
	}
	s.units[1][0] ^= 1
	if rep, err := s.c.Reconstruct(s.units, s.ids, s.sums, allPresent(3)); !errors.Is(err, ErrUnrecoverable) || !equalInts(rep.Corrupt, []int{1}) {
		t.Fatalf("%v, %v", rep, err)
	}
}

func TestReconstructBadArguments(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	l := Layout{N: 2, K: 1, Unit: BlockSize}
	s := newTestStripe(t, l, rng)
	type args struct {
		units   [][]byte
		ids     []UnitID
		sums    [][SumSize]byte
		present []bool
		want    []bool
	}
	ok := func() args {
		return args{append([][]byte(nil), s.units...), append([]UnitID(nil), s.ids...),
			append([][SumSize]byte(nil), s.sums...), allPresent(3), allPresent(3)}
	}
	cases := map[string]func(a *args){
		"few units":        func(a *args) { a.units = a.units[:2] },
		"few ids":          func(a *args) { a.ids = a.ids[:2] },
		"many sums":        func(a *args) { a.sums = append(a.sums, a.sums[0]) },
		"few present":      func(a *args) { a.present = a.present[:2] },
		"few want":         func(a *args) { a.want = a.want[:2] },
		"nil everything":   func(a *args) { *a = args{} },
		"short present":    func(a *args) { a.units[1] = a.units[1][:10] },
		"empty present":    func(a *args) { a.units[1] = nil },
		"long missing":     func(a *args) { a.present[1] = false; a.units[1] = make([]byte, BlockSize+1) },
		"short missing":    func(a *args) { a.present[1] = false; a.units[1] = make([]byte, 10) },
		"member mismatch":  func(a *args) { a.ids[1].Member = 2 },
		"set mismatch":     func(a *args) { a.ids[2].Set++ },
		"stripe mismatch":  func(a *args) { a.ids[1].Stripe++ },
		"missing overlaps": func(a *args) { a.present[2] = false; a.units[2] = a.units[0] },
	}
	for name, mutate := range cases {
		a := ok()
		mutate(&a)
		_, err := s.c.ReconstructSome(a.units, a.ids, a.sums, a.present, a.want)
		if !errors.Is(err, ErrArgument) {
			t.Errorf("%s: %v, want ErrArgument", name, err)
		}
		if name != "few want" {
			if _, err := s.c.Reconstruct(a.units, a.ids, a.sums, a.present); !errors.Is(err, ErrArgument) {
				t.Errorf("%s: Reconstruct: %v, want ErrArgument", name, err)
			}
		}
		s.checkUnits(t, nil, name)
	}
}

func TestReportString(t *testing.T) {
	r := Report{Missing: []int{1, 2}, Corrupt: []int{4}, Rebuilt: []int{1, 2, 4}}
	if got, want := r.String(), "missing [1 2], corrupt [4], rebuilt [1 2 4]"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}
