package btree

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkBuffered: a tree of 200,000 random 16-32 byte keys with
// 100-byte values, flushed to memory and read through a node cache; then batches of 100 random puts
// into it, which buffer beside their leaves (puts); and point gets and
// 100-entry scans of the tree with 100,000 puts buffered over it
// (buffered) and flushed (flushed).
func BenchmarkBuffered(b *testing.B) {
	key := randomKey
	val := make([]byte, 100)
	build := func(b *testing.B, puts int) (*Tree, *memStore) {
		rng := rand.New(rand.NewPCG(1, 1))
		store := newMemStore()
		// Reads through a cache large enough for the tree: what is
		// measured is the tree's work, not the decoding of nodes.
		tr := New(1, nil, NewCache(1<<30, &storeReader{store: store}))
		muts := make([]Mutation, 1000)
		for range 200 {
			for i := range muts {
				muts[i] = Mutation{Key: key(rng), Value: val}
			}
			if err := tr.Apply(muts); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := tr.Flush(store, 1); err != nil {
			b.Fatal(err)
		}
		for range puts / 100 {
			m := muts[:100]
			for i := range m {
				m[i] = Mutation{Key: key(rng), Value: val}
			}
			if err := tr.Apply(m); err != nil {
				b.Fatal(err)
			}
		}
		return tr, store
	}
	b.Run("puts", func(b *testing.B) {
		tr, _ := build(b, 0)
		rng := rand.New(rand.NewPCG(2, 2))
		muts := make([]Mutation, 100)
		b.ResetTimer()
		for range b.N {
			for i := range muts {
				muts[i] = Mutation{Key: key(rng), Value: val}
			}
			if err := tr.Apply(muts); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(muts))/b.Elapsed().Seconds(), "keys/s")
	})
	for _, state := range []string{"buffered", "flushed"} {
		tr, store := build(b, 100_000)
		if state == "flushed" {
			if _, err := tr.Flush(store, 2); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("get/%s", state), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 3))
			for range b.N {
				if _, _, err := tr.Get(key(rng)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("scan/%s", state), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 3))
			n := 0
			for range b.N {
				it := tr.Iter()
				for ok := it.Seek(key(rng)); ok && n%100 != 99; ok = it.Next() {
					n++
				}
				n++
				if it.Err() != nil {
					b.Fatal(it.Err())
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
