package btree

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/internal/simtest"
)

// storeReader reads the nodes of a memStore into new buffers, counting
// the reads: the NodeReader of the cache tests.
type storeReader struct {
	store *memStore
	reads atomic.Int64
}

func (r *storeReader) ReadNode(a Addr, _ uint64) ([]byte, error) {
	r.reads.Add(1)
	b := r.store.get(a)
	if b == nil {
		return nil, fmt.Errorf("storeReader: no node at %s", addrString(a))
	}
	return bytes.Clone(b), nil
}

// readerFunc makes a function a NodeReader.
type readerFunc func(Addr) ([]byte, error)

func (f readerFunc) ReadNode(a Addr, _ uint64) ([]byte, error) { return f(a) }

// cacheNode is a node in a store: how to load it, its first key, and what
// it costs in a cache.
type cacheNode struct {
	ptr  Ptr
	exp  Expect
	key  []byte
	cost int64
}

// writeLeaf writes a leaf of tree 1, generation gen, holding count
// entries (keys "i/j") with values of vlen bytes.
func writeLeaf(t testing.TB, store *memStore, gen uint64, i, count, vlen int) cacheNode {
	t.Helper()
	entries := make([]Entry, count)
	for j := range entries {
		entries[j] = Entry{Key: fmt.Appendf(nil, "%06d/%04d", i, j), Value: bytes.Repeat([]byte{byte(i)}, vlen)}
	}
	nd := &Node{Tree: 1, Gen: gen, Entries: entries}
	b, sum, err := nd.Encode(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := store.Write(b)
	if err != nil {
		t.Fatal(err)
	}
	exp := Expect{Tree: 1, Level: 0, Sum: sum, Gen: gen}
	dec, err := Decode(b, exp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cacheNode{ptr: Ptr{Addr: a, Sum: sum, Gen: gen}, exp: exp, key: entries[0].Key, cost: entryCost(dec, len(b))}
}

// writeLeaves writes n leaves of one entry with values of vlen bytes: all
// of the same cost.
func writeLeaves(t testing.TB, store *memStore, n, vlen int) []cacheNode {
	nodes := make([]cacheNode, n)
	for i := range nodes {
		nodes[i] = writeLeaf(t, store, 7, i, 1, vlen)
	}
	return nodes
}

// load loads n through c, failing t unless it is n.
func load(t testing.TB, c *Cache, n cacheNode) *Node {
	t.Helper()
	nd, err := c.Load(n.ptr, n.exp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(nd.Entries) == 0 || !bytes.Equal(nd.Entries[0].Key, n.key) {
		t.Fatalf("loaded the wrong node at %s", addrString(n.ptr.Addr))
	}
	return nd
}

// checkCache verifies c's invariants: Bytes within Limit, each shard
// within its share, its list and map holding the same entries, and its
// byte count their costs.
func checkCache(t testing.TB, c *Cache) {
	t.Helper()
	if st := c.Stats(); st.Bytes > st.Limit {
		t.Fatalf("the cache holds %d bytes, above its limit of %d", st.Bytes, st.Limit)
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		var n int
		var bytes int64
		for e := s.lru.next; e != &s.lru; e = e.next {
			if e.next.prev != e || s.entries[e.addr] != e {
				s.mu.Unlock()
				t.Fatalf("shard %d: a broken list or map at %s", i, addrString(e.addr))
			}
			n++
			bytes += e.cost
		}
		ok := n == len(s.entries) && bytes == s.bytes && s.bytes <= s.limit && s.limit*int64(len(c.shards)) <= c.limit
		s.mu.Unlock()
		if !ok {
			t.Fatalf("shard %d: %d listed of %d entries, %d bytes counted of %d, share %d of %d", i, n, len(s.entries), bytes, s.bytes, s.limit, c.limit)
		}
	}
}

// lruOrder returns the cached nodes of a one-shard cache, most recently
// used first, as indexes into nodes.
func lruOrder(c *Cache, nodes []cacheNode) []int {
	s := &c.shards[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	var order []int
	for e := s.lru.next; e != &s.lru; e = e.next {
		order = append(order, slices.IndexFunc(nodes, func(n cacheNode) bool { return n.ptr.Addr == e.addr }))
	}
	return order
}

// TestCacheStats: hits, misses, evictions, bytes and nodes as loads and
// Forget go.
func TestCacheStats(t *testing.T) {
	store := newMemStore()
	r := &storeReader{store: store}
	nodes := writeLeaves(t, store, 10, 1000)
	cost := uint64(nodes[0].cost)
	c := NewCache(int64(4*cost), r)
	want := func(st CacheStats, reads int64) {
		t.Helper()
		st.Limit = 4 * cost
		if got := c.Stats(); got != st || r.reads.Load() != reads {
			t.Fatalf("stats %+v after %d reads, want %+v after %d", got, r.reads.Load(), st, reads)
		}
		checkCache(t, c)
	}
	for _, n := range nodes {
		load(t, c, n)
	}
	want(CacheStats{Misses: 10, Evictions: 6, Nodes: 4, Bytes: 4 * cost}, 10)
	for _, n := range nodes[6:] {
		load(t, c, n)
	}
	want(CacheStats{Hits: 4, Misses: 10, Evictions: 6, Nodes: 4, Bytes: 4 * cost}, 10)
	load(t, c, nodes[0])
	want(CacheStats{Hits: 4, Misses: 11, Evictions: 7, Nodes: 4, Bytes: 4 * cost}, 11)
	c.Forget(nodes[9].ptr.Addr)
	c.Forget(nodes[1].ptr.Addr) // not cached: nothing happens
	want(CacheStats{Hits: 4, Misses: 11, Evictions: 7, Nodes: 3, Bytes: 3 * cost}, 11)
	load(t, c, nodes[9]) // there is room: no eviction
	want(CacheStats{Hits: 4, Misses: 12, Evictions: 7, Nodes: 4, Bytes: 4 * cost}, 12)
}

// TestCacheLRUOrder: a hit makes a node the most recently used, a miss
// evicts the least recently used.
func TestCacheLRUOrder(t *testing.T) {
	store := newMemStore()
	r := &storeReader{store: store}
	nodes := writeLeaves(t, store, 5, 500)
	c := NewCache(3*nodes[0].cost, r)
	const a, b, cc, d, e = 0, 1, 2, 3, 4
	for i, step := range []struct {
		load int
		hit  bool
		want []int // most recently used first
	}{
		{a, false, []int{a}},
		{b, false, []int{b, a}},
		{cc, false, []int{cc, b, a}},
		{a, true, []int{a, cc, b}},
		{d, false, []int{d, a, cc}}, // b was the least recently used
		{cc, true, []int{cc, d, a}},
		{cc, true, []int{cc, d, a}},
		{b, false, []int{b, cc, d}},
		{d, true, []int{d, b, cc}},
		{e, false, []int{e, d, b}},
		{a, false, []int{a, e, d}},
	} {
		reads := r.reads.Load()
		load(t, c, nodes[step.load])
		if hit := r.reads.Load() == reads; hit != step.hit {
			t.Fatalf("step %d: load %d: hit %v, want %v", i, step.load, hit, step.hit)
		}
		if got := lruOrder(c, nodes); !slices.Equal(got, step.want) {
			t.Fatalf("step %d: load %d: order %v, want %v", i, step.load, got, step.want)
		}
		checkCache(t, c)
	}
	if st := c.Stats(); st.Evictions != 4 || st.Hits != 4 || st.Misses != 7 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCacheOversized: a node costing more than the whole limit is
// returned but not cached, and evicts nothing; a cache of no bytes
// caches nothing.
func TestCacheOversized(t *testing.T) {
	store := newMemStore()
	r := &storeReader{store: store}
	small := writeLeaf(t, store, 7, 0, 1, 10)
	big := writeLeaf(t, store, 7, 1, 3, MaxValue)
	c := NewCache(big.cost-1, r)
	load(t, c, small)
	for i := 0; i < 2; i++ {
		load(t, c, big)
		checkCache(t, c)
	}
	if st := c.Stats(); st.Nodes != 1 || st.Bytes != uint64(small.cost) || st.Misses != 3 || st.Evictions != 0 || r.reads.Load() != 3 {
		t.Fatalf("stats %+v after %d reads", st, r.reads.Load())
	}
	load(t, c, small)
	if r.reads.Load() != 3 {
		t.Fatal("the oversized node evicted the small one")
	}
	for _, limit := range []int64{0, -1} {
		c := NewCache(limit, r)
		load(t, c, small)
		load(t, c, small)
		if st := c.Stats(); st != (CacheStats{Misses: 2}) {
			t.Fatalf("limit %d: stats %+v", limit, st)
		}
	}
}

var errTestRead = errors.New("test: read failed")

// TestCacheFailuresNotCached: read errors, corrupt bytes and mismatching
// nodes fail, wrapped with the address, and are not cached: the next
// Load reads again and succeeds once the media does.
func TestCacheFailuresNotCached(t *testing.T) {
	store := newMemStore()
	n := writeLeaf(t, store, 7, 0, 2, 100)
	var mode atomic.Value // how the reader fails: "", "error", "flip", "short", "long"
	mode.Store("")
	var reads atomic.Int64
	r := readerFunc(func(a Addr) ([]byte, error) {
		reads.Add(1)
		b := bytes.Clone(store.get(a))
		switch mode.Load().(string) {
		case "error":
			return nil, errTestRead
		case "flip":
			b[len(b)/2] ^= 0x10
		case "short":
			b = b[:len(b)-1]
		case "long":
			b = append(b, 0)
		}
		return b, nil
	})
	c := NewCache(1<<20, r)
	where := addrString(n.ptr.Addr)
	fail := func(exp Expect, want error) {
		t.Helper()
		nd, err := c.Load(n.ptr, exp, nil)
		if nd != nil || !errors.Is(err, want) || !strings.Contains(err.Error(), where) {
			t.Fatalf("got %v, %v; want %v naming %s", nd, err, want, where)
		}
	}
	for _, m := range []struct {
		mode string
		want error
	}{{"error", errTestRead}, {"flip", ErrCorrupt}, {"short", ErrCorrupt}, {"long", ErrCorrupt}} {
		mode.Store(m.mode)
		fail(n.exp, m.want)
		fail(n.exp, m.want)
		if st := c.Stats(); st.Nodes != 0 || st.Bytes != 0 {
			t.Fatalf("%s: a failure was cached: %+v", m.mode, st)
		}
	}
	mode.Store("")

	// A stale pointer (another generation, another checksum) reads the
	// media and fails without caching anything.
	stale := n.exp
	stale.Gen++
	fail(stale, ErrMismatch)
	stale = n.exp
	stale.Sum++
	fail(stale, ErrMismatch)
	if st := c.Stats(); st.Nodes != 0 || reads.Load() != 10 {
		t.Fatalf("stats %+v after %d reads", st, reads.Load())
	}

	// The media is fine now: the node is read and cached.
	first := load(t, c, n)
	if load(t, c, n) != first || reads.Load() != 11 {
		t.Fatalf("not cached: %d reads", reads.Load())
	}

	// A hit with another expectation fails as Decode would, and leaves
	// the entry cached.
	for _, change := range []func(*Expect){
		func(e *Expect) { e.Tree++ },
		func(e *Expect) { e.Level++ },
		func(e *Expect) { e.Gen++ },
	} {
		exp := n.exp
		change(&exp)
		_, derr := Decode(store.get(n.ptr.Addr), exp, nil)
		_, err := c.Load(n.ptr, exp, nil)
		if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), where) || !strings.Contains(err.Error(), derr.Error()) {
			t.Fatalf("hit with %+v: %v; Decode says %v", exp, err, derr)
		}
	}
	// A stale checksum is a miss, not a hit: it reads the media.
	fail(stale, ErrMismatch)
	if load(t, c, n) != first || reads.Load() != 12 {
		t.Fatalf("the entry went: %d reads", reads.Load())
	}
	checkCache(t, c)
}

// TestCacheForget: once the space of a node is reused and the node
// forgotten, its old pointer fails as the media says, and the new node is
// read.
func TestCacheForget(t *testing.T) {
	store := newMemStore()
	r := &storeReader{store: store}
	old := writeLeaf(t, store, 7, 0, 1, 100)
	c := NewCache(1<<20, r)
	load(t, c, old)
	// The same contents of a later generation (so of the same length) take
	// the old node's place.
	oldBytes := store.get(old.ptr.Addr)
	other := newMemStore()
	nw := writeLeaf(t, other, 8, 0, 1, 100)
	store.set(old.ptr.Addr, other.get(nw.ptr.Addr))
	nw.ptr.Addr = old.ptr.Addr

	load(t, c, old) // still cached: nobody said the space was reused
	c.Forget(old.ptr.Addr)
	if _, err := c.Load(old.ptr, old.exp, nil); !errors.Is(err, ErrMismatch) {
		t.Fatalf("the forgotten node: %v", err)
	}
	load(t, c, nw)
	load(t, c, nw)
	if st := c.Stats(); st.Nodes != 1 || st.Hits != 2 || r.reads.Load() != 3 {
		t.Fatalf("stats %+v after %d reads", st, r.reads.Load())
	}
	// A node read at another checksum replaces the entry at its address.
	store.set(old.ptr.Addr, oldBytes)
	load(t, c, old)
	if st := c.Stats(); st.Nodes != 1 || st.Bytes != uint64(old.cost) || r.reads.Load() != 4 {
		t.Fatalf("stats %+v after %d reads", st, r.reads.Load())
	}
	checkCache(t, c)

	// A read in flight when its node is forgotten returns what it read
	// but does not cache it: it may be the old contents.
	started, release := make(chan struct{}), make(chan struct{})
	slow := NewCache(1<<20, readerFunc(func(a Addr) ([]byte, error) {
		close(started)
		<-release
		return oldBytes, nil
	}))
	done := make(chan error)
	go func() {
		_, err := slow.Load(old.ptr, old.exp, nil)
		done <- err
	}()
	<-started
	slow.Forget(old.ptr.Addr)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := slow.Stats(); st.Nodes != 0 {
		t.Fatalf("a read in flight across a Forget was cached: %+v", st)
	}
}

// TestCacheSingleflight: concurrent Loads of a node read it once and get
// the same node; a failed read is shared by the Loads waiting for it and
// not cached.
func TestCacheSingleflight(t *testing.T) {
	for _, failing := range []bool{false, true} {
		t.Run(fmt.Sprintf("failing=%v", failing), func(t *testing.T) {
			store := newMemStore()
			n := writeLeaf(t, store, 7, 0, 4, 100)
			started, release := make(chan struct{}), make(chan struct{})
			var reads atomic.Int64
			r := readerFunc(func(a Addr) ([]byte, error) {
				if reads.Add(1) == 1 {
					close(started)
					<-release
					if failing {
						return nil, errTestRead
					}
				}
				return bytes.Clone(store.get(a)), nil
			})
			c := NewCache(1<<20, r)
			const loaders = 16
			nodes := make([]*Node, loaders)
			errs := make([]error, loaders)
			var wg sync.WaitGroup
			for i := 0; i < loaders; i++ {
				if i == 1 {
					<-started // the first Load is reading
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					nodes[i], errs[i] = c.Load(n.ptr, n.exp, nil)
				}()
			}
			// Every Load has missed: they wait for the one read.
			for deadline := time.Now().Add(10 * time.Second); c.Stats().Misses < loaders; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the loads did not start: %+v", c.Stats())
				}
			}
			close(release)
			wg.Wait()
			if reads.Load() != 1 {
				t.Fatalf("%d reads", reads.Load())
			}
			for i := range nodes {
				if failing && (nodes[i] != nil || !errors.Is(errs[i], errTestRead)) ||
					!failing && (nodes[i] != nodes[0] || nodes[i] == nil || errs[i] != nil) {
					t.Fatalf("load %d: %p, %v (the first: %p)", i, nodes[i], errs[i], nodes[0])
				}
			}
			nd := load(t, c, n)
			if st := c.Stats(); failing && (reads.Load() != 2 || st.Misses != loaders+1) || !failing && (nd != nodes[0] || reads.Load() != 1 || st.Hits != 1) {
				t.Fatalf("after: %+v, %d reads", st, reads.Load())
			}
		})
	}
}

// TestCacheReaderPanics: a panicking reader does not leave its read in
// flight for ever.
func TestCacheReaderPanics(t *testing.T) {
	store := newMemStore()
	n := writeLeaf(t, store, 7, 0, 1, 10)
	var panicky atomic.Bool
	panicky.Store(true)
	c := NewCache(1<<20, readerFunc(func(a Addr) ([]byte, error) {
		if panicky.Load() {
			panic("test: reader panics")
		}
		return bytes.Clone(store.get(a)), nil
	}))
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		c.Load(n.ptr, n.exp, nil)
	}()
	panicky.Store(false)
	load(t, c, n)
	if st := c.Stats(); st.Nodes != 1 || len(c.shards[0].flights) != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCacheBoundRandom: random loads (some mismatching) and forgets over
// many more nodes than fit, one shard and several, sequential and
// concurrent: the byte bound and the cache's structure hold after every
// operation, and every Load returns the right node.
func TestCacheBoundRandom(t *testing.T) {
	store := newMemStore()
	rng := rand.New(rand.NewPCG(3, 3))
	nodes := make([]cacheNode, 300)
	var total int64
	for i := range nodes {
		nodes[i] = writeLeaf(t, store, 7, i, 1+rng.IntN(6), rng.IntN(1200))
		total += nodes[i].cost
	}
	const limit = 48 << 10
	t.Logf("%d nodes of %d bytes (with overheads) for a cache of %d", len(nodes), total, limit)
	ops := 4000
	if simtest.RaceEnabled || testing.Short() {
		ops = 1000
	}
	op := func(t *testing.T, c *Cache, rng *rand.Rand) (loaded bool) {
		n := nodes[rng.IntN(len(nodes))]
		switch r := rng.IntN(20); {
		case r == 0:
			c.Forget(n.ptr.Addr)
			return false
		case r == 1:
			exp := n.exp
			exp.Gen++
			if _, err := c.Load(n.ptr, exp, nil); !errors.Is(err, ErrMismatch) {
				t.Errorf("a wrong generation: %v", err)
			}
		default:
			nd, err := c.Load(n.ptr, n.exp, nil)
			if err != nil || !bytes.Equal(nd.Entries[0].Key, n.key) {
				t.Errorf("load %s: %v", addrString(n.ptr.Addr), err)
			}
		}
		return true
	}
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			r := &storeReader{store: store}
			c := newCache(limit, r, shards)
			var loads uint64
			for i := 0; i < ops; i++ {
				if op(t, c, rng) {
					loads++
				}
				checkCache(t, c)
			}
			var wg sync.WaitGroup
			var cloads atomic.Uint64
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(g), 7))
					for i := 0; i < ops/4; i++ {
						if op(t, c, rng) {
							cloads.Add(1)
						}
						if st := c.Stats(); st.Bytes > st.Limit {
							t.Errorf("%d bytes cached, above the limit of %d", st.Bytes, st.Limit)
							return
						}
					}
				}()
			}
			wg.Wait()
			checkCache(t, c)
			st := c.Stats()
			if st.Hits+st.Misses != loads+cloads.Load() || st.Evictions == 0 || st.Hits == 0 {
				t.Fatalf("stats %+v for %d loads", st, loads+cloads.Load())
			}
			t.Logf("%+v, %d reads", st, r.reads.Load())
		})
	}
}

