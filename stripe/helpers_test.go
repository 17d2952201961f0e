package stripe

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// fill writes a deterministic pseudo-random sequence (SplitMix64) into b,
// whose length is a multiple of 8. It is written out here rather than
// taken from math/rand so the golden test's input is fixed by this file.
func fill(b []byte, seed uint64) {
	x := seed
	for i := 0; i+8 <= len(b); i += 8 {
		x += 0x9E3779B97F4A7C15
		z := x
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		z ^= z >> 31
		binary.LittleEndian.PutUint64(b[i:], z)
	}
}

// testStripe is an encoded stripe with its identities and sums, and a
// pristine copy to compare against.
type testStripe struct {
	l     Layout
	c     *Codec
	units [][]byte
	orig  [][]byte
	ids   []UnitID
	sums  [][SumSize]byte
}

func newTestStripe(t testing.TB, l Layout, rng *rand.Rand) *testStripe {
	t.Helper()
	c, err := New(l)
	if err != nil {
		t.Fatalf("New(%v): %v", l, err)
	}
	s := &testStripe{l: l, c: c}
	set, stripe := rng.Uint64(), rng.Uint64()
	for i := range l.Members() {
		u := make([]byte, l.Unit)
		if i < l.N {
			fill(u, rng.Uint64())
		}
		s.units = append(s.units, u)
		s.ids = append(s.ids, UnitID{Set: set, Stripe: stripe, Member: uint32(i), Generation: rng.Uint64N(1000)})
	}
	if err := c.Encode(s.units); err != nil {
		t.Fatalf("Encode(%v): %v", l, err)
	}
	for i, u := range s.units {
		s.orig = append(s.orig, bytes.Clone(u))
		s.sums = append(s.sums, Sum(u, s.ids[i]))
	}
	return s
}

// reset restores every unit to its original bytes.
func (s *testStripe) reset() {
	for i := range s.units {
		if len(s.units[i]) != s.l.Unit {
			s.units[i] = make([]byte, s.l.Unit)
		}
		copy(s.units[i], s.orig[i])
	}
}

func allPresent(n int) []bool {
	p := make([]bool, n)
	for i := range p {
		p[i] = true
	}
	return p
}

// checkUnits fails unless the members in want hold their original bytes.
func (s *testStripe) checkUnits(t testing.TB, want []bool, what string) {
	t.Helper()
	for i := range s.units {
		if (want == nil || want[i]) && !bytes.Equal(s.units[i], s.orig[i]) {
			t.Fatalf("%s: %v member %d differs from the original", what, s.l, i)
		}
	}
}

func ints(m uint32) []int {
	var r []int
	for i := 0; m != 0; i++ {
		if m&1 != 0 {
			r = append(r, i)
		}
		m >>= 1
	}
	return r
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
