package btree

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// fill puts n random entries into tr and m.
func fill(t testing.TB, tr *Tree, m *model, g *gen, n, universe int) {
	t.Helper()
	for i := 0; i < n; i++ {
		k, v := g.key(g.rng.IntN(universe)), g.value()
		if err := tr.Put(k, v); err != nil {
			t.Fatal(err)
		}
		m.put(k, v)
	}
}

// churn makes n random puts and deletes.
func churn(t testing.TB, tr *Tree, m *model, g *gen, n, universe int) {
	t.Helper()
	for i := 0; i < n; i++ {
		k := g.key(g.rng.IntN(universe))
		if g.rng.IntN(2) == 0 {
			v := g.value()
			if err := tr.Put(k, v); err != nil {
				t.Fatal(err)
			}
			m.put(k, v)
			continue
		}
		existed, err := tr.Delete(k)
		if err != nil || existed != m.del(k) {
			t.Fatalf("delete %s: %v %v", keyString(k), existed, err)
		}
	}
}

// TestFlushCycles: flush, change, flush again, several times; after each
// flush nothing stays in memory and the tree reads back from the store;
// every root flushed reopens to the state it was flushed in.
func TestFlushCycles(t *testing.T) {
	store := newMemStore()
	tr := New(5, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(5, 5)), bigVals: true}
	type flushed struct {
		root Root
		m    *model
	}
	var roots []flushed
	fill(t, tr, m, g, 2000, 3000)
	for gen := uint64(1); gen <= 6; gen++ {
		root, err := tr.Flush(store, gen)
		if err != nil {
			t.Fatal(err)
		}
		if root.Ptr.Gen != gen || root.Stats != tr.Stats() {
			t.Fatalf("flush %d: root %+v, stats %+v", gen, root, tr.Stats())
		}
		if tr.Snapshot().root != nil {
			t.Fatal("nodes left in memory after a flush")
		}
		same(t, tr.Snapshot(), m)
		mustCheck(t, tr)
		roots = append(roots, flushed{root, m.clone()})
		churn(t, tr, m, g, 300*int(gen), 3000)
	}
	for i, f := range roots {
		re, err := Open(5, nil, store, f.root)
		if err != nil {
			t.Fatalf("reopen flush %d: %v", i+1, err)
		}
		same(t, re.Snapshot(), f.m)
		mustCheck(t, re)
	}
	mustCheck(t, tr)
}

// TestFlushWritesOnlyChanges: a flush writes the nodes changed since the
// last one (a path, for one changed value), children before parents, and
// nothing when nothing changed.
func TestFlushWritesOnlyChanges(t *testing.T) {
	store := newMemStore()
	tr := New(6, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(6, 6)), bigKeys: true}
	fill(t, tr, m, g, 1500, 1500)
	root, err := tr.Flush(store, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := store.writes
	again, err := tr.Flush(store, 2)
	if err != nil || again != root || store.writes != before {
		t.Fatalf("a flush with nothing changed wrote %d nodes, root %+v then %+v, err %v", store.writes-before, root, again, err)
	}
	// Another value of the same size: no split, no merge: one path.
	var k []byte
	for _, k = range m.keys[len(m.keys)/2:] {
		if len(m.vals[string(k)]) > 0 {
			break
		}
	}
	nv := bytes.Clone(m.vals[string(k)])
	nv[0] ^= 0xff
	if err := tr.Put(k, nv); err != nil {
		t.Fatal(err)
	}
	m.put(k, nv)
	h := tr.Stats().Height
	rec := &recordingWriter{NodeWriter: store}
	root3, err := tr.Flush(rec, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.levels) != h {
		t.Fatalf("one changed value in a tree of height %d: %d nodes written", h, len(rec.levels))
	}
	for i, l := range rec.levels {
		if int(l) != i {
			t.Fatalf("nodes written at levels %v: not children first", rec.levels)
		}
	}
	re, err := Open(6, nil, store, root3)
	if err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), m)
	mustCheck(t, re)
	mustCheck(t, tr)
}

type recordingWriter struct {
	NodeWriter
	levels []uint8
}

