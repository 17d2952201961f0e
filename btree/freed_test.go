package btree

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// ledger is the accounting model of a store's metadata space, as the
// store built on the tree keeps it: every node written by a checkpoint
// that completed (WriteNodes then Drop), less every node those checkpoints
// reported freed. It must be exactly the nodes the last flushed root
// reaches.
type ledger struct {
	live map[Addr]bool
}

func newLedger() *ledger { return &ledger{live: make(map[Addr]bool)} }

// commit accounts a completed checkpoint that wrote wrote and reported
// freed. A freed node must be live: otherwise it is reported twice, or
// was never written.
func (l *ledger) commit(t testing.TB, wrote []Addr, freed []Ptr) {
	t.Helper()
	for _, p := range freed {
		if !l.live[p.Addr] {
			t.Fatalf("freed %s: not live (reported twice, never written, or written by this very checkpoint)", addrString(p.Addr))
		}
		delete(l.live, p.Addr)
	}
	for _, a := range wrote {
		if l.live[a] {
			t.Fatalf("wrote %s twice", addrString(a))
		}
		l.live[a] = true
	}
}

// verify fails t unless the live nodes are exactly those the flushed root
// reaches.
func (l *ledger) verify(t testing.TB, id uint64, cmp Compare, store *memStore, root Root) {
	t.Helper()
	re, err := Open(id, cmp, store, root)
	if err != nil {
		t.Fatal(err)
	}
	reach := mediaNodes(t, re.Snapshot())
	var missing, extra []string
	for a := range reach {
		if !l.live[a] {
			missing = append(missing, addrString(a))
		}
	}
	for a := range l.live {
		if _, ok := reach[a]; !ok {
			extra = append(extra, addrString(a))
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("accounting: the flushed root reaches %d nodes, the ledger holds %d; reached but reported freed: %d %v; held but not reached (never reported freed): %d %v",
			len(reach), len(l.live), len(missing), firstFew(missing), len(extra), firstFew(extra))
	}
}

func firstFew(s []string) []string { return s[:min(len(s), 4)] }

// mediaNodes returns the nodes on the media s reaches (Walk), with their
// levels, failing t on an error or a node reported twice.
func mediaNodes(t testing.TB, s *Snapshot) map[Addr]uint8 {
	t.Helper()
	got := make(map[Addr]uint8)
	err := s.Walk(func(p Ptr, level uint8) error {
		if _, ok := got[p.Addr]; ok {
			return fmt.Errorf("reported twice")
		}
		got[p.Addr] = level
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// addrWriter records the addresses of the nodes written through it.
type addrWriter struct {
	NodeWriter
	addrs   []Addr
	onWrite func() // called before each write, if set
}

func (w *addrWriter) Write(b []byte) (Addr, error) {
	if w.onWrite != nil {
		w.onWrite()
	}
	a, err := w.NodeWriter.Write(b)
	if err == nil {
		w.addrs = append(w.addrs, a)
	}
	return a, err
}

// freedLen returns the length of the tree's freed list.
func freedLen(tr *Tree) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.freed)
}

// ptrAddrs returns the addresses of ps, failing t on a repeat.
func ptrAddrs(t testing.TB, ps []Ptr) map[Addr]bool {
	t.Helper()
	s := make(map[Addr]bool, len(ps))
	for _, p := range ps {
		if s[p.Addr] {
			t.Fatalf("%s reported twice", addrString(p.Addr))
		}
		s[p.Addr] = true
	}
	return s
}

// TestFreedPath: one changed value frees exactly the path to it, reported
// by the next checkpoint only (not the nodes of the path built in memory
// and replaced before it); a checkpoint with nothing changed frees
// nothing.
func TestFreedPath(t *testing.T) {
	store := newMemStore()
	tr := New(30, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(30, 30)), bigKeys: true}
	fill(t, tr, m, g, 1500, 1500)
	led := newLedger()
	rec := &addrWriter{NodeWriter: store}
	wr, err := tr.WriteNodes(rec, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(wr.Freed()) != 0 {
		t.Fatalf("the first flush of a new tree frees %d nodes", len(wr.Freed()))
	}
	wr.Drop()
	led.commit(t, rec.addrs, wr.Freed())
	led.verify(t, 30, nil, store, wr.Root())
	h := tr.Stats().Height
	if h < 3 {
		t.Fatalf("height %d, the test wants 3 or more", h)
	}
	before := mediaNodes(t, tr.Snapshot())

	// A new value of the same size for one key: no split, no merge.
	k := m.keys[len(m.keys)/3]
	nv := bytes.Repeat([]byte{'x'}, len(m.vals[string(k)]))
	if bytes.Equal(nv, m.vals[string(k)]) {
		nv = bytes.Repeat([]byte{'y'}, len(nv))
	}
	for i := 0; i < 3; i++ { // the path in memory is superseded twice: not reported
		nv[0] = byte('0' + i)
		if err := tr.Put(k, nv); err != nil {
			t.Fatal(err)
		}
	}
	m.put(k, nv)
	rec.addrs = nil
	wr, err = tr.WriteNodes(rec, 2)
	if err != nil {
		t.Fatal(err)
	}
	freed := ptrAddrs(t, wr.Freed())
	after := mediaNodes(t, tr.Snapshot()) // before Drop: only the old nodes are on the media
	if len(freed) != h || len(rec.addrs) != h {
		t.Fatalf("one changed value in a tree of height %d: %d nodes freed, %d written", h, len(freed), len(rec.addrs))
	}
	for a, level := range before {
		if _, ok := after[a]; freed[a] == ok {
			t.Fatalf("level %d node at %s: freed %v, still reached %v", level, addrString(a), freed[a], ok)
		}
	}
	wr.Drop()
	led.commit(t, rec.addrs, wr.Freed())
	led.verify(t, 30, nil, store, wr.Root())

	rec.addrs = nil
	wr, err = tr.WriteNodes(rec, 3)
	if err != nil || len(wr.Freed()) != 0 || len(rec.addrs) != 0 {
		t.Fatalf("a flush with nothing changed: %d freed, %d written, err %v", len(wr.Freed()), len(rec.addrs), err)
	}
	wr.Drop()
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
}

// TestFreedSupersededBeforeDrop: the nodes a checkpoint wrote that writers
// replaced before its Drop are live in the written state but not in the
// current one: the next checkpoint reports them, and not the ones still
// in use.
func TestFreedSupersededBeforeDrop(t *testing.T) {
	store := newMemStore()
	tr := New(31, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(31, 31)), bigKeys: true}
	fill(t, tr, m, g, 1500, 1500)
	led := newLedger()
	rec := &addrWriter{NodeWriter: store}
	wr, err := tr.WriteNodes(rec, 1)
	if err != nil {
		t.Fatal(err)
	}
	k := m.keys[len(m.keys)/2]
	if err := tr.Put(k, []byte("changed after the snapshot")); err != nil {
		t.Fatal(err)
	}
	m.put(k, []byte("changed after the snapshot"))
	wr.Drop()
	led.commit(t, rec.addrs, wr.Freed())
	led.verify(t, 31, nil, store, wr.Root())
	written := wr.Root()
	h := written.Stats.Height
	if freedLen(tr) != h {
		t.Fatalf("a path of %d nodes written then replaced: %d pointers freed for the next flush", h, freedLen(tr))
	}

	rec.addrs = nil
	wr, err = tr.WriteNodes(rec, 2)
	if err != nil {
		t.Fatal(err)
	}
	freed := ptrAddrs(t, wr.Freed())
	if len(freed) != h || !freed[written.Ptr.Addr] {
		t.Fatalf("%d nodes freed (the written root among them: %v), want the %d of the path", len(freed), freed[written.Ptr.Addr], h)
	}
	wr.Drop()
	led.commit(t, rec.addrs, wr.Freed())
	led.verify(t, 31, nil, store, wr.Root())
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
}

// TestFreedFailedCheckpoint: a checkpoint that never drops leaves its
// freed pointers to the next, which reports them again before its own;
// the nodes it wrote are never reported; its late Drop does nothing.
func TestFreedFailedCheckpoint(t *testing.T) {
	store := newMemStore()
	tr := New(32, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(32, 32)), bigKeys: true}
	fill(t, tr, m, g, 1200, 1500)
	led := newLedger()
	rec := &addrWriter{NodeWriter: store}
	root, err := tr.Flush(rec, 1)
	if err != nil {
		t.Fatal(err)
	}
	led.commit(t, rec.addrs, nil)
	churn(t, tr, m, g, 200, 1500)

	rec.addrs = nil
	failed, err := tr.WriteNodes(rec, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed.Freed()) == 0 {
		t.Fatal("200 changes freed nothing")
	}
	churn(t, tr, m, g, 200, 1500)
	// Between the two attempts the tree is unchanged by the failure: its
	// state on the media is still the first flush's.
	led.verify(t, 32, nil, store, root)

	rec.addrs = nil
	wr, err := tr.WriteNodes(rec, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := wr.Freed(); len(got) <= len(failed.Freed()) || !slices.Equal(got[:len(failed.Freed())], failed.Freed()) {
		t.Fatalf("the retry reports %d freed nodes, not starting with the %d of the failed attempt", len(got), len(failed.Freed()))
	}
	s, n := tr.Snapshot(), freedLen(tr)
	failed.Drop()
	if tr.Snapshot() != s || freedLen(tr) != n {
		t.Fatal("the Drop of a superseded Written changed the tree")
	}
	wr.Drop()
	led.commit(t, rec.addrs, wr.Freed())
	led.verify(t, 32, nil, store, wr.Root())
	n = freedLen(tr)
	wr.Drop()
	failed.Drop()
	if freedLen(tr) != n {
		t.Fatal("a second Drop changed the freed list")
	}
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
}

// TestFreedDeleteAll: deleting every entry of a flushed tree frees every
// node, and the flush of the empty tree reports them all.
func TestFreedDeleteAll(t *testing.T) {
	store := newMemStore()
	tr := New(33, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(33, 33)), bigKeys: true}
	fill(t, tr, m, g, 1200, 1500)
	if _, err := tr.Flush(store, 1); err != nil {
		t.Fatal(err)
	}
	all := mediaNodes(t, tr.Snapshot())
	for _, k := range slices.Clone(m.keys) {
		if existed, err := tr.Delete(k); !existed || err != nil {
			t.Fatalf("delete %s: %v %v", keyString(k), existed, err)
		}
		m.del(k)
	}
	wr, err := tr.WriteNodes(store, 2)
	if err != nil {
		t.Fatal(err)
	}
	freed := ptrAddrs(t, wr.Freed())
	if len(freed) != len(all) || wr.Root() != (Root{}) {
		t.Fatalf("the empty tree frees %d of %d nodes, root %+v", len(freed), len(all), wr.Root())
	}
	for a := range all {
		if !freed[a] {
			t.Fatalf("%s not freed", addrString(a))
		}
	}
	wr.Drop()
	if freedLen(tr) != 0 {
		t.Fatalf("%d freed left after the Drop", freedLen(tr))
	}
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
}

