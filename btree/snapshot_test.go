package btree

import (
	"bytes"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/internal/simtest"
)

// published is a snapshot and what it must hold: the entry count and an
// order-independent fingerfp of the entries.
type published struct {
	s     *Snapshot
	count uint64
	fp    uint64
	op    int
}

func entryFP(k, v []byte) uint64 {
	h := fnv.New64a()
	h.Write([]byte{byte(len(k)), byte(len(k) >> 8)})
	h.Write(k)
	h.Write(v)
	return h.Sum64()
}

// verify walks p's snapshot and compares it with what it must hold.
func (p published) verify(cmp Compare) (ok bool, why string) {
	it := p.s.Iter()
	var n, fp uint64
	var prev []byte
	for valid := it.First(); valid; valid = it.Next() {
		if n > 0 && cmp(prev, it.Key()) >= 0 {
			return false, "keys out of order"
		}
		prev = it.Key()
		fp += entryFP(it.Key(), it.Value())
		n++
	}
	switch {
	case it.Err() != nil:
		return false, it.Err().Error()
	case n != p.count || fp != p.fp:
		return false, "the entries changed"
	case !statsHold(Stats{Entries: p.s.Stats().Entries, Buffered: p.s.Stats().Buffered}, p.count, 0):
		return false, "the stats changed"
	}
	return true, ""
}

// TestSnapshotsUnderConcurrentWriters: while one goroutine changes the
// tree and another flushes it now and then, readers walk snapshots, each
// of which must hold exactly what the tree held when it was taken, and
// keep holding it (run it with -race).
func TestSnapshotsUnderConcurrentWriters(t *testing.T) {
	forEachSeed(t, 4, func(t *testing.T, seed uint64) {
		store := newMemStore()
		var cmp Compare
		if seed%2 == 0 {
			cmp = reverse
		}
		tr := New(seed, cmp, store)
		ops := 6000
		if testing.Short() || simtest.RaceEnabled {
			ops = 2000
		}
		var (
			latest   atomic.Pointer[published]
			stop     atomic.Bool
			wg       sync.WaitGroup
			walks    atomic.Int64
			failures = make(chan string, 16)
		)
		fail := func(why string) {
			select {
			case failures <- why:
			default:
			}
		}
		latest.Store(&published{s: tr.Snapshot()})
		for r := 0; r < 3; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var kept []published
				for !stop.Load() {
					p := *latest.Load()
					if ok, why := p.verify(tr.cmp); !ok {
						fail("snapshot of op " + strconv.Itoa(p.op) + ": " + why)
						return
					}
					walks.Add(1)
					time.Sleep(100 * time.Microsecond) // leave the writer some CPU
					// Walk some again later: they must not change.
					if len(kept) < 8 {
						kept = append(kept, p)
					}
				}
				for _, p := range kept {
					if ok, why := p.verify(tr.cmp); !ok {
						fail("kept snapshot of op " + strconv.Itoa(p.op) + ": " + why)
					}
				}
			}()
		}
		wg.Add(1)
		go func() { // the flusher
			defer wg.Done()
			for gen := uint64(1); !stop.Load(); gen++ {
				if _, err := tr.Flush(store, gen); err != nil {
					fail("flush: " + err.Error())
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()

		rng := rand.New(rand.NewPCG(seed, 77))
		g := &gen{rng: rng, bigKeys: seed%3 == 0, bigVals: seed%3 == 1}
		m := newModel(cmp)
		var fp uint64
		for i := 0; i < ops; i++ {
			k := g.key(rng.IntN(1500))
			if rng.IntN(3) > 0 {
				v := g.value()
				if old, ok := m.vals[string(k)]; ok {
					fp -= entryFP(k, old)
				}
				if err := tr.Put(k, v); err != nil {
					t.Fatal(err)
				}
				m.put(k, v)
				fp += entryFP(k, v)
			} else if old, ok := m.vals[string(k)]; ok {
				if existed, err := tr.Delete(k); !existed || err != nil {
					t.Fatalf("delete: %v %v", existed, err)
				}
				m.del(k)
				fp -= entryFP(k, old)
			}
			latest.Store(&published{s: tr.Snapshot(), count: uint64(len(m.keys)), fp: fp, op: i})
			if i%64 == 0 {
				// Give the readers a turn (on few CPUs the writer
				// would run far ahead).
				time.Sleep(50 * time.Microsecond)
			}
		}
		stop.Store(true)
		wg.Wait()
		close(failures)
		for why := range failures {
			t.Error(why)
		}
		if walks.Load() == 0 {
			t.Error("no reader walked a snapshot")
		}
		same(t, tr.Snapshot(), m)
		mustCheck(t, tr)
		t.Logf("%d walks, final %+v", walks.Load(), tr.Stats())
	})
}

// TestSnapshotIsolation: a snapshot (and an iterator on it) is unaffected
// by every kind of change afterwards: puts, deletes down to the empty
// tree, a flush, a bulk load.
func TestSnapshotIsolation(t *testing.T) {
	store := newMemStore()
	tr := New(4, nil, store)
	m := newModel(nil)
	g := &gen{rng: rand.New(rand.NewPCG(4, 4)), bigKeys: true}
	fill(t, tr, m, g, 1000, 1000)
	s, sm := tr.Snapshot(), m.clone()
	it := s.Iter()
	if !it.Seek(sm.keys[10]) {
		t.Fatal("seek")
	}
	churn(t, tr, m, g, 2000, 1000)
	if _, err := tr.Flush(store, 1); err != nil {
		t.Fatal(err)
	}
	for _, k := range m.keys {
		if _, err := tr.Delete(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.BulkLoad(sm.entries()); err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 20; i++ {
		if !bytes.Equal(it.Key(), sm.keys[i]) {
			t.Fatalf("an iterator opened before the changes: %s at %d", keyString(it.Key()), i)
		}
		it.Next()
	}
	same(t, s, sm)
	mustCheck(t, s)
	same(t, tr.Snapshot(), sm)
	mustCheck(t, tr)
}
