package btree

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// Batches of mutations, duplicates of a key and deletes included, give the
// same tree as applying them one by one to a model; a snapshot sees a
// batch whole or not at all; flushes in between keep the freed accounting
// exact (checked by the accounting tests' walker) and Check passes.
func TestApplyBatches(t *testing.T) {
	forEachSeed(t, 12, func(t *testing.T, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 0xba7c4))
		g := &gen{rng: rng, bigKeys: seed%3 == 1, bigVals: seed%3 == 2}
		var cmp Compare
		if seed%4 == 3 {
			cmp = reverse
		}
		store := newMemStore()
		tr := New(seed, cmp, store)
		m := newModel(cmp)
		universe := 2000 + rng.IntN(3000)
		var gen uint64 = 1
		for round := range 60 {
			before, beforeModel := tr.Snapshot(), m.clone()
			size := 1 + rng.IntN(400)
			grow := round%20 < 12
			muts := make([]Mutation, 0, size)
			for range size {
				k := g.key(rng.IntN(universe))
				if grow && rng.IntN(4) > 0 || !grow && rng.IntN(4) == 0 {
					v := g.value()
					muts = append(muts, Mutation{Key: k, Value: v})
					m.put(k, v)
				} else {
					muts = append(muts, Mutation{Key: k, Delete: true})
					m.del(k)
				}
			}
			if err := tr.Apply(muts); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			// The caller's buffers are the caller's.
			for _, mu := range muts {
				for i := range mu.Key {
					mu.Key[i] = 0
				}
			}
			same(t, tr.Snapshot(), m)
			same(t, before, beforeModel) // the previous state is untouched
			if round%7 == 3 {
				gen++
				if _, err := tr.Flush(store, gen); err != nil {
					t.Fatal(err)
				}
			}
		}
		mustCheck(t, tr)
		// An empty batch, and a batch that changes nothing, publish nothing.
		s := tr.Snapshot()
		if err := tr.Apply(nil); err != nil || tr.Snapshot() != s {
			t.Fatalf("empty batch: %v, published %v", err, tr.Snapshot() != s)
		}
		if err := tr.Apply([]Mutation{{Key: []byte("\xff\xffnot-there"), Delete: true}}); err != nil || tr.Snapshot() != s {
			t.Fatalf("no-op batch: %v, published %v", err, tr.Snapshot() != s)
		}
	})
}

func TestApplyRejectsBadEntriesWhole(t *testing.T) {
	tr := New(1, nil, nil)
	err := tr.Apply([]Mutation{{Key: []byte("ok"), Value: []byte("v")}, {Key: bytes.Repeat([]byte("k"), MaxKey+1)}})
	if err == nil || tr.Stats().Entries != 0 {
		t.Fatalf("a batch with a bad key: %v, %d entries applied", err, tr.Stats().Entries)
	}
}
