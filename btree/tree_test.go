package btree

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestRandomOps runs random puts, deletes, gets and seeks both ways
// against a sorted-map model, in phases of growth and shrinkage so that
// nodes split and merge at every level and the root grows and collapses;
// with keys and values of mixed sizes up to the limits, in the default
// order or in reverse, held in memory or (every other seed) flushed every
// few hundred operations and sometimes reopened, so that changes also run
// over nodes on the media. Snapshots taken on the way must not change.
//
//	go test ./btree/ -run TestRandomOps -btree.seeds=200   more seeds
//	go test ./btree/ -run TestRandomOps -btree.seed=7 -v   one seed
func TestRandomOps(t *testing.T) {
	forEachSeed(t, 16, runModel)
}

func runModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	g := &gen{rng: rng, bigKeys: seed%3 == 1, bigVals: seed%3 == 2}
	var cmp Compare
	if seed%4 == 3 {
		cmp = reverse
	}
	flushEvery := 0
	if seed%2 == 0 {
		flushEvery = 100 + rng.IntN(400)
	}
	store := newMemStore()
	tr := New(seed, cmp, store)
	m := newModel(cmp)
	const phase, universe = 4000, 3500
	// Grow, shrink, grow, and stop halfway through shrinking.
	ops := 3*phase + phase/2
	if testing.Short() {
		ops = phase + phase/2
	}
	type saved struct {
		s *Snapshot
		m *model
		i int
	}
	var (
		snaps      []saved
		gen        uint64 = 1
		maxHeight  int
		shrunkFrom int // the height a shrink phase started from
	)
	checkSaved := func() {
		for _, sv := range snaps {
			same(t, sv.s, sv.m)
			mustCheck(t, sv.s)
		}
	}
	for i := 0; i < ops; i++ {
		growing := (i/phase)%2 == 0
		if i%phase == 0 && !growing {
			shrunkFrom = tr.Stats().Height
		}
		if i%phase == phase-1 && !growing && tr.Stats().Height >= shrunkFrom && shrunkFrom > 1 {
			t.Fatalf("op %d: a shrink phase from height %d ended at %d (%+v)", i, shrunkFrom, tr.Stats().Height, tr.Stats())
		}
		r := rng.IntN(100)
		switch {
		case growing && r < 70 || !growing && r < 15:
			k, v := g.key(rng.IntN(universe)), g.value()
			if err := tr.Put(k, v); err != nil {
				t.Fatalf("op %d: put %s: %v", i, keyString(k), err)
			}
			m.put(k, v)
		case r < 85:
			k := g.key(rng.IntN(universe))
			if !growing && len(m.keys) > 0 {
				k = m.keys[rng.IntN(len(m.keys))]
			}
			existed, err := tr.Delete(k)
			if err != nil || existed != m.del(k) {
				t.Fatalf("op %d: delete %s: existed %v, err %v; the model disagrees", i, keyString(k), existed, err)
			}
		default:
			k := g.key(rng.IntN(universe))
			v, found, err := tr.Get(k)
			want, ok := m.vals[string(k)]
			if err != nil || found != ok || !bytes.Equal(v, want) {
				t.Fatalf("op %d: get %s: %d bytes, found %v, err %v; want %d bytes, found %v", i, keyString(k), len(v), found, err, len(want), ok)
			}
		}
		maxHeight = max(maxHeight, tr.Stats().Height)
		if i%40 == 0 {
			probe := g.key(rng.IntN(universe + 2))
			switch rng.IntN(3) {
			case 0:
				probe = probe[:7] // sorts next to the key, not equal to it
			case 1:
				probe = append(probe, 0)
			}
			seekCheck(t, tr.Snapshot(), m, probe, rng)
		}
		if flushEvery > 0 && i%flushEvery == flushEvery-1 {
			root, err := tr.Flush(store, gen)
			if err != nil {
				t.Fatalf("op %d: flush: %v", i, err)
			}
			gen++
			if s := tr.Snapshot(); s.root != nil {
				t.Fatalf("op %d: nodes left in memory after a flush with no writer about", i)
			}
			if rng.IntN(3) == 0 {
				if tr, err = Open(seed, cmp, store, root); err != nil {
					t.Fatalf("op %d: reopen: %v", i, err)
				}
			}
		}
		if i%500 == 250 {
			same(t, tr.Snapshot(), m)
			mustCheck(t, tr)
		}
		if i%700 == 0 {
			snaps = append(snaps, saved{tr.Snapshot(), m.clone(), i})
			if len(snaps) > 3 {
				checkSaved()
				snaps = snaps[1:]
			}
		}
	}
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
	checkSaved()
	t.Logf("seed %d: max height %d, end %+v, %d loads", seed, maxHeight, tr.Stats(), store.loads.Load())
	if g.bigKeys && maxHeight < 3 {
		t.Fatalf("the tree only reached height %d: the test does not exercise internal splits", maxHeight)
	}
}

