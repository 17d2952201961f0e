package main

import (
	"encoding/binary"
	"math/rand/v2"
)

// Keys and values are functions of (seed, index): the get and scan phases
// regenerate any key from its index instead of keeping the key set, so the
// benchmark's own heap stays small next to the engine's, and two runs with the
// same -seed store the same data in the same order.

const (
	minKeyLen = 16
	maxKeyLen = 32
	valueLen  = 100

	// prefixLen characters of 6 bits hold a whole uint64 (66 bits).
	prefixLen = 11

	// goldenGamma is splitmix64's increment.
	goldenGamma = 0x9e3779b97f4a7c15
	// valueSalt separates the value stream of an index from its key stream.
	valueSalt = 0x5bd1e9955bd1e995
)

// alphabet is 64 printable characters in ASCII order, so keys read well in a
// dump; 6 bits per character.
const alphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

type keyGen struct{ seed uint64 }

// mix64 is splitmix64's finalizer: a bijection on uint64 that looks random.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Key appends key i to dst. Its first 11 characters spell a bijective
// scramble of i, so keys are unique without checking and their order has
// nothing to do with i (inserting i = 0, 1, 2... is a random key order); the
// rest, up to a pseudo-random length of 16..32, are filler from the same hash.
func (g keyGen) Key(dst []byte, i uint64) []byte {
	p := mix64(i ^ g.seed)
	s := p
	for range prefixLen {
		dst = append(dst, alphabet[s>>58])
		s <<= 6
	}
	state := p
	next := func() uint64 { state += goldenGamma; return mix64(state) }
	h := next()
	n := minKeyLen + int(h%(maxKeyLen-minKeyLen+1))
	for j := prefixLen; j < n; {
		w := next()
		for b := 0; b < 10 && j < n; b, j = b+1, j+1 {
			dst = append(dst, alphabet[w&63])
			w >>= 6
		}
	}
	return dst
}

// Value appends the 100-byte value of index i to dst: random bytes, so no
// engine gains from compressing them (pebble compresses blocks by default).
func (g keyGen) Value(dst []byte, i uint64) []byte {
	state := mix64(i^g.seed) ^ valueSalt
	start := len(dst)
	var w [8]byte
	for len(dst)-start < valueLen {
		state += goldenGamma
		binary.LittleEndian.PutUint64(w[:], mix64(state))
		dst = append(dst, w[:min(8, valueLen-(len(dst)-start))]...)
	}
	return dst
}

// ValuePrefix is the first 8 bytes of Value(i) as a little-endian integer:
// enough to check that a get returned the value of its key.
func (g keyGen) ValuePrefix(i uint64) uint64 {
	return mix64((mix64(i^g.seed) ^ valueSalt) + goldenGamma)
}

// sample is a set of keys picked at random among the n stored, generated
// before a timed phase into one buffer so the timer sees the engine, not the
// generator.
type sample struct {
	buf  []byte
	off  []int32 // key j is buf[off[j]:off[j+1]]
	want []uint64
}

// newSample picks count indexes in [0, n) with a PRNG seeded by (seed,
// stream): each phase gets its own stream, so the cold gets do not read the
// keys the warm gets cached.
func newSample(g keyGen, n, count int, stream uint64) *sample {
	r := rand.New(rand.NewPCG(g.seed, stream))
	s := &sample{
		buf:  make([]byte, 0, count*(minKeyLen+maxKeyLen)/2+maxKeyLen),
		off:  make([]int32, 1, count+1),
		want: make([]uint64, 0, count),
	}
	for range count {
		i := uint64(r.IntN(n))
		s.buf = g.Key(s.buf, i)
		s.off = append(s.off, int32(len(s.buf)))
		s.want = append(s.want, g.ValuePrefix(i))
	}
	return s
}

func (s *sample) len() int         { return len(s.want) }
func (s *sample) key(j int) []byte { return s.buf[s.off[j]:s.off[j+1]] }
