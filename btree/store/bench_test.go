package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The CPU cost of the store without device latency (in-memory drives, one
// mirror): batched durable inserts of 16-32 byte keys and 100-byte values
// into a tree that already holds 100,000, and point gets. The comparison
// with bbolt and pebble on real files is the bench/ module.
func BenchmarkCommit(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s, rng := benchStore(b, 100_000)
			defer s.Close()
			b.ResetTimer()
			for range b.N {
				batch := NewBatch()
				for range size {
					batch.Put("t", benchKey(rng), benchValue[:])
				}
				if _, err := s.Commit(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}

func BenchmarkGet(b *testing.B) {
	s, _ := benchStore(b, 100_000)
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 1)) // the keys benchStore wrote
	keys := make([][]byte, 100_000)
	for i := range keys {
		keys[i] = benchKey(rng)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, ok, err := s.Get("t", keys[i%len(keys)]); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

var benchValue [100]byte

func benchKey(rng *rand.Rand) []byte {
	k := make([]byte, 16+rng.IntN(17))
	for i := range k {
		k[i] = byte('a' + rng.IntN(26))
	}
	return k
}

func benchStore(b *testing.B, n int) (*Store, *rand.Rand) {
	c := defaultRig()
	c.mirrors, c.segSize, c.metaSegs, c.ringSegs = 1, 64<<20, 16, 4
	r := newRig(b, c)
	r.tune = func(o *Options) { o.CacheBytes = 256 << 20; o.CheckpointBytes = 32 << 20 }
	s := r.create()
	if err := s.CreateTree(ctx, "t", ""); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < n; i += 1000 {
		batch := NewBatch()
		for range min(1000, n-i) {
			batch.Put("t", benchKey(rng), benchValue[:])
		}
		if _, err := s.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Checkpoint(); err != nil {
		b.Fatal(err)
	}
	return s, rng
}
