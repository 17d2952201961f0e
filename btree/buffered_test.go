package btree

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"
)

// leafCounter is a Loader that counts the leaves it reads.
type leafCounter struct {
	Loader
	leaves atomic.Int64
}

func (l *leafCounter) Load(p Ptr, exp Expect, cmp Compare) (*Node, error) {
	if exp.Level == 0 {
		l.leaves.Add(1)
	}
	return l.Loader.Load(p, exp, cmp)
}

// flushAndReopen checks tr against m, flushes it, and checks the tree
// reopened from the flushed root against m too.
func flushAndReopen(t *testing.T, tr *Tree, store *memStore, m *model) {
	t.Helper()
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
	root, err := tr.Flush(store, tr.flushedGen+1)
	if err != nil {
		t.Fatal(err)
	}
	re, err := Open(tr.id, nil, store, root)
	if err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), m)
	mustCheck(t, re)
}

// flushedTree returns a flushed tree of n keys "k00000"... (values of 20
// bytes) over a leaf-counting loader, and its model.
func flushedTree(t *testing.T, n int) (*Tree, *leafCounter, *memStore, *model) {
	t.Helper()
	store := newMemStore()
	lc := &leafCounter{Loader: store}
	tr := New(9, nil, lc)
	m := newModel(nil)
	var muts []Mutation
	for i := range n {
		k, v := []byte(fmt.Sprintf("k%05d", i*2)), []byte(fmt.Sprintf("value-%014d", i))
		muts = append(muts, Mutation{Key: k, Value: v})
		m.put(k, v)
	}
	if err := tr.Apply(muts); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Flush(store, 1); err != nil {
		t.Fatal(err)
	}
	if tr.Stats().Height < 2 {
		t.Fatalf("height %d: the test wants leaves under a root", tr.Stats().Height)
	}
	return tr, lc, store, m
}

// TestPutsBufferedWithoutReadingLeaves: puts into a flushed tree read no
// leaf; Gets and iterators see them; Stats count every put whose key was
// not read as new (Buffered), and the flush that merges them makes the
// counts exact; deletes read their leaf and count exactly.
func TestPutsBufferedWithoutReadingLeaves(t *testing.T) {
	tr, lc, store, m := flushedTree(t, 3000)
	before := tr.Stats()
	lc.leaves.Store(0)
	var muts []Mutation
	for i := range 300 {
		// New keys and, one in three, a key already there.
		k := []byte(fmt.Sprintf("k%05d+", i*17))
		if i%3 == 0 {
			k = []byte(fmt.Sprintf("k%05d", i*6))
		}
		v := []byte(fmt.Sprintf("put-%d", i))
		muts = append(muts, Mutation{Key: k, Value: v})
		m.put(k, v)
		if len(muts) == 30 {
			if err := tr.Apply(muts); err != nil {
				t.Fatal(err)
			}
			muts = muts[:0]
		}
	}
	if n := lc.leaves.Load(); n != 0 {
		t.Fatalf("300 puts read %d leaves", n)
	}
	st := tr.Stats()
	if st.Buffered != 300 || st.Entries != before.Entries+300 {
		t.Fatalf("after 300 buffered puts (100 of them replacing a key): %+v, before %+v", st, before)
	}
	same(t, tr.Snapshot(), m) // Get, iterators both ways, Stats within bounds
	mustCheck(t, tr)
	if tr.DirtyBytes() > 64<<10 {
		t.Errorf("300 buffered puts hold %d bytes of dirty memory", tr.DirtyBytes())
	}

	// A delete reads its leaf, and the counts of that leaf become exact.
	k := []byte(fmt.Sprintf("k%05d", 0))
	if existed, err := tr.Delete(k); err != nil || !existed {
		t.Fatalf("delete of a key with a buffered put: %v %v", existed, err)
	}
	m.del(k)
	if lc.leaves.Load() == 0 {
		t.Errorf("a delete did not read its leaf")
	}
	if st := tr.Stats(); st.Buffered >= 300 {
		t.Errorf("after the delete merged a leaf, %d puts are still counted as buffered", st.Buffered)
	}
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)

	root, err := tr.Flush(store, 2)
	if err != nil {
		t.Fatal(err)
	}
	if root.Stats.Buffered != 0 || root.Stats.Entries != uint64(len(m.keys)) || root.Stats.Bytes != m.size {
		t.Fatalf("flushed root %+v, the model has %d entries of %d bytes", root.Stats, len(m.keys), m.size)
	}
	if tr.Stats() != root.Stats {
		t.Fatalf("after the flush the tree says %+v, its root %+v", tr.Stats(), root.Stats)
	}
	re, err := Open(9, nil, store, root)
	if err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), m)
	mustCheck(t, re)
}

