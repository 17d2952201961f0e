package btree

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestBulkLoad loads sources of many sizes and shapes; the trees are valid
// (Check also holds every node to the size rules), hold exactly the
// source, are packed, and take changes and flushes afterwards like any
// other.
func TestBulkLoad(t *testing.T) {
	for _, c := range []struct {
		n       int
		bigKeys bool
		bigVals bool
		cmp     Compare
	}{
		{0, false, false, nil},
		{1, false, false, nil},
		{17, false, false, nil},
		{5000, false, false, nil},
		{20000, false, false, nil},
		{3000, true, false, nil},
		{4000, true, false, nil},
		{3000, false, true, nil},
		{3000, false, false, reverse},
	} {
		name := fmt.Sprintf("n=%d,bigKeys=%v,bigVals=%v,reverse=%v", c.n, c.bigKeys, c.bigVals, c.cmp != nil)
		t.Run(name, func(t *testing.T) {
			g := &gen{rng: rand.New(rand.NewPCG(uint64(c.n), 1)), bigKeys: c.bigKeys, bigVals: c.bigVals}
			m := newModel(c.cmp)
			for i := 0; i < c.n; i++ {
				m.put(g.key(i), g.value())
			}
			store := newMemStore()
			tr := New(20, c.cmp, store)
			if err := tr.BulkLoad(m.entries()); err != nil {
				t.Fatal(err)
			}
			mustCheck(t, tr)
			same(t, tr.Snapshot(), m)
			st := tr.Stats()
			if st.Leaves > 4 {
				// Packed to about 90%: the data in the leaves,
				// over their number, is well above what splits
				// leave (about half).
				perLeaf := (st.Bytes + 4*st.Entries) / st.Leaves
				if perLeaf < SplitSize*3/4 {
					t.Errorf("leaves hold %d bytes on average: not packed (%+v)", perLeaf, st)
				}
			}
			rng := rand.New(rand.NewPCG(uint64(c.n), 2))
			for i := 0; i < 50; i++ {
				seekCheck(t, tr.Snapshot(), m, g.key(rng.IntN(c.n+2)), rng)
			}
			// It behaves like any tree afterwards.
			churn(t, tr, m, g, 500, c.n+100)
			mustCheck(t, tr)
			root, err := tr.Flush(store, 1)
			if err != nil {
				t.Fatal(err)
			}
			re, err := Open(20, c.cmp, store, root)
			if err != nil {
				t.Fatal(err)
			}
			same(t, re.Snapshot(), m)
			mustCheck(t, re)
			t.Logf("%+v", st)
		})
	}
}

func TestBulkLoadErrors(t *testing.T) {
	src := func(keys ...string) func(func(Entry, error) bool) {
		return func(yield func(Entry, error) bool) {
			for _, k := range keys {
				if !yield(Entry{Key: []byte(k), Value: []byte("v")}, nil) {
					return
				}
			}
		}
	}
	tr := New(21, nil, nil)
	for _, c := range []struct {
		name string
		src  func(func(Entry, error) bool)
		want error
		text string
	}{
		{"unsorted", src("a", "b", "d", "c"), ErrUnsorted, "entry 3"},
		{"duplicate", src("a", "b", "b"), ErrUnsorted, "entry 2 repeats"},
		{"empty key", src("a", ""), ErrEmptyKey, "entry 1"},
		{"long key", src("a", strings.Repeat("k", MaxKey+1)), ErrKeyTooLarge, "entry 1"},
	} {
		if err := tr.BulkLoad(c.src); !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v, want %v with %q", c.name, err, c.want, c.text)
		}
		if st := tr.Stats(); st != (Stats{}) {
			t.Fatalf("%s: a failed bulk load left %+v", c.name, st)
		}
	}
	big := func(yield func(Entry, error) bool) {
		yield(Entry{Key: []byte("a"), Value: make([]byte, MaxValue+1)}, nil)
	}
	if err := tr.BulkLoad(big); !errors.Is(err, ErrValueTooLarge) {
		t.Errorf("large value: %v", err)
	}
	boom := errors.New("boom")
	failing := func(yield func(Entry, error) bool) {
		if yield(Entry{Key: []byte("a")}, nil) {
			yield(Entry{}, boom)
		}
	}
	if err := tr.BulkLoad(failing); !errors.Is(err, boom) || !strings.Contains(err.Error(), "entry 1") {
		t.Errorf("failing source: %v", err)
	}
	// A reverse-ordered tree wants its keys in its order.
	rt := New(22, reverse, nil)
	if err := rt.BulkLoad(src("a", "b")); !errors.Is(err, ErrUnsorted) {
		t.Errorf("ascending keys into a reverse tree: %v", err)
	}
	if err := rt.BulkLoad(src("b", "a")); err != nil {
		t.Error(err)
	}
	mustCheck(t, rt)
	if err := tr.Put([]byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.BulkLoad(src("a")); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("into a tree with entries: %v", err)
	}
	mustCheck(t, tr)
}
