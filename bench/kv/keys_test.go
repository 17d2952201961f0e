package main

import (
	"encoding/binary"
	"testing"
)

// The get phases rely on these: every index has its own key, keys stay in
// the specified length range, and ValuePrefix agrees with Value.
func TestKeyGen(t *testing.T) {
	g := keyGen{seed: 42}
	seen := make(map[string]uint64)
	lengths := make(map[int]bool)
	for i := range uint64(200000) {
		k := string(g.Key(nil, i))
		if j, dup := seen[k]; dup {
			t.Fatalf("keys %d and %d are both %q", j, i, k)
		}
		seen[k] = i
		if len(k) < minKeyLen || len(k) > maxKeyLen {
			t.Fatalf("key %d has length %d", i, len(k))
		}
		lengths[len(k)] = true
		if k != string(g.Key([]byte("prefix"), i)[len("prefix"):]) {
			t.Fatalf("key %d depends on the buffer it is appended to", i)
		}
		v := g.Value(nil, i)
		if len(v) != valueLen || binary.LittleEndian.Uint64(v) != g.ValuePrefix(i) {
			t.Fatalf("value %d: %d bytes, prefix %x, ValuePrefix %x", i, len(v), v[:8], g.ValuePrefix(i))
		}
	}
	if len(lengths) != maxKeyLen-minKeyLen+1 {
		t.Errorf("%d distinct key lengths, want %d", len(lengths), maxKeyLen-minKeyLen+1)
	}
}

func TestSampleKeysExist(t *testing.T) {
	g := keyGen{seed: 7}
	s := newSample(g, 1000, 500, streamWarmGets)
	stored := make(map[string]bool)
	for i := range uint64(1000) {
		stored[string(g.Key(nil, i))] = true
	}
	for j := range s.len() {
		if !stored[string(s.key(j))] {
			t.Fatalf("sample key %d (%q) is not one of the stored keys", j, s.key(j))
		}
	}
}