// TestBufferedLeafChainsAcrossFlush: a put into a buffered leaf that a
// flush under way is writing builds on that leaf, not on its base (whose
// space that flush frees); Drop rebases it onto the written leaf, frees
// that leaf for the next flush, and counts the written leaf's correction.
func TestBufferedLeafChainsAcrossFlush(t *testing.T) {
	tr, _, store, m := flushedTree(t, 3000)
	led := newLedger()
	for a := range mediaNodes(t, tr.Snapshot()) {
		led.live[a] = true
	}
	put := func(k, v string) {
		t.Helper()
		if err := tr.Put([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
		m.put([]byte(k), []byte(v))
	}
	put("k00101", "one") // a new key: buffered over the leaf on the media
	put("k00100", "two") // a key of that leaf: counted as new until merged
	rec := &addrWriter{NodeWriter: store}
	cut := tr.Cut()
	put("k00103", "three") // after the cut: built on the buffered leaf
	put("k00100", "four")  // replaces a put of the leaf below: known
	leafOf := func(key string) *mnode {
		n := tr.Snapshot().root
		for n.level > 0 {
			n = n.mem[childIndex(tr.cmp, n.children, []byte(key))]
		}
		return n
	}
	top := leafOf("k00103")
	if top.buf == nil || top.buf.baseMem == nil || top.buf.baseMem.buf == nil {
		t.Fatalf("the put after the cut did not build on the buffered leaf of the cut")
	}
	if st := tr.Stats(); st.Buffered != 3 {
		t.Fatalf("Stats %+v: want 3 puts of unknown keys buffered", st)
	}
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
	at := m.clone()
	wr, err := cut.Write(rec, 2)
	if err != nil {
		t.Fatal(err)
	}
	if wr.Root().Stats.Buffered != 0 || wr.Root().Stats.Entries != uint64(len(at.keys))-1 {
		// The cut holds k00101 (new) and k00100 (replaced), not k00103.
		t.Fatalf("written root %+v, want the cut's %d entries exactly", wr.Root().Stats, len(at.keys)-1)
	}
	wr.Drop()
	led.commit(t, rec.addrs, wr.Freed())
	led.verify(t, 9, nil, store, wr.Root())

	top = leafOf("k00103")
	if top.buf == nil || top.buf.baseMem != nil || top.buf.base.Gen != 2 {
		t.Fatalf("after Drop the buffered leaf is not built on the written leaf: %+v", top.buf)
	}
	if st := tr.Stats(); st.Buffered != 1 || st.Entries != uint64(len(m.keys)) {
		t.Fatalf("after Drop: %+v; want 1 put buffered (k00103), %d entries", st, len(m.keys))
	}
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)

	rec = &addrWriter{NodeWriter: store}
	wr, err = tr.WriteNodes(rec, 3)
	if err != nil {
		t.Fatal(err)
	}
	wr.Drop()
	led.commit(t, rec.addrs, wr.Freed())
	led.verify(t, 9, nil, store, wr.Root())
	if st := tr.Stats(); st != wr.Root().Stats || st.Buffered != 0 || st.Entries != uint64(len(m.keys)) {
		t.Fatalf("after the second flush: %+v, root %+v", st, wr.Root().Stats)
	}
	re, err := Open(9, nil, store, wr.Root())
	if err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), m)
	mustCheck(t, re)
}