func (r *recordingWriter) Write(b []byte) (Addr, error) {
	r.levels = append(r.levels, b[5])
	return r.NodeWriter.Write(b)
}

func TestFlushErrors(t *testing.T) {
	store := newMemStore()
	tr := New(7, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(7, 7)), bigVals: true}
	fill(t, tr, m, g, 500, 1000)
	if _, err := tr.Flush(store, 5); err != nil {
		t.Fatal(err)
	}
	churn(t, tr, m, g, 100, 1000)
	if _, err := tr.Flush(store, 4); err == nil || !strings.Contains(err.Error(), "older") {
		t.Fatalf("flush with an older generation: %v", err)
	}

	// A writer failing half way: the tree keeps its nodes in memory,
	// unchanged, and a retry succeeds.
	store.failAfter = store.writes + 3
	before := tr.Snapshot()
	if _, err := tr.Flush(store, 6); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("flush through a failing writer: %v", err)
	}
	if tr.Snapshot() != before {
		t.Fatal("a failed flush changed the tree")
	}
	same(t, tr.Snapshot(), m)
	store.failAfter = -1
	root, err := tr.Flush(store, 6)
	if err != nil {
		t.Fatal(err)
	}
	re, err := Open(7, nil, store, root)
	if err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), m)
	mustCheck(t, re)

	// A writer that misreports the length.
	if err := tr.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Flush(lyingWriter{store}, 7); err == nil || !strings.Contains(err.Error(), "the writer says") {
		t.Fatalf("flush through a lying writer: %v", err)
	}
	// No loader: nothing could be read back.
	if _, err := New(8, nil, nil).Flush(store, 1); err == nil {
		t.Fatal("flushed a tree without a loader")
	}
	mustCheck(t, tr)
}

type lyingWriter struct{ *memStore }

func (w lyingWriter) Write(b []byte) (Addr, error) {
	a, err := w.memStore.Write(b)
	a.Len++
	return a, err
}

// TestFlushConcurrentWrites: writers go on during a flush; the flushed
// root is the state when the flush began, and the tree keeps the changes
// made meanwhile (in memory, for the next flush).
func TestFlushConcurrentWrites(t *testing.T) {
	store := newMemStore()
	tr := New(9, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(9, 9)), bigKeys: true}
	fill(t, tr, m, g, 1500, 2000)
	if _, err := tr.Flush(store, 1); err != nil {
		t.Fatal(err)
	}
	churn(t, tr, m, g, 400, 2000)
	atFlush := m.clone()

	started, resume := make(chan struct{}), make(chan struct{})
	w := &pausingWriter{NodeWriter: store, started: started, resume: resume}
	var root Root
	var ferr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		root, ferr = tr.Flush(w, 2)
	}()
	<-started
	churn(t, tr, m, g, 400, 2000) // the flush holds no lock while it writes
	close(resume)
	<-done
	if ferr != nil {
		t.Fatal(ferr)
	}
	re, err := Open(9, nil, store, root)
	if err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), atFlush)
	mustCheck(t, re)
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)

	// The next flush writes what changed meanwhile, and the tree is all
	// on the media again.
	root, err = tr.Flush(store, 3)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Snapshot().root != nil {
		t.Fatal("nodes left in memory")
	}
	if re, err = Open(9, nil, store, root); err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), m)
	mustCheck(t, re)
}

// pausingWriter stops at its first write until resume is closed.
type pausingWriter struct {
	NodeWriter
	once            sync.Once
	started, resume chan struct{}
}

func (w *pausingWriter) Write(b []byte) (Addr, error) {
	w.once.Do(func() {
		close(w.started)
		<-w.resume
	})
	return w.NodeWriter.Write(b)
}

