package stripe

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestEncodeVerify(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, l := range []Layout{{1, 0, BlockSize}, {3, 0, BlockSize}, {1, 2, BlockSize}, {4, 2, 2 * BlockSize}, {8, 3, BlockSize}, {31, 1, BlockSize}, {16, 16, BlockSize}} {
		s := newTestStripe(t, l, rng)
		ok, err := s.c.Verify(s.units)
		if err != nil || !ok {
			t.Fatalf("%v: Verify = %v, %v after Encode", l, ok, err)
		}
		if s.c.Layout() != l {
			t.Fatalf("Layout() = %v, want %v", s.c.Layout(), l)
		}
		if l.K == 0 {
			continue
		}
		for i := range l.Members() { // a change to any member breaks the code
			s.units[i][rng.IntN(l.Unit)] ^= 1 << rng.IntN(8)
			if ok, err := s.c.Verify(s.units); err != nil || ok {
				t.Fatalf("%v: Verify = %v, %v with member %d changed", l, ok, err, i)
			}
			s.reset()
		}
		// Encode overwrites whatever the parity units held.
		for i := l.N; i < l.Members(); i++ {
			fill(s.units[i], 99)
		}
		if err := s.c.Encode(s.units); err != nil {
			t.Fatal(err)
		}
		s.checkUnits(t, nil, "re-encode")
	}
}

func TestEncodeBadArguments(t *testing.T) {
	c, err := New(Layout{N: 2, K: 1, Unit: BlockSize})
	if err != nil {
		t.Fatal(err)
	}
	u := func() []byte { return make([]byte, BlockSize) }
	shared := u()
	big := make([]byte, 2*BlockSize)
	for name, units := range map[string][][]byte{
		"nil":       nil,
		"too few":   {u(), u()},
		"too many":  {u(), u(), u(), u()},
		"short":     {u(), u()[:100], u()},
		"long":      {u(), u(), append(u(), 0)},
		"empty":     {u(), nil, u()},
		"aliased":   {shared, u(), shared},
		"overlap":   {u(), big[:BlockSize], big[1 : BlockSize+1]},
		"all empty": {nil, nil, nil},
	} {
		if err := c.Encode(units); !errors.Is(err, ErrArgument) {
			t.Errorf("Encode %s: %v, want ErrArgument", name, err)
		}
		if name == "aliased" || name == "overlap" { // Verify only reads
			continue
		}
		if ok, err := c.Verify(units); !errors.Is(err, ErrArgument) || ok {
			t.Errorf("Verify %s: %v, %v, want ErrArgument", name, ok, err)
		}
	}
}

// TestConcurrentUse runs one codec from many goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	l := Layout{N: 4, K: 2, Unit: 4 * BlockSize}
	c, err := New(l)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			s := newTestStripe(t, l, rng)
			for range 20 {
				present := allPresent(l.Members())
				present[rng.IntN(l.Members())] = false
				present[rng.IntN(l.Members())] = false
				if _, err := c.Reconstruct(s.units, s.ids, s.sums, present); err != nil {
					t.Error(err)
					return
				}
				s.checkUnits(t, nil, "concurrent")
				if err := c.Encode(s.units); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