func TestEmptyTree(t *testing.T) {
	tr := New(1, nil, nil)
	if _, found, err := tr.Get([]byte("a")); found || err != nil {
		t.Fatalf("get on an empty tree: found %v, err %v", found, err)
	}
	if existed, err := tr.Delete([]byte("a")); existed || err != nil {
		t.Fatalf("delete on an empty tree: %v, %v", existed, err)
	}
	it := tr.Iter()
	if it.First() || it.Last() || it.Seek([]byte("a")) || it.SeekLT([]byte("a")) || it.Next() || it.Prev() || it.Err() != nil {
		t.Fatal("an iterator over an empty tree found something")
	}
	if st := tr.Stats(); st != (Stats{}) {
		t.Fatalf("stats %+v", st)
	}
	mustCheck(t, tr)
}

// TestPutDeleteAll fills a tree of several levels, then deletes every key,
// checking after each step that it stays valid, down to the empty tree.
func TestPutDeleteAll(t *testing.T) {
	g := &gen{rng: rand.New(rand.NewPCG(1, 2)), bigKeys: true}
	tr := New(1, nil, nil)
	m := newModel(nil)
	for i := 0; i < 800; i++ {
		k := g.key(i * 7 % 800)
		if err := tr.Put(k, []byte("v")); err != nil {
			t.Fatal(err)
		}
		m.put(k, []byte("v"))
	}
	if h := tr.Stats().Height; h < 3 {
		t.Fatalf("height %d", h)
	}
	same(t, tr.Snapshot(), m)
	for i := 0; i < 800; i++ {
		k := g.key(i * 13 % 800)
		if existed, err := tr.Delete(k); !existed || err != nil {
			t.Fatalf("delete %d: %v %v", i, existed, err)
		}
		m.del(k)
		if i%50 == 0 {
			mustCheck(t, tr)
			same(t, tr.Snapshot(), m)
		}
	}
	if st := tr.Stats(); st != (Stats{}) {
		t.Fatalf("stats after deleting everything: %+v", st)
	}
	mustCheck(t, tr)
}

// TestPutSameValue: putting the value a key already has changes nothing,
// not even the root (a replayed journal does that a lot).
func TestPutSameValue(t *testing.T) {
	tr := New(1, nil, nil)
	for i := 0; i < 100; i++ {
		if err := tr.Put([]byte{byte(i)}, []byte("value")); err != nil {
			t.Fatal(err)
		}
	}
	before := tr.Snapshot()
	if err := tr.Put([]byte{5}, []byte("value")); err != nil {
		t.Fatal(err)
	}
	if tr.Snapshot() != before {
		t.Fatal("a put of the same value published a new root")
	}
	mustCheck(t, tr)
}

// TestCallerBuffers: the tree copies what it is given.
func TestCallerBuffers(t *testing.T) {
	tr := New(1, nil, nil)
	k, v := []byte("key"), []byte("value")
	if err := tr.Put(k, v); err != nil {
		t.Fatal(err)
	}
	copy(k, "xxx")
	copy(v, "XXXXX")
	got, found, err := tr.Get([]byte("key"))
	if err != nil || !found || string(got) != "value" {
		t.Fatalf("got %q %v %v", got, found, err)
	}
	mustCheck(t, tr)
}

func TestLimits(t *testing.T) {
	tr := New(1, nil, nil)
	for _, c := range []struct {
		k, v []byte
		want error
	}{
		{nil, nil, ErrEmptyKey},
		{[]byte{}, []byte("v"), ErrEmptyKey},
		{make([]byte, MaxKey+1), nil, ErrKeyTooLarge},
		{[]byte("k"), make([]byte, MaxValue+1), ErrValueTooLarge},
	} {
		if err := tr.Put(c.k, c.v); !errors.Is(err, c.want) {
			t.Errorf("put of a %d-byte key and %d-byte value: %v, want %v", len(c.k), len(c.v), err, c.want)
		}
	}
	// The limits themselves are fine, and many such entries make nodes
	// split without ever exceeding MaxNode.
	for i := 0; i < 100; i++ {
		k := bytes.Repeat([]byte{byte(i)}, MaxKey)
		if err := tr.Put(k, make([]byte, MaxValue)); err != nil {
			t.Fatal(err)
		}
	}
	if st := tr.Stats(); st.Entries != 100 || st.Height < 2 {
		t.Fatalf("stats %+v", st)
	}
	mustCheck(t, tr)
}

// TestReverseOrder: a tree with its own comparator keeps its keys in that
// order, on the media too, and reading it under another order fails.
func TestReverseOrder(t *testing.T) {
	store := newMemStore()
	tr := New(3, reverse, store)
	m := newModel(reverse)
	g := &gen{rng: rand.New(rand.NewPCG(3, 3))}
	for i := 0; i < 3000; i++ {
		k, v := g.key(i), g.value()
		if err := tr.Put(k, v); err != nil {
			t.Fatal(err)
		}
		m.put(k, v)
	}
	it := tr.Iter()
	if !it.First() || !bytes.Equal(it.Key(), g.key(2999)) {
		t.Fatalf("first key %s, want the largest bytewise", keyString(it.Key()))
	}
	root, err := tr.Flush(store, 1)
	if err != nil {
		t.Fatal(err)
	}
	re, err := Open(3, reverse, store, root)
	if err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), m)
	mustCheck(t, re)
	if _, err := Open(3, nil, store, root); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("opened under the default order: %v", err)
	}
	mustCheck(t, tr)
}
