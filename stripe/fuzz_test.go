package stripe

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzReconstruct damages an encoded stripe at random and checks that
// Reconstruct and ReconstructSome never hand back data that differs from
// the original while calling it good or rebuilt, that they succeed
// whenever the damage is within K members and the sums are right, and that
// the report says exactly what was damaged.
//
//	go test ./stripe/ -run '^$' -fuzz FuzzReconstruct -fuzztime 1m
func FuzzReconstruct(f *testing.F) {
	f.Add(uint8(4), uint8(2), uint64(1), []byte{0, 1, 0, 1, 3, 7})
	f.Add(uint8(8), uint8(3), uint64(2), []byte{0, 0, 1, 2, 9, 4, 3, 10, 1})
	f.Add(uint8(1), uint8(2), uint64(3), []byte{1, 0, 200, 5, 1, 0})
	f.Add(uint8(6), uint8(1), uint64(4), []byte{4, 2, 0, 6, 3, 0, 6, 4, 0})
	f.Add(uint8(10), uint8(4), uint64(5), []byte{0, 1, 1, 0, 2, 1, 2, 3, 4, 1, 5, 77})
	f.Add(uint8(3), uint8(0), uint64(6), []byte{7, 1, 0})
	f.Fuzz(checkDamage)
}

// TestReconstructRandomDamage runs FuzzReconstruct's check on seeded
// random inputs, so plain `go test` covers more than the seed corpus.
func TestReconstructRandomDamage(t *testing.T) {
	runs := 3000
	if testing.Short() || raceEnabled {
		runs = 300
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for range runs {
		ops := make([]byte, 3*rng.IntN(7))
		for i := range ops {
			ops[i] = byte(rng.Uint32())
			if i%3 == 0 {
				ops[i] %= 8
			}
		}
		checkDamage(t, uint8(rng.Uint32()), uint8(rng.Uint32()), rng.Uint64(), ops)
	}
}

// checkDamage builds a stripe of layout (1+n%12)+(k%5), applies ops
// (3 bytes each: kind, member, argument), reconstructs and checks.
func checkDamage(t *testing.T, n, k uint8, seed uint64, ops []byte) {
	l := Layout{N: 1 + int(n)%12, K: int(k) % 5, Unit: BlockSize}
	rng := rand.New(rand.NewPCG(seed, uint64(n)<<8|uint64(k)))
	s := newTestStripe(t, l, rng)
	m := l.Members()
	origSums := append([][SumSize]byte(nil), s.sums...)
	present := allPresent(m)
	want := allPresent(m)
	some := seed&1 != 0 // ReconstructSome, with want toggled by ops
	badShape := false
	for len(ops) >= 3 {
		kind, i, arg := ops[0]%8, int(ops[1])%m, ops[2]
		ops = ops[3:]
		switch kind {
		case 0: // lost: a garbage buffer or none
			present[i] = false
			if arg&1 != 0 {
				s.units[i] = nil
			} else if len(s.units[i]) == l.Unit {
				fill(s.units[i], uint64(arg))
			}
		case 1: // bit rot
			if len(s.units[i]) > 0 {
				s.units[i][int(arg)*131%len(s.units[i])] ^= 1 << (arg % 8)
			}
		case 2: // misdirected: another member's unit, checked against this member's sum
			if len(s.units[i]) == l.Unit {
				copy(s.units[i], s.orig[int(arg)%m])
			}
		case 3: // misdirected with its own sum, or stale: bytes and the sum they were written with
			if len(s.units[i]) == l.Unit {
				j := int(arg) % m
				id := s.ids[j]
				if j == i {
					id.Generation -= 1 + uint64(arg)
				}
				copy(s.units[i], s.orig[j])
				s.sums[i] = Sum(s.orig[j], id)
			}
		case 4: // a wrong expected sum
			s.sums[i][arg%SumSize] ^= 1 << (arg % 7)
		case 5: // stale: the same bytes with the sum of another generation
			id := s.ids[i]
			id.Generation += 1 + uint64(arg)
			s.sums[i] = Sum(s.orig[i], id)
		case 6:
			want[i] = !want[i]
		case 7: // a wrong size
			if len(s.units[i]) > 0 {
				s.units[i] = s.units[i][:int(arg)%len(s.units[i])]
			}
		}
	}
	// A lost member's buffer may be any of its sizes: only a wrong-sized
	// present one, or a missing one neither empty nor Unit, is bad.
	for i := range m {
		if n := len(s.units[i]); n != l.Unit && (present[i] || n != 0) {
			badShape = true
		}
	}
	// What the damage really is, from the bytes.
	var damaged, wrongSum uint32
	for i := range m {
		if !present[i] || !bytes.Equal(s.units[i], s.orig[i]) || s.sums[i] != origSums[i] {
			damaged |= 1 << i
		}
		if s.sums[i] != origSums[i] {
			wrongSum |= 1 << i
		}
	}
	wantMask := members(m)
	if some {
		wantMask = 0
		for i, w := range want {
			if w {
				wantMask |= 1 << i
			}
		}
	}
	given := make([][]byte, m)
	copy(given, s.units)

	var rep Report
	var err error
	if some {
		rep, err = s.c.ReconstructSome(s.units, s.ids, s.sums, present, want)
	} else {
		rep, err = s.c.Reconstruct(s.units, s.ids, s.sums, present)
	}
	if badShape {
		if !errors.Is(err, ErrArgument) {
			t.Fatalf("%v: bad shape accepted: %v, %v", l, rep, err)
		}
		return
	}
	if err != nil && !errors.Is(err, ErrUnrecoverable) {
		t.Fatalf("%v: unexpected error %v", l, err)
	}

	// The report says exactly what was damaged.
	var reported uint32
	for _, i := range rep.Missing {
		reported |= 1 << i
		if present[i] {
			t.Fatalf("%v: present member %d reported missing", l, i)
		}
	}
	for _, i := range rep.Corrupt {
		reported |= 1 << i
	}
	if reported != damaged {
		t.Fatalf("%v: damaged %v, reported %v", l, ints(damaged), rep)
	}

	// Never wrong data: every member reported good or rebuilt holds the
	// original bytes, error or not.
	var rebuilt uint32
	for _, i := range rep.Rebuilt {
		rebuilt |= 1 << i
	}
	for i := range m {
		if (damaged&(1<<i) == 0 || rebuilt&(1<<i) != 0) && !bytes.Equal(s.units[i], s.orig[i]) {
			t.Fatalf("%v: member %d claimed good or rebuilt but differs (report %v, err %v)", l, i, rep, err)
		}
	}
	for _, i := range rep.Mismatch {
		if len(given[i]) == l.Unit && !bytes.Equal(s.units[i], make([]byte, l.Unit)) {
			t.Fatalf("%v: mismatched member %d not zeroed", l, i)
		}
	}

	need := damaged & wantMask
	switch {
	case err == nil && rebuilt != need:
		t.Fatalf("%v: success, but rebuilt %v of needed %v", l, ints(rebuilt), ints(need))
	case need != 0 && bitsCount(damaged) <= l.K && need&wrongSum == 0 && err != nil:
		// Within K and no needed member has a wrong sum: must succeed.
		t.Fatalf("%v: damage %v within K=%d failed: %v", l, ints(damaged), l.K, err)
	case need != 0 && need&wrongSum != 0 && err == nil:
		t.Fatalf("%v: a needed member with a wrong sum was reported rebuilt", l)
	case need == 0 && err != nil:
		t.Fatalf("%v: nothing needed, yet %v", l, err)
	}
}

func bitsCount(m uint32) int { return len(ints(m)) }
