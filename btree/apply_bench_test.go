package btree

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomKey is a key of 16-32 random letters, as the benchmarks of the
// bench/ module use.
func randomKey(rng *rand.Rand) []byte {
	k := make([]byte, 16+rng.IntN(17))
	for i := range k {
		k[i] = byte('a' + rng.IntN(26))
	}
	return k
}

// BenchmarkApply: batches of random 16-32 byte keys with 100-byte values
// into an in-memory tree of 100,000 entries (no flush): the CPU cost of
// the write path.
func BenchmarkApply(b *testing.B) {
	key := randomKey
	val := make([]byte, 100)
	for _, size := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			tr := New(1, nil, nil)
			muts := make([]Mutation, 1000)
			for range 100 {
				for i := range muts {
					muts[i] = Mutation{Key: key(rng), Value: val}
				}
				if err := tr.Apply(muts); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				m := muts[:size]
				for i := range m {
					m[i] = Mutation{Key: key(rng), Value: val}
				}
				if err := tr.Apply(m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}
