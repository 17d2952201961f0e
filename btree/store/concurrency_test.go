package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Writers commit transactions that set every key of a group to one value;
// readers' views must always see a whole group equal (never part of a
// transaction), while background checkpoints run by journal bytes.
func TestViewsNeverSeePartialTransactions(t *testing.T) {
	r := newRig(t, defaultRig())
	r.tune = func(o *Options) { o.CheckpointBytes = 64 << 10 }
	s := r.create()
	defer s.Close()
	if err := s.CreateTree(ctx, "g", ""); err != nil {
		t.Fatal(err)
	}
	const keys = 300 // enough to span several leaves
	key := func(i int) []byte { return fmt.Appendf(nil, "k%04d", i) }
	var stop atomic.Bool
	var wg sync.WaitGroup
	var seq atomic.Uint64
	errs := make(chan error, 16)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				n := seq.Add(1)
				b := NewBatch()
				v := fmt.Appendf(nil, "%08d-%d-%0200d", n, w, 0)
				for k := range keys {
					b.Put("g", key(k), v)
				}
				if _, err := s.Commit(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var views atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				v, err := s.View("g")
				if err != nil {
					errs <- err
					return
				}
				it, _ := v.Iter("g")
				var first string
				n := 0
				for ok := it.First(); ok; ok = it.Next() {
					if n == 0 {
						first = string(it.Value())
					} else if string(it.Value()) != first {
						errs <- fmt.Errorf("a view sees %q at %q and %q at the first key", short(it.Value()), it.Key(), short([]byte(first)))
						v.Close()
						return
					}
					n++
				}
				if it.Err() != nil {
					errs <- it.Err()
				}
				if n != 0 && n != keys {
					errs <- fmt.Errorf("a view sees %d keys of %d", n, keys)
				}
				v.Close()
				views.Add(1)
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Checkpoints < 3 {
		t.Fatalf("only %d background checkpoints ran", st.Checkpoints)
	}
	t.Logf("%d transactions, %d checkpoints (max cut pause %v), %d views read", seq.Load(), st.Checkpoints, st.MaxCutPause, views.Load())
	mustCheck(t, s)
}

// The changes held in memory stay bounded by DirtyBytes: checkpoints start
// past it and commits wait past twice it, however fast writers go.
func TestDirtyMemoryBounded(t *testing.T) {
	c := defaultRig()
	c.mirrors, c.segSize, c.metaSegs = 1, 4<<20, 40
	r := newRig(t, c)
	const limit = 2 << 20
	r.tune = func(o *Options) { o.DirtyBytes = limit }
	s := r.create()
	defer s.Close()
	if err := s.CreateTree(ctx, "t", ""); err != nil {
		t.Fatal(err)
	}
	var peak int64
	val := make([]byte, 100)
	for i := range 400 {
		b := NewBatch()
		for j := range 100 {
			// Spread over the whole key space, so every batch dirties
			// many leaves.
			b.Put("t", fmt.Appendf(nil, "%08d", (i*100+j)*7919%40000), val)
		}
		commit(t, s, b)
		peak = max(peak, s.dirtyBytes())
	}
	st := s.Stats()
	t.Logf("peak dirty %d KiB (limit %d KiB), %d checkpoints", peak>>10, limit>>10, st.Checkpoints)
	// Commits wait past 2*limit; measuring every dirtyCheckBytes of
	// journal lets one such stretch of commits through above it.
	if peak > 3*limit {
		t.Fatalf("dirty memory reached %d bytes with a limit of %d", peak, limit)
	}
	if st.Checkpoints < 3 {
		t.Fatalf("only %d checkpoints: the dirty limit started none", st.Checkpoints)
	}
	mustCheck(t, s)
}
