package kv

import (
	"hash/fnv"
	"slices"
	"sync"
)

// stripes is the number of lock stripes.
const stripes = 256

// lockTable serializes the read-check-write of a key against other writers
// of the same key, without serializing writers of different keys.
type lockTable struct {
	mu [stripes]sync.Mutex
}

// stripe returns the stripe of a key of an index.
func stripe(index string, key []byte) int {
	h := fnv.New32a()
	h.Write([]byte(index))
	h.Write([]byte{0})
	h.Write(key)
	return int(h.Sum32() % stripes)
}

// lock takes the stripes of keys, in ascending order, and returns the
// function that releases them.
func (t *lockTable) lock(index string, keys [][]byte) func() {
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, stripe(index, k))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		t.mu[i].Lock()
	}
	return func() {
		for j := len(idx) - 1; j >= 0; j-- {
			t.mu[idx[j]].Unlock()
		}
	}
}