// TestFreedAccounting runs random puts and deletes, big deletes that
// bring the height down, and checkpoints of every kind — plain, with
// writers between WriteNodes and Drop, with writers running concurrently
// with both, failed (WriteNodes without Drop, the next one retrying),
// reopening from the last root, Redirty of an address range — and after
// each completed checkpoint holds the accounting of a store to exactness:
// the nodes written by completed checkpoints less those they reported
// freed are exactly the nodes the flushed root reaches (no node reported
// twice, none leaked).
//
//	go test ./btree/ -run TestFreedAccounting -btree.seeds=100
func TestFreedAccounting(t *testing.T) {
	forEachSeed(t, 8, runFreedAccounting)
}

func runFreedAccounting(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0xf4ee))
	g := &gen{rng: rng, bigKeys: true, bigVals: seed%3 == 0}
	var cmp Compare
	if seed%4 == 3 {
		cmp = reverse
	}
	const universe = 1500
	store := newMemStore()
	id := 100 + seed
	tr := New(id, cmp, store)
	m := newModel(cmp)
	led := newLedger()
	var (
		flushed    = m.clone() // what the last completed checkpoint holds
		root       Root        // and its root
		ckpt       uint64      // the generation of the last checkpoint
		failed     *Written    // the last checkpoint that failed, until the next completes
		failedLen  int         // how many pointers it reported freed
		maxH       int
		collapsed  bool // a big delete lowered the height
		kinds      = map[string]int{}
		redirtied  int
		rounds     = 40
		checkpoint = func(name string, wr *Written, wrote []Addr, at *model) {
			t.Helper()
			led.commit(t, wrote, wr.Freed())
			root = wr.Root()
			flushed = at
			led.verify(t, id, cmp, store, root)
			kinds[name]++
		}
	)
	if testing.Short() {
		rounds = 15
	}
	for round := 0; round < rounds; round++ {
		// Changes.
		switch r := rng.IntN(10); {
		case r < 2 && len(m.keys) > 0:
			// A big delete: most or all entries.
			h := tr.Stats().Height
			keep := 0
			if rng.IntN(3) > 0 {
				keep = rng.IntN(20)
			}
			keys := slices.Clone(m.keys)
			rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			for _, k := range keys[min(keep, len(keys)):] {
				if existed, err := tr.Delete(k); !existed || err != nil {
					t.Fatalf("round %d: delete %s: %v %v", round, keyString(k), existed, err)
				}
				m.del(k)
			}
			if tr.Stats().Height < h {
				collapsed = true
			}
		case r < 5:
			fill(t, tr, m, g, 200+rng.IntN(800), universe)
		default:
			churn(t, tr, m, g, 50+rng.IntN(300), universe)
		}
		maxH = max(maxH, tr.Stats().Height)
		if rng.IntN(6) == 0 {
			redirtied += redirtyRange(t, tr, store, rng)
		}

		// A checkpoint.
		ckpt++
		rec := &addrWriter{NodeWriter: store}
		switch kind := rng.IntN(10); {
		case kind < 3: // plain
			at := m.clone()
			wr, err := tr.WriteNodes(rec, ckpt)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			checkRetry(t, wr, failed, failedLen)
			wr.Drop()
			checkpoint("plain", wr, rec.addrs, at)
		case kind < 5: // writers between WriteNodes and Drop
			at := m.clone()
			wr, err := tr.WriteNodes(rec, ckpt)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			checkRetry(t, wr, failed, failedLen)
			churn(t, tr, m, g, 20+rng.IntN(200), universe)
			if rng.IntN(3) == 0 {
				redirtied += redirtyRange(t, tr, store, rng)
			}
			wr.Drop()
			checkpoint("writers before Drop", wr, rec.addrs, at)
		case kind < 7: // writers concurrent with WriteNodes and Drop
			var (
				once sync.Once
				wg   sync.WaitGroup
				at   *model
				cerr error
			)
			n := 50 + rng.IntN(300)
			crng := rand.New(rand.NewPCG(seed, ckpt))
			start := func() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// The snapshot is taken before the first
					// write: this is its state.
					at = m.clone()
					cerr = churnConcurrent(tr, m, &gen{rng: crng, bigKeys: true}, n, universe)
				}()
			}
			rec.onWrite = func() { once.Do(start) }
			wr, err := tr.WriteNodes(rec, ckpt)
			once.Do(start) // nothing to write: the writers start now
			if err != nil {
				wg.Wait()
				t.Fatalf("round %d: %v", round, err)
			}
			wr.Drop()
			wg.Wait()
			if cerr != nil {
				t.Fatalf("round %d: concurrent writer: %v", round, cerr)
			}
			checkRetry(t, wr, failed, failedLen)
			checkpoint("concurrent writers", wr, rec.addrs, at)
		case kind < 9: // failed: no Drop; the next checkpoint retries
			wr, err := tr.WriteNodes(rec, ckpt)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			checkRetry(t, wr, failed, failedLen)
			failed, failedLen = wr, len(wr.Freed())
			kinds["failed"]++
			continue
		default: // the process restarts from the last completed checkpoint
			var err error
			if tr, err = Open(id, cmp, store, root); err != nil {
				t.Fatalf("round %d: reopen: %v", round, err)
			}
			m = flushed.clone()
			failed, failedLen = nil, 0
			kinds["reopen"]++
			continue
		}
		if failed != nil {
			// Its Drop, late, must do nothing.
			s, n := tr.Snapshot(), freedLen(tr)
			failed.Drop()
			if tr.Snapshot() != s || freedLen(tr) != n {
				t.Fatalf("round %d: the Drop of a failed checkpoint changed the tree", round)
			}
			failed, failedLen = nil, 0
		}
		if round%5 == 4 {
			re, err := Open(id, cmp, store, root)
			if err != nil {
				t.Fatal(err)
			}
			same(t, re.Snapshot(), flushed)
			mustCheck(t, re)
		}
	}
	// A last checkpoint brings everything to the media.
	ckpt++
	rec := &addrWriter{NodeWriter: store}
	at := m.clone()
	wr, err := tr.WriteNodes(rec, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	checkRetry(t, wr, failed, failedLen)
	wr.Drop()
	checkpoint("plain", wr, rec.addrs, at)
	re, err := Open(id, cmp, store, root)
	if err != nil {
		t.Fatal(err)
	}
	same(t, re.Snapshot(), m)
	mustCheck(t, re)
	same(t, tr.Snapshot(), m)
	mustCheck(t, tr)
	t.Logf("seed %d: max height %d, collapsed %v, checkpoints %v, %d nodes redirtied, %d live at the end", seed, maxH, collapsed, kinds, redirtied, len(led.live))
	if maxH < 3 {
		t.Fatalf("the tree only reached height %d", maxH)
	}
}

// checkRetry: a checkpoint after a failed one reports the failed one's
// freed pointers first.
func checkRetry(t testing.TB, wr, failed *Written, n int) {
	t.Helper()
	if failed == nil {
		return
	}
	got, want := wr.Freed(), failed.Freed()
	if len(want) != n || len(got) < n || !slices.Equal(got[:n], want) {
		t.Fatalf("after a failed checkpoint freeing %d nodes, the next reports %d, not starting with them", n, len(got))
	}
}

// churnConcurrent is churn for a goroutine of its own: it returns the
// first error rather than failing the test.
func churnConcurrent(tr *Tree, m *model, g *gen, n, universe int) error {
	for i := 0; i < n; i++ {
		k := g.key(g.rng.IntN(universe))
		if g.rng.IntN(2) == 0 {
			v := g.value()
			if err := tr.Put(k, v); err != nil {
				return err
			}
			m.put(k, v)
			continue
		}
		existed, err := tr.Delete(k)
		if err != nil {
			return err
		}
		if existed != m.del(k) {
			return fmt.Errorf("delete %s: existed %v, the model disagrees", keyString(k), existed)
		}
	}
	return nil
}
