package btree

// Test helpers: an in-memory node store (the NodeWriter and Loader of the
// tests), a sorted-map model of a tree, key and value generators, seeds.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/plinth-storage/plinth/internal/simtest"
)

// seedFlags: -btree.seeds=N runs N seeds of the model test (default 16)
// and the other random tests in proportion; -btree.seed=N runs one.
var seedFlags = simtest.Flags("./btree/", "btree", 16)

// forEachSeed runs fn as a parallel subtest per seed (a quarter of def
// with -short or -race); a failing seed says how to rerun just it.
func forEachSeed(t *testing.T, def int, fn func(t *testing.T, seed uint64)) {
	seedFlags.Run(t, def, max(1, def/4), fn)
}

// memStore keeps encoded nodes in a map: the NodeWriter and the Loader of
// the tests. Load decodes every time (there is no cache yet), so every
// read is verified.
type memStore struct {
	mu    sync.RWMutex
	nodes map[Addr][]byte
	next  uint64
	loads atomic.Int64

	failAfter int // Write fails once this many writes are done; < 0: never
	writes    int
}

func newMemStore() *memStore { return &memStore{nodes: make(map[Addr][]byte), failAfter: -1} }

func (m *memStore) Write(b []byte) (Addr, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAfter >= 0 && m.writes >= m.failAfter {
		return Addr{}, fmt.Errorf("memStore: injected write failure after %d writes", m.writes)
	}
	m.writes++
	a := Addr{Set: 1, Off: m.next, Len: uint32(len(b))}
	m.next += uint64(len(b))
	m.nodes[a] = bytes.Clone(b)
	return a, nil
}

func (m *memStore) Load(p Ptr, exp Expect, cmp Compare) (*Node, error) {
	m.loads.Add(1)
	m.mu.RLock()
	b, ok := m.nodes[p.Addr]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("memStore: no node at %+v", p.Addr)
	}
	return Decode(b, exp, cmp)
}

// set replaces the bytes at a (never modifying the old ones in place:
// nodes already decoded alias them, as they would a cache's).
func (m *memStore) set(a Addr, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes[a] = b
}

func (m *memStore) get(a Addr) []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.nodes[a]
}

// model is what a tree should hold: a sorted map.
type model struct {
	cmp  Compare
	keys [][]byte // sorted by cmp
	vals map[string][]byte
	size uint64 // key plus value bytes
}

func newModel(cmp Compare) *model {
	if cmp == nil {
		cmp = bytes.Compare
	}
	return &model{cmp: cmp, vals: make(map[string][]byte)}
}

func (m *model) clone() *model {
	c := &model{cmp: m.cmp, keys: slices.Clone(m.keys), vals: make(map[string][]byte, len(m.vals)), size: m.size}
	for k, v := range m.vals {
		c.vals[k] = v
	}
	return c
}

// lower returns the index of the first key not below k.
func (m *model) lower(k []byte) int {
	i, _ := slices.BinarySearchFunc(m.keys, k, func(a, b []byte) int { return m.cmp(a, b) })
	return i
}

func (m *model) put(k, v []byte) {
	k, v = bytes.Clone(k), bytes.Clone(v)
	if old, ok := m.vals[string(k)]; ok {
		m.size += uint64(len(v)) - uint64(len(old))
		m.vals[string(k)] = v
		return
	}
	i := m.lower(k)
	m.keys = slices.Insert(m.keys, i, k)
	m.vals[string(k)] = v
	m.size += uint64(len(k) + len(v))
}

func (m *model) del(k []byte) bool {
	old, ok := m.vals[string(k)]
	if !ok {
		return false
	}
	m.keys = slices.Delete(m.keys, m.lower(k), m.lower(k)+1)
	delete(m.vals, string(k))
	m.size -= uint64(len(k) + len(old))
	return true
}

func (m *model) entries() func(yield func(Entry, error) bool) {
	return func(yield func(Entry, error) bool) {
		for _, k := range m.keys {
			if !yield(Entry{Key: k, Value: m.vals[string(k)]}, nil) {
				return
			}
		}
	}
}

