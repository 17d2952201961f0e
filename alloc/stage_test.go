package alloc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
)

// TestStagedCommitted: Advance and AddLive land in the caller's batch with
// its own changes; after Done the set, its members' entries and the totals
// show them.
func TestStagedCommitted(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	if err := r.st.CreateTree(ctx, "index", ""); err != nil {
		t.Fatal(err)
	}
	s := mustSet(t, a, EC(4, 2))
	b := store.NewBatch()
	b.Put("index", []byte("object"), []byte("set 1 offset 0"))
	if err := a.Advance(ctx, b, s.ID, 1000); err != nil {
		t.Fatal(err)
	}
	if err := a.AddLive(ctx, b, s.ID, 900); err != nil {
		t.Fatal(err)
	}
	if err := a.Advance(ctx, b, s.ID, 500); err != nil { // a second change in one batch builds on the first
		t.Fatal(err)
	}
	if err := a.AddLive(ctx, b, s.ID, 101); err != nil {
		t.Fatal(err)
	}
	// Not committed yet: nothing shows.
	if got, _ := a.Lookup(s.ID); got.Frontier != 0 || a.FSStat().UsedBytes != 0 {
		t.Fatalf("staged changes visible before the commit: %+v", got)
	}
	_, err := r.st.Commit(ctx, b)
	a.Done(b, err)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Lookup(s.ID)
	if err != nil || got.Frontier != 1500 || got.Live != 1001 {
		t.Fatalf("after commit: %+v %v", got, err)
	}
	for _, m := range got.Members {
		e, err := a.Segment(m.Drive, m.Segment)
		if err != nil || e.Live != 251 || e.Set != s.ID || e.State != StateOpen {
			t.Fatalf("member %s: %+v %v", m, e, err)
		}
	}
	if f := a.FSStat(); f.UsedBytes != 1001 || f.OpenUnwrittenBytes != s.Capacity-1500 {
		t.Fatalf("fsstat: %+v", f)
	}
	mustCheck(t, r, a)
}

// TestStagedAbandonedOrFailed: a batch never committed, or whose commit
// fails, changes neither the trees nor the counters, and frees its sets.
func TestStagedAbandonedOrFailed(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	s := mustSet(t, a, EC(4, 2))
	write(t, r, a, s.ID, 4000, 3000)
	before := a.FSStat()

	b := store.NewBatch()
	if err := a.Advance(ctx, b, s.ID, 100); err != nil {
		t.Fatal(err)
	}
	if err := a.AddLive(ctx, b, s.ID, -3000); err != nil {
		t.Fatal(err)
	}
	a.Abandon(b)
	if got, _ := a.Lookup(s.ID); got.Frontier != 4000 || got.Live != 3000 || a.FSStat() != before {
		t.Fatalf("after abandon: %+v %+v", got, a.FSStat())
	}
	mustCheck(t, r, a)

	// A commit that fails (here: a put into a tree that does not exist).
	b = store.NewBatch()
	if err := a.AddLive(ctx, b, s.ID, -1000); err != nil {
		t.Fatal(err)
	}
	b.Put("no such tree", []byte("k"), nil)
	_, err := r.st.Commit(ctx, b)
	if err == nil {
		t.Fatal("commit into a missing tree succeeded")
	}
	a.Done(b, err)
	if f := a.FSStat(); f != before {
		t.Fatalf("after a failed commit: %+v, want %+v", f, before)
	}
	mustCheck(t, r, a)

	// The sets are free again: a new batch stages without waiting.
	write(t, r, a, s.ID, 10, 0)
	if got, _ := a.Lookup(s.ID); got.Frontier != 4010 {
		t.Fatalf("after: %+v", got)
	}
	mustCheck(t, r, a)
}