// TestDamagedNodes: a node whose bytes are corrupt, or whose address holds
// another node (a misdirected or lost write) or an older version of it (a
// stale one), is never read as data: reads, iterators, writes and Check
// fail with ErrCorrupt or ErrMismatch, and the tree stays as it was.
func TestDamagedNodes(t *testing.T) {
	store := newMemStore()
	tr := New(10, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(10, 10)), bigVals: true}
	fill(t, tr, m, g, 600, 600)
	old, err := tr.Flush(store, 1)
	if err != nil {
		t.Fatal(err)
	}
	oldLeaves := leafPtrs(t, tr.Snapshot())
	churn(t, tr, m, g, 2000, 600)
	if _, err := tr.Flush(store, 2); err != nil {
		t.Fatal(err)
	}
	s := tr.Snapshot()
	if s.stats.Height != 2 {
		t.Fatalf("height %d, the test wants 2", s.stats.Height)
	}
	leaves := leafPtrs(t, s)
	victim, other := leaves[len(leaves)/2], leaves[len(leaves)/2+1]
	if victim.Gen != 2 {
		t.Fatalf("the victim leaf is of generation %d", victim.Gen)
	}
	vn, err := tr.load(victim, 0)
	if err != nil {
		t.Fatal(err)
	}
	inVictim := bytes.Clone(vn.entries[0].Key)
	good := store.get(victim.Addr)

	// The stale version: the leaf that held the victim's range in the
	// first flush.
	oldRoot, err := tr.load(old.Ptr, 1)
	if err != nil {
		t.Fatal(err)
	}
	staleBytes := store.get(oldLeaves[childIndex(bytes.Compare, oldRoot.children, inVictim)].Addr)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 0x10
	for _, c := range []struct {
		name  string
		bytes []byte
		want  error
	}{
		{"corrupt", corrupt, ErrCorrupt},
		{"misdirected", store.get(other.Addr), ErrMismatch},
		{"stale", staleBytes, ErrMismatch},
	} {
		if c.bytes == nil {
			t.Fatalf("%s: no bytes to put in place (the test's tree changed shape)", c.name)
		}
		store.set(victim.Addr, c.bytes)
		if _, _, err := tr.Get(inVictim); !errors.Is(err, c.want) {
			t.Errorf("%s: get: %v, want %v", c.name, err, c.want)
		}
		it := tr.Iter()
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			n++
		}
		if !errors.Is(it.Err(), c.want) || n >= len(m.keys) {
			t.Errorf("%s: iterated over %d of %d entries, err %v", c.name, n, len(m.keys), it.Err())
		}
		if err := tr.Check(); !errors.Is(err, c.want) || !strings.Contains(err.Error(), "node root/") {
			t.Errorf("%s: check: %v", c.name, err)
		}
		before := tr.Snapshot()
		if _, err := tr.Delete(inVictim); !errors.Is(err, c.want) {
			t.Errorf("%s: delete: %v", c.name, err)
		}
		if tr.Snapshot() != before {
			t.Errorf("%s: a failed change changed the tree", c.name)
		}
	}
	// A put does not read its leaf: it is buffered (buffered.go), and
	// the flush that merges it into the leaf finds the damage, and
	// leaves the tree as it was.
	if err := tr.Put(inVictim, []byte("new")); err != nil {
		t.Fatalf("a put buffered over a stale leaf: %v", err)
	}
	m.put(inVictim, []byte("new"))
	// And one over a sound leaf, so that the flush reads the bases
	// ahead (prefetch.go) and the damage comes through the read-ahead.
	on, err := tr.load(other, 0)
	if err != nil {
		t.Fatal(err)
	}
	inOther := bytes.Clone(on.entries[0].Key)
	if err := tr.Put(inOther, []byte("other")); err != nil {
		t.Fatal(err)
	}
	m.put(inOther, []byte("other"))
	if v, _, err := tr.Get(inVictim); err != nil || string(v) != "new" {
		t.Errorf("get of the buffered put: %q, %v", v, err)
	}
	if _, _, err := tr.Get(vn.entries[1].Key); !errors.Is(err, ErrMismatch) {
		t.Errorf("get of another key of the stale leaf: %v", err)
	}
	before := tr.Snapshot()
	if _, err := tr.Flush(store, 2); !errors.Is(err, ErrMismatch) {
		t.Errorf("flush of a put buffered over a stale leaf: %v", err)
	}
	if tr.Snapshot() != before {
		t.Errorf("a failed flush changed the tree")
	}
	store.set(victim.Addr, good)
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)

	// Open checks the root against the pointer and the tree id.
	root, err := tr.Flush(store, 2)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		id   uint64
		root Root
	}{
		"other tree":       {11, root},
		"other generation": {10, Root{Ptr: Ptr{Addr: root.Ptr.Addr, Sum: root.Ptr.Sum, Gen: 1}, Stats: root.Stats}},
		"old root here":    {10, Root{Ptr: Ptr{Addr: root.Ptr.Addr, Sum: old.Ptr.Sum, Gen: 1}, Stats: root.Stats}},
		"other level":      {10, Root{Ptr: root.Ptr, Stats: Stats{Height: 3, Entries: 1}}},
	} {
		if _, err := Open(c.id, nil, store, c.root); !errors.Is(err, ErrMismatch) {
			t.Errorf("open, %s: %v", name, err)
		}
	}
	if _, err := Open(10, nil, store, Root{Ptr: Ptr{Addr: Addr{Set: 9}}, Stats: root.Stats}); err == nil {
		t.Error("opened a root that is not there")
	}
	if _, err := Open(10, nil, store, Root{Ptr: root.Ptr}); !errors.Is(err, ErrInconsistent) {
		t.Errorf("opened an empty root with a pointer: %v", err)
	}
}

