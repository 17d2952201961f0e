package btree

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// storeEnd returns the offset past the last node written to store.
func storeEnd(store *memStore) uint64 {
	store.mu.RLock()
	defer store.mu.RUnlock()
	return store.next
}

// inRange matches the addresses in [lo, hi): a segment, as the cleaner
// would pick one.
func inRange(lo, hi uint64) func(Addr) bool {
	return func(a Addr) bool { return a.Off >= lo && a.Off < hi }
}

// redirtyRange redirties a random range of the store's addresses and
// checks it: the count is the number of matching nodes the tree reached
// on the media, which it no longer does; content and Stats are unchanged.
// It returns the count.
func redirtyRange(t testing.TB, tr *Tree, store *memStore, rng *rand.Rand) int {
	t.Helper()
	end := storeEnd(store)
	if end == 0 {
		return 0
	}
	lo := rng.Uint64N(end)
	hi := lo + rng.Uint64N(end-lo) + 1
	match := inRange(lo, hi)
	before := tr.Snapshot()
	want := 0
	for a := range mediaNodes(t, before) {
		if match(a) {
			want++
		}
	}
	n, err := tr.Redirty(match)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("redirty [%d, %d): %d nodes, %d matching on the media", lo, hi, n, want)
	}
	after := tr.Snapshot()
	if n == 0 && after != before {
		t.Fatal("a redirty matching nothing published a new root")
	}
	if after.Stats() != before.Stats() {
		t.Fatalf("redirty changed the Stats from %+v to %+v", before.Stats(), after.Stats())
	}
	for a := range mediaNodes(t, after) {
		if match(a) {
			t.Fatalf("after redirty [%d, %d), the tree still reaches %s", lo, hi, addrString(a))
		}
	}
	return n
}

// TestRedirty: Redirty copies the matching nodes (and their ancestors)
// into memory, reading only internal nodes and matching leaves; content,
// Stats and older snapshots stay; after a flush no node in the range is
// reached, and the freed pointers account for exactly the nodes copied.
func TestRedirty(t *testing.T) {
	forEachSeed(t, 4, func(t *testing.T, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 0x4ed1))
		g := &gen{rng: rng, bigKeys: true}
		store := newMemStore()
		id := 50 + seed
		tr := New(id, nil, store)
		m := newModel(nil)
		led := newLedger()
		rec := &addrWriter{NodeWriter: store}
		var ckpt uint64
		flush := func() Root {
			t.Helper()
			ckpt++
			rec.addrs = nil
			wr, err := tr.WriteNodes(rec, ckpt)
			if err != nil {
				t.Fatal(err)
			}
			wr.Drop()
			led.commit(t, rec.addrs, wr.Freed())
			led.verify(t, id, nil, store, wr.Root())
			return wr.Root()
		}
		// Nodes of several generations, spread over the store.
		fill(t, tr, m, g, 1500, 2000)
		flush()
		for i := 0; i < 3; i++ {
			churn(t, tr, m, g, 150, 2000)
			flush()
		}
		churn(t, tr, m, g, 40, 2000) // some nodes in memory too

		end := storeEnd(store)
		lo := rng.Uint64N(end / 2)
		match := inRange(lo, lo+end/4)
		old := tr.Snapshot()
		oldModel := m.clone()
		reach := mediaNodes(t, old)
		var internal, matchLeaves, matching int
		for a, level := range reach {
			if level > 0 {
				internal++
			}
			if match(a) {
				matching++
				if level == 0 {
					matchLeaves++
				}
			}
		}
		if matching == 0 {
			t.Fatal("no node in the range: the test does not test")
		}
		freedBefore := freedLen(tr)
		loads := store.loads.Load()
		n, err := tr.Redirty(match)
		if err != nil {
			t.Fatal(err)
		}
		if got := int(store.loads.Load() - loads); n != matching || got != internal+matchLeaves {
			t.Fatalf("redirtied %d of %d matching nodes, with %d loads (want %d internal and %d matching leaves)", n, matching, got, internal, matchLeaves)
		}
		// Every node copied is freed: the matching ones and the
		// ancestors on the media, which a flush writes anew.
		tr.mu.Lock()
		freed := clone(tr.freed[freedBefore:])
		tr.mu.Unlock()
		after := mediaNodes(t, tr.Snapshot())
		if len(freed)+len(after) != len(reach) {
			t.Fatalf("%d nodes on the media before, %d after, %d freed", len(reach), len(after), len(freed))
		}
		for _, p := range freed {
			if _, ok := reach[p.Addr]; !ok {
				t.Fatalf("freed %s, which the tree did not reach", addrString(p.Addr))
			}
			if _, ok := after[p.Addr]; ok {
				t.Fatalf("freed %s, which the tree still reaches", addrString(p.Addr))
			}
		}
		if tr.Stats() != old.Stats() {
			t.Fatalf("Stats %+v, before %+v", tr.Stats(), old.Stats())
		}
		same(t, tr.Snapshot(), m)
		mustCheck(t, tr)
		same(t, old, oldModel)
		mustCheck(t, old)

		root := flush()
		for a := range mediaNodes(t, tr.Snapshot()) {
			if match(a) {
				t.Fatalf("after the flush the tree reaches %s, in the range", addrString(a))
			}
		}
		re, err := Open(id, nil, store, root)
		if err != nil {
			t.Fatal(err)
		}
		same(t, re.Snapshot(), m)
		mustCheck(t, re)

		// Nothing left in the range: nothing done.
		s := tr.Snapshot()
		if n, err := tr.Redirty(match); n != 0 || err != nil || tr.Snapshot() != s {
			t.Fatalf("a second redirty of the range: %d, %v", n, err)
		}
		// Everything: the whole tree is written anew.
		all := mediaNodes(t, s)
		if n, err := tr.Redirty(func(Addr) bool { return true }); n != len(all) || err != nil {
			t.Fatalf("redirty of every node: %d of %d, %v", n, len(all), err)
		}
		if len(mediaNodes(t, tr.Snapshot())) != 0 {
			t.Fatal("nodes left on the media after a redirty of everything")
		}
		flush()
		for a := range mediaNodes(t, tr.Snapshot()) {
			if _, ok := all[a]; ok {
				t.Fatalf("%s survived a redirty of everything", addrString(a))
			}
		}
		same(t, tr.Snapshot(), m)
		mustCheck(t, tr)
	})
}