// TestBufferedLeafMergedWhenFull: puts that may take a buffered leaf past
// SplitSize read its base and split it, into buffered leaves over that
// base that keep only the puts in memory.
func TestBufferedLeafMergedWhenFull(t *testing.T) {
	tr, lc, store, m := flushedTree(t, 3000)
	leaves := tr.Stats().Leaves
	lc.leaves.Store(0)
	big := make([]byte, 1000)
	for i := range 40 { // 40 KB into one leaf's range
		k := []byte(fmt.Sprintf("k%05d-%02d", 1000, i))
		if err := tr.Put(k, big); err != nil {
			t.Fatal(err)
		}
		m.put(k, big)
	}
	if lc.leaves.Load() == 0 || tr.Stats().Leaves <= leaves {
		t.Fatalf("40 KB of puts into one leaf: %d leaves read, %d leaves (from %d)", lc.leaves.Load(), tr.Stats().Leaves, leaves)
	}
	if d := tr.DirtyBytes(); d > 60<<10 {
		t.Errorf("40 KB of puts split a leaf and hold %d bytes of memory", d)
	}
	ranged := 0
	for _, c := range tr.Snapshot().root.mem {
		if c != nil && c.buf != nil && c.buf.ranged {
			ranged++
		}
	}
	if ranged < 2 {
		t.Errorf("%d buffered leaves over a range of a base, want the pieces of the split", ranged)
	}
	flushAndReopen(t, tr, store, m)
}

// TestOverwritesDoNotReadEachPut: overwriting every key of a tree with
// values of the same size takes the size bounds of buffered leaves past
// SplitSize; the leaves are read and split (or kept whole) once per
// leaf, not once per put.
func TestOverwritesDoNotReadEachPut(t *testing.T) {
	tr, lc, store, m := flushedTree(t, 3000)
	leaves := tr.Stats().Leaves
	lc.leaves.Store(0)
	for i := 0; i < 3000; i += 50 {
		var muts []Mutation
		for j := i; j < i+50; j++ {
			k, v := []byte(fmt.Sprintf("k%05d", j*2)), []byte(fmt.Sprintf("VALUE-%014d", j))
			muts = append(muts, Mutation{Key: k, Value: v})
			m.put(k, v)
		}
		if err := tr.Apply(muts); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("overwriting %d leaves read %d leaves", leaves, lc.leaves.Load())
	if n := lc.leaves.Load(); n > int64(3*leaves) {
		t.Errorf("overwriting %d leaves read %d", leaves, n)
	}
	flushAndReopen(t, tr, store, m)
}

// TestMergePuts: both ways of merging (a binary search per put, one pass
// over both) give the base with every put in place, a put replacing the
// entry of its key.
func TestMergePuts(t *testing.T) {
	var base []Entry
	for i := range 64 {
		base = append(base, Entry{Key: []byte(fmt.Sprintf("%03d", i*2)), Value: []byte("base")})
	}
	for _, n := range []int{0, 1, 3, 8, 9, 40, 200} {
		var puts []Entry
		want := map[string]string{}
		for _, e := range base {
			want[string(e.Key)] = "base"
		}
		// n keys spread over the base's range and beyond: some
		// between its keys, some equal to them.
		for i := range n {
			k := fmt.Sprintf("%03d", i*130/max(n, 1))
			if len(puts) > 0 && string(puts[len(puts)-1].Key) == k {
				continue
			}
			puts = append(puts, Entry{Key: []byte(k), Value: []byte("put")})
			want[k] = "put"
		}
		got := mergePuts(bytes.Compare, base, puts)
		if len(got) != len(want) {
			t.Fatalf("%d puts: %d entries, want %d", len(puts), len(got), len(want))
		}
		for i, e := range got {
			if i > 0 && string(got[i-1].Key) >= string(e.Key) {
				t.Fatalf("%d puts: entry %d out of order", len(puts), i)
			}
			if want[string(e.Key)] != string(e.Value) {
				t.Fatalf("%d puts: %s is %q, want %q", len(puts), e.Key, e.Value, want[string(e.Key)])
			}
		}
	}
}
