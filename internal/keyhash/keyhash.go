// Package keyhash computes the keyed HighwayHash-64 sums that Plinth's
// on-disk formats use (records, nodes, labels, checkpoint records, block
// tags), over byte ranges that need not be contiguous. Hash states are
// recycled: allocating one per sum costs more than hashing a small record,
// on the hottest paths there are.
package keyhash

import (
	"fmt"
	"hash"
	"sync"

	"github.com/minio/highwayhash"
)

// Hasher sums with one key. Safe for concurrent use.
type Hasher struct {
	pool sync.Pool
}

// New64 returns the hasher of a 32-byte key. Keys are constants of the
// formats, so a key of another length is a programming error: it panics.
func New64(key []byte) *Hasher {
	if _, err := highwayhash.New64(key); err != nil {
		panic(fmt.Sprintf("keyhash: %v", err))
	}
	k := append([]byte(nil), key...)
	h := &Hasher{}
	h.pool.New = func() any {
		s, _ := highwayhash.New64(k) // the length was checked above
		return s
	}
	return h
}

// Sum64 is the HighwayHash-64 of the parts, in order, as if concatenated.
func (h *Hasher) Sum64(parts ...[]byte) uint64 {
	s := h.pool.Get().(hash.Hash64)
	s.Reset()
	for _, p := range parts {
		s.Write(p)
	}
	sum := s.Sum64()
	h.pool.Put(s)
	return sum
}