// TestStagedErrors: bad changes are refused and leave the batch empty.
func TestStagedErrors(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	s := mustSet(t, a, EC(2, 1))
	b := store.NewBatch()
	for _, c := range []struct {
		err  error
		want error
	}{
		{a.Advance(ctx, b, s.ID, s.Capacity+1), ErrSetFull},
		{a.Advance(ctx, b, s.ID, -1), ErrInvalid},
		{a.AddLive(ctx, b, s.ID, 1), ErrInvalid},
		{a.AddLive(ctx, b, s.ID, -1), ErrInvalid},
		{a.Advance(ctx, b, 999, 1), ErrNoSet},
		{a.AddLive(ctx, b, 0, 1), ErrNoSet},
		{a.Advance(ctx, nil, s.ID, 1), ErrInvalid},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%v, want %v", c.err, c.want)
		}
	}
	if b.Len() != 0 || len(a.holds) != 0 {
		t.Fatalf("refused changes left %d operations and %d holds", b.Len(), len(a.holds))
	}
	if err := a.Advance(ctx, b, s.ID, s.Capacity); err != nil {
		t.Fatal(err)
	}
	if err := a.Advance(ctx, b, s.ID, 1); !errors.Is(err, ErrSetFull) {
		t.Fatalf("past a full set: %v", err)
	}
	_, err := r.st.Commit(ctx, b)
	a.Done(b, err)
	if err := a.Seal(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Seal(ctx, s.ID); !errors.Is(err, ErrState) {
		t.Fatalf("seal twice: %v", err)
	}
	b = store.NewBatch()
	if err := a.Advance(ctx, b, s.ID, 0); !errors.Is(err, ErrState) {
		t.Fatalf("advance a sealed set: %v", err)
	}
	if err := a.AddLive(ctx, b, s.ID, 10); err != nil { // live bytes may still change
		t.Fatal(err)
	}
	_, err = r.st.Commit(ctx, b)
	a.Done(b, err)
	if _, err := a.Release(ctx, s.ID); !errors.Is(err, ErrState) {
		t.Fatalf("release with live bytes: %v", err)
	}
	mustCheck(t, r, a)
}

// TestHolds: a set staged in one batch waits for it in others, or fails
// with ErrBusy when waiting could deadlock; Seal waits too.
func TestHolds(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	s1, s2 := mustSet(t, a, EC(2, 1)), mustSet(t, a, EC(2, 1))

	b1 := store.NewBatch()
	if err := a.Advance(ctx, b1, s1.ID, 100); err != nil {
		t.Fatal(err)
	}
	// A batch holding s2 may not wait for s1.
	b2 := store.NewBatch()
	if err := a.Advance(ctx, b2, s2.ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := a.Advance(ctx, b2, s1.ID, 1); !errors.Is(err, ErrBusy) {
		t.Fatalf("a batch holding a set staged a set held elsewhere: %v", err)
	}
	a.Abandon(b2)
	// A batch holding nothing waits, as long as its context lets it.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	b3 := store.NewBatch()
	if err := a.AddLive(short, b3, s1.ID, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for a held set: %v", err)
	}
	if err := a.Seal(short, s1.ID); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("seal of a held set: %v", err)
	}
	// ... and proceeds from the committed state once b1 is done.
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := a.AddLive(ctx, b3, s1.ID, 100); err != nil {
			t.Error(err)
			return
		}
		_, err := r.st.Commit(ctx, b3)
		a.Done(b3, err)
	}()
	sealed := make(chan error, 1)
	go func() {
		defer wg.Done()
		sealed <- a.Seal(ctx, s1.ID)
	}()
	time.Sleep(10 * time.Millisecond)
	_, err := r.st.Commit(ctx, b1)
	a.Done(b1, err)
	wg.Wait()
	got, _ := a.Lookup(s1.ID)
	if got.Frontier != 100 || got.State != StateSealed {
		t.Fatalf("after the waits: %+v", got)
	}
	if err := <-sealed; err != nil {
		t.Fatal(err)
	}
	// AddLive ran either before or after the seal; both are fine.
	if got.Live != 100 {
		t.Fatalf("live %d, want 100", got.Live)
	}
	mustCheck(t, r, a)
}

// TestConcurrentStaging: many writers staging changes to a few sets never
// lose one (the holds serialize whole-entry puts of a set).
func TestConcurrentStaging(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	sets := []Set{mustSet(t, a, EC(4, 2)), mustSet(t, a, Mirror(3)), mustSet(t, a, EC(1, 1))}
	const writers, rounds = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				b := store.NewBatch()
				s := sets[(w+i)%len(sets)]
				err := a.Advance(ctx, b, s.ID, 10)
				if err == nil {
					err = a.AddLive(ctx, b, s.ID, 7)
				}
				if err == nil && i%3 == 0 { // a second set: may be busy
					s2 := sets[(w+i+1)%len(sets)]
					if err2 := a.AddLive(ctx, b, s2.ID, 0); err2 != nil && !errors.Is(err2, ErrBusy) {
						err = err2
					}
				}
				if err != nil {
					a.Abandon(b)
					t.Error(err)
					return
				}
				_, err = r.st.Commit(ctx, b)
				a.Done(b, err)
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var frontier, live int64
	for _, s := range sets {
		got, _ := a.Lookup(s.ID)
		frontier += got.Frontier
		live += got.Live
	}
	if frontier != writers*rounds*10 || live != writers*rounds*7 {
		t.Fatalf("frontier %d live %d, want %d and %d", frontier, live, writers*rounds*10, writers*rounds*7)
	}
	if f := a.FSStat(); f.UsedBytes != live {
		t.Fatalf("fsstat used %d, want %d", f.UsedBytes, live)
	}
	mustCheck(t, r, a)
}
