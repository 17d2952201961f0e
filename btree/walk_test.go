package btree

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestWalk: Walk reports every node on the media once, with its level,
// children before their parent, and not the nodes in memory; it reads the
// internal nodes on the media and no leaf.
func TestWalk(t *testing.T) {
	store := newMemStore()
	tr := New(40, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(40, 40)), bigKeys: true}
	fill(t, tr, m, g, 1500, 1500)

	// Never flushed: nothing on the media, nothing read.
	if got := mediaNodes(t, tr.Snapshot()); len(got) != 0 || store.loads.Load() != 0 {
		t.Fatalf("a tree in memory: %d nodes reported, %d loads", len(got), store.loads.Load())
	}
	if _, err := tr.Flush(store, 1); err != nil {
		t.Fatal(err)
	}

	type visit struct {
		p     Ptr
		level uint8
	}
	walk := func(s *Snapshot) []visit {
		var vs []visit
		if err := s.Walk(func(p Ptr, level uint8) error {
			vs = append(vs, visit{p, level})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return vs
	}
	// All on the media: every node, the counts of the Stats, children
	// first, only internal nodes read.
	s := tr.Snapshot()
	st := s.Stats()
	loads := store.loads.Load()
	vs := walk(s)
	if n := store.loads.Load() - loads; uint64(n) != st.Internal {
		t.Fatalf("%d loads for %d internal nodes", n, st.Internal)
	}
	var leaves, internal uint64
	pos := make(map[Addr]int)
	for i, v := range vs {
		if _, ok := pos[v.p.Addr]; ok {
			t.Fatalf("%s reported twice", addrString(v.p.Addr))
		}
		pos[v.p.Addr] = i
		if v.level == 0 {
			leaves++
		} else {
			internal++
		}
	}
	if leaves != st.Leaves || internal != st.Internal {
		t.Fatalf("%d leaves and %d internal nodes reported, the Stats say %+v", leaves, internal, st)
	}
	if last := vs[len(vs)-1]; last.p != s.ptr || int(last.level) != st.Height-1 {
		t.Fatalf("the last node reported is %+v, not the root %+v", last, s.ptr)
	}
	for i, v := range vs {
		if v.level == 0 {
			continue
		}
		n, err := tr.load(v.p, v.level)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range n.children {
			if j, ok := pos[c.Ptr.Addr]; !ok || j >= i || vs[j].p != c.Ptr || vs[j].level != v.level-1 {
				t.Fatalf("child %s of the level %d node at %s: reported at %d (%v), the parent at %d", addrString(c.Ptr.Addr), v.level, addrString(v.p.Addr), j, ok, i)
			}
		}
	}

	// Some changes in memory: the nodes they replaced are no longer
	// reported, the new ones are not either (they are in memory), the
	// rest are.
	churn(t, tr, m, g, 30, 1500)
	s2 := tr.Snapshot()
	got := mediaNodes(t, s2)
	tr.mu.Lock()
	freed := clone(tr.freed)
	tr.mu.Unlock()
	if len(got)+len(freed) != len(vs) {
		t.Fatalf("%d nodes reported after the changes, %d freed, %d before", len(got), len(freed), len(vs))
	}
	for _, p := range freed {
		if _, ok := got[p.Addr]; ok {
			t.Fatalf("freed %s still reported", addrString(p.Addr))
		}
	}
	// The snapshot taken before still reaches them all.
	if again := walk(s); len(again) != len(vs) {
		t.Fatalf("the old snapshot reports %d nodes, %d before", len(again), len(vs))
	}
	same(t, s2, m)
	mustCheck(t, tr)
}

// TestWalkErrors: an error from fn, or reading a node, stops the walk and
// comes back wrapped, naming the node; an empty tree calls nothing.
func TestWalkErrors(t *testing.T) {
	calls := 0
	count := func(Ptr, uint8) error { calls++; return nil }
	if err := New(41, nil, nil).Snapshot().Walk(count); err != nil || calls != 0 {
		t.Fatalf("empty tree: %d calls, %v", calls, err)
	}
	if err := New(41, nil, nil).Snapshot().Walk(nil); err == nil {
		t.Fatal("a walk without a function")
	}

	store := newMemStore()
	tr := New(41, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(41, 41)), bigKeys: true}
	fill(t, tr, m, g, 1500, 1500)
	if _, err := tr.Flush(store, 1); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop here")
	calls = 0
	err := tr.Snapshot().Walk(func(Ptr, uint8) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 || !strings.Contains(err.Error(), "node root/0/") {
		t.Fatalf("fn failing: %d calls, %v", calls, err)
	}

	// A damaged internal node below the root.
	root, err := tr.Snapshot().rootNode()
	if err != nil || root.level < 2 {
		t.Fatalf("root level %d, %v", root.level, err)
	}
	victim := root.children[1].Ptr
	good := store.get(victim.Addr)
	bad := clone(good)
	bad[len(bad)/2] ^= 1
	store.set(victim.Addr, bad)
	calls = 0
	err = tr.Snapshot().Walk(count)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "node root/1:") {
		t.Fatalf("a corrupt node: %v", err)
	}
	store.set(victim.Addr, good)
	if err := tr.Snapshot().Walk(count); err != nil {
		t.Fatal(err)
	}
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
}