// TestCacheTree: trees several MiB large, flushed into a store and read
// back through a cache of 64 KiB, shared by two trees of different
// orders, behave as their models, pass Check, and serve concurrent
// readers, the cache staying within its bound all along.
func TestCacheTree(t *testing.T) {
	store := newMemStore()
	r := &storeReader{store: store}
	const limit = 64 << 10
	c := NewCache(limit, r)
	tr := New(9, nil, c)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(9, 9)), bigVals: true}
	fill(t, tr, m, g, 4000, 6000)
	var root Root
	for gen := uint64(1); gen <= 3; gen++ {
		if gen > 1 {
			churn(t, tr, m, g, 400, 6000)
		}
		var err error
		if root, err = tr.Flush(store, gen); err != nil {
			t.Fatal(err)
		}
		same(t, tr.Snapshot(), m)
		mustCheck(t, tr)
		checkCache(t, c)
	}
	if st := tr.Stats(); st.Bytes < 3<<20 {
		t.Fatalf("a tree of %d bytes is too small for this test", st.Bytes)
	}
	re, err := Open(9, nil, c, root)
	if err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), m)
	mustCheck(t, re)
	for i := 0; i < 50; i++ {
		seekCheck(t, re.Snapshot(), m, g.key(g.rng.IntN(6000)), g.rng)
	}
	checkCache(t, c)

	// Another tree, of the reverse order, in the same store and cache.
	tr2 := New(10, reverse, c)
	m2 := newModel(reverse)
	fill(t, tr2, m2, g, 1000, 1500)
	if _, err := tr2.Flush(store, 1); err != nil {
		t.Fatal(err)
	}
	same(t, tr2.Snapshot(), m2)
	mustCheck(t, tr2)

	// Concurrent readers of both.
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			gk := &gen{}
			for i := 0; i < 150; i++ {
				tree, mod, k := re, m, gk.key(rng.IntN(6000))
				if i%3 == 0 {
					tree, mod, k = tr2, m2, gk.key(rng.IntN(1500))
				}
				v, found, err := tree.Get(k)
				want, ok := mod.vals[string(k)]
				if err != nil || found != ok || !bytes.Equal(v, want) {
					t.Errorf("get %s from tree %d: %v %v", keyString(k), tree.ID(), found, err)
					return
				}
				if st := c.Stats(); st.Bytes > st.Limit {
					t.Errorf("%d bytes cached, above the limit of %d", st.Bytes, st.Limit)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkCache(t, c)
	st := c.Stats()
	if st.Evictions == 0 || st.Bytes > limit {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("a tree of %+v (%d bytes of nodes written in all) through a cache of %d: %+v, %d reads", re.Stats(), store.next, limit, st, r.reads.Load())
}

// BenchmarkCacheHitParallel: Loads from all Ps, every one a hit, of random
// nodes among 4096 (what the lower levels of trees see) and of one node
// (a root, which every lookup goes through), with one shard and with the
// shards NewCache chooses for a large cache.
func BenchmarkCacheHitParallel(b *testing.B) {
	store := newMemStore()
	nodes := make([]cacheNode, 4096)
	for i := range nodes {
		nodes[i] = writeLeaf(b, store, 7, i, 2, 64)
	}
	const limit = 512 << 20
	for _, shards := range []int{1, shardsFor(limit)} {
		for _, pattern := range []string{"random", "one"} {
			b.Run(fmt.Sprintf("shards=%d/%s", shards, pattern), func(b *testing.B) {
				r := &storeReader{store: store}
				c := newCache(limit, r, shards)
				for _, n := range nodes {
					load(b, c, n)
				}
				var seed atomic.Uint64
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					rng := rand.New(rand.NewPCG(seed.Add(1), 1))
					for pb.Next() {
						n := &nodes[0]
						if pattern == "random" {
							n = &nodes[rng.IntN(len(nodes))]
						}
						if _, err := c.Load(n.ptr, n.exp, nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
				if r.reads.Load() != int64(len(nodes)) {
					b.Fatalf("%d reads: not all hits", r.reads.Load())
				}
			})
		}
	}
}