// TestRedirtyEdges: empty and in-memory trees have nothing to redirty; a
// node that cannot be read stops Redirty and leaves the tree as it was.
func TestRedirtyEdges(t *testing.T) {
	all := func(Addr) bool { return true }
	if n, err := New(60, nil, nil).Redirty(all); n != 0 || err != nil {
		t.Fatalf("empty tree: %d, %v", n, err)
	}
	if _, err := New(60, nil, nil).Redirty(nil); err == nil {
		t.Fatal("redirty without a matcher")
	}
	store := newMemStore()
	tr := New(60, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(60, 60)), bigKeys: true}
	fill(t, tr, m, g, 1500, 1500)
	s := tr.Snapshot()
	if n, err := tr.Redirty(all); n != 0 || err != nil || tr.Snapshot() != s || store.loads.Load() != 0 {
		t.Fatalf("a tree in memory: %d, %v, %d loads", n, err, store.loads.Load())
	}
	if _, err := tr.Flush(store, 1); err != nil {
		t.Fatal(err)
	}

	// The root alone.
	s = tr.Snapshot()
	if n, err := tr.Redirty(func(a Addr) bool { return a == s.ptr.Addr }); n != 1 || err != nil || tr.Snapshot().root == nil {
		t.Fatalf("redirty of the root: %d, %v", n, err)
	}
	if freedLen(tr) != 1 {
		t.Fatalf("%d freed for the root alone", freedLen(tr))
	}
	mustCheck(t, tr)
	if _, err := tr.Flush(store, 2); err != nil {
		t.Fatal(err)
	}

	// A damaged internal node.
	root, err := tr.Snapshot().rootNode()
	if err != nil || root.level < 2 {
		t.Fatalf("root level %d, %v", root.level, err)
	}
	victim := root.children[len(root.children)-1].Ptr
	good := store.get(victim.Addr)
	bad := clone(good)
	bad[len(bad)/2] ^= 1
	store.set(victim.Addr, bad)
	s, freed := tr.Snapshot(), freedLen(tr)
	if n, err := tr.Redirty(all); n != 0 || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("redirty over a corrupt node: %d, %v", n, err)
	}
	if tr.Snapshot() != s || freedLen(tr) != freed {
		t.Fatal("a failed redirty changed the tree")
	}
	store.set(victim.Addr, good)
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
}