// same fails t unless snapshot s holds exactly what m does, walked both
// ways, with matching Stats.
func same(t testing.TB, s *Snapshot, m *model) {
	t.Helper()
	st := s.Stats()
	if !statsHold(st, uint64(len(m.keys)), m.size) {
		t.Fatalf("Stats say %d entries of %d bytes (%d buffered puts), the model has %d of %d", st.Entries, st.Bytes, st.Buffered, len(m.keys), m.size)
	}
	it := s.Iter()
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		if i >= len(m.keys) {
			t.Fatalf("forward: extra key %s", keyString(it.Key()))
		}
		if !bytes.Equal(it.Key(), m.keys[i]) || !bytes.Equal(it.Value(), m.vals[string(m.keys[i])]) {
			t.Fatalf("forward: entry %d is %s (%d bytes), want %s (%d bytes)", i, keyString(it.Key()), len(it.Value()), keyString(m.keys[i]), len(m.vals[string(m.keys[i])]))
		}
		i++
	}
	if it.Err() != nil || i != len(m.keys) {
		t.Fatalf("forward: %d entries of %d, err %v", i, len(m.keys), it.Err())
	}
	i = len(m.keys) - 1
	for ok := it.Last(); ok; ok = it.Prev() {
		if i < 0 || !bytes.Equal(it.Key(), m.keys[i]) {
			t.Fatalf("backward: entry %d is %s", i, keyString(it.Key()))
		}
		i--
	}
	if it.Err() != nil || i != -1 {
		t.Fatalf("backward: stopped at %d, err %v", i, it.Err())
	}
}

// seekCheck compares seeks to probe, and a few steps either way from
// there, with the model.
func seekCheck(t testing.TB, s *Snapshot, m *model, probe []byte, rng *rand.Rand) {
	t.Helper()
	lo := m.lower(probe)
	exact := lo < len(m.keys) && m.cmp(m.keys[lo], probe) == 0
	le := lo - 1
	if exact {
		le = lo
	}
	it := s.Iter()
	for _, c := range []struct {
		name string
		seek func([]byte) bool
		want int
	}{{"Seek", it.Seek, lo}, {"SeekLE", it.SeekLE, le}, {"SeekLT", it.SeekLT, lo - 1}} {
		pos := c.want
		ok := c.seek(probe)
		for step := 0; ; step++ {
			inRange := pos >= 0 && pos < len(m.keys)
			if ok != inRange || it.Err() != nil {
				t.Fatalf("%s(%s) then %d steps: valid %v, want %v (err %v)", c.name, keyString(probe), step, ok, inRange, it.Err())
			}
			if !ok {
				break
			}
			if !bytes.Equal(it.Key(), m.keys[pos]) {
				t.Fatalf("%s(%s) then %d steps: at %s, want %s", c.name, keyString(probe), step, keyString(it.Key()), keyString(m.keys[pos]))
			}
			if step == 4 {
				break
			}
			if rng.IntN(2) == 0 {
				ok, pos = it.Next(), pos+1
			} else {
				ok, pos = it.Prev(), pos-1
			}
		}
	}
}

// gen makes keys and values of a size profile: key i (a number, so keys
// sort by i, then padding of a length fixed by i) and random values.
type gen struct {
	rng              *rand.Rand
	bigKeys, bigVals bool
}

func (g *gen) key(i int) []byte {
	k := fmt.Appendf(nil, "%07d", i)
	h := uint64(i)*0x9e3779b97f4a7c15 + 1
	h ^= h >> 29
	var pad int
	switch {
	case g.bigKeys && h%8 != 0:
		pad = MaxKey - len(k) // the limit itself: a tree as deep as it gets
	case g.bigKeys:
		pad = 400 + int(h%uint64(MaxKey-len(k)-400))
	case h%50 == 0:
		pad = int(h % uint64(MaxKey-len(k)+1))
	default:
		pad = int(h % 24)
	}
	for j := 0; j < pad; j++ {
		k = append(k, byte('a'+(i+j)%26))
	}
	return k
}

func (g *gen) value() []byte {
	var n int
	switch r := g.rng.IntN(100); {
	case r < 3:
		n = MaxValue
	case g.bigVals && r < 60:
		n = g.rng.IntN(MaxValue + 1)
	case r < 10:
		n = 0
	default:
		n = g.rng.IntN(64)
	}
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(g.rng.Uint32())
	}
	return v
}

// reverse orders keys backwards: a comparator other than the default.
func reverse(a, b []byte) int { return bytes.Compare(b, a) }

// mustCheck runs Check, failing t on a problem.
func mustCheck(t testing.TB, tr interface{ Check() error }) {
	t.Helper()
	if err := tr.Check(); err != nil {
		t.Fatal(err)
	}
}

// statsHold reports whether Stats st can count n entries of size key and
// value bytes: exactly when no put is buffered, else within the bounds
// Stats.Buffered gives.
func statsHold(st Stats, n, size uint64) bool {
	if st.Buffered == 0 {
		return st.Entries == n && st.Bytes == size
	}
	return st.Entries >= n && st.Entries-st.Buffered <= n && st.Bytes >= size
}