// leafPtrs returns the pointers to the leaves of a flushed tree of height
// 2.
func leafPtrs(t *testing.T, s *Snapshot) []Ptr {
	t.Helper()
	root, err := s.rootNode()
	if err != nil || root.level != 1 {
		t.Fatalf("root: level %d, %v", root.level, err)
	}
	var ps []Ptr
	for _, c := range root.children {
		ps = append(ps, c.Ptr)
	}
	return ps
}

// TestFaultyLoader: a loader that hands back the wrong node (as a buggy
// cache could) is caught by the tree's own checks, without a panic.
func TestFaultyLoader(t *testing.T) {
	store := newMemStore()
	tr := New(12, nil, store)
	m := newModel(nil)
	fill(t, tr, m, &gen{rng: rand.New(rand.NewPCG(12, 12)), bigVals: true}, 300, 300)
	root, err := tr.Flush(store, 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(*Node) *Node{
		"nil":             func(*Node) *Node { return nil },
		"leaf for a node": func(n *Node) *Node { return &Node{Tree: n.Tree, Gen: n.Gen} },
		"other level":     func(n *Node) *Node { c := *n; c.Level++; return &c },
		"no children":     func(n *Node) *Node { c := *n; c.Children = nil; return &c },
	} {
		tr, err := Open(12, nil, faultyLoader{store, f}, root)
		if err == nil {
			_, _, err = tr.Get(m.keys[0])
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: %v", name, err)
		}
	}
	mustCheck(t, tr)
}

type faultyLoader struct {
	*memStore
	f func(*Node) *Node
}

func (l faultyLoader) Load(p Ptr, exp Expect, cmp Compare) (*Node, error) {
	n, err := l.memStore.Load(p, exp, cmp)
	if err != nil {
		return nil, err
	}
	return l.f(n), nil
}

// TestWriteNodesWithoutDrop: until Drop, the tree keeps its nodes in
// memory: a checkpoint that fails after writing loses nothing, and the
// next one writes the same nodes again.
func TestWriteNodesWithoutDrop(t *testing.T) {
	store := newMemStore()
	tr := New(13, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(13, 13)), bigVals: true}
	fill(t, tr, m, g, 800, 1000)
	first, err := tr.WriteNodes(store, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := store.writes
	if tr.Snapshot().root == nil {
		t.Fatal("WriteNodes dropped the nodes")
	}
	// The checkpoint of generation 1 failed: its nodes vanish.
	for a := range store.nodes {
		store.set(a, nil)
	}
	same(t, tr.Snapshot(), m)
	second, err := tr.WriteNodes(store, 2)
	if err != nil {
		t.Fatal(err)
	}
	if store.writes != 2*n {
		t.Fatalf("the second attempt wrote %d nodes, the first %d", store.writes-n, n)
	}
	second.Drop()
	second.Drop()
	first.Drop() // finds nothing: the tree holds no node the first wrote
	if tr.Snapshot().root != nil {
		t.Fatal("nodes left in memory after Drop")
	}
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
	re, err := Open(13, nil, store, second.Root())
	if err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), m)
	mustCheck(t, re)
}
