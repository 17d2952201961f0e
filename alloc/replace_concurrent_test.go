package alloc

import (
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
)

// TestReplaceConcurrent: a rebuild replaces the members of many sets at
// once while new sets are made and the allocator is checked. Replacements
// commit without opMu (their targets reserved first), and metadata commits
// are slow here, so they overlap each other, sets made and released, and
// Check: no segment is given twice, and the counters always equal the
// trees.
func TestReplaceConcurrent(t *testing.T) {
	r := newRigWith(t, testPool(12, 60, EC(2, 1)), func(d dev.Device) dev.Device {
		f := faultdev.New(d, 1)
		f.Latency(faultdev.OpFlush, 3*time.Millisecond, 2*time.Millisecond)
		return f
	})
	a := r.open()
	var sets []Set
	for range 30 {
		sets = append(sets, sealedSet(t, r, a, EC(2, 1), 1000))
	}
	lost := sets[0].Members[0].Drive
	if err := a.SetHealth(lost, Faulty); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	targets := map[Member]SetID{}
	replaced := 0
	for _, s := range sets {
		for i, m := range s.Members {
			if m.Drive != lost {
				continue
			}
			replaced++
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := a.BeginReplace(ctx, s.ID, i)
				if err != nil {
					t.Errorf("set %d: begin: %v", s.ID, err)
					return
				}
				mu.Lock()
				if other, ok := targets[p.Target]; ok {
					t.Errorf("segment %s is the target of sets %d and %d", p.Target, other, s.ID)
				}
				targets[p.Target] = s.ID
				mu.Unlock()
				if err := a.CommitReplace(ctx, s.ID, i); err != nil {
					t.Errorf("set %d: commit: %v", s.ID, err)
				}
			}()
		}
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		// Sets made and released: segments below the targets come
		// free and are taken again while the targets' commits run.
		for range 20 {
			s, err := a.NewSet(ctx, EC(2, 1), 0)
			if err != nil {
				t.Errorf("new set during the rebuild: %v", err)
				return
			}
			if _, err := a.Release(ctx, s.ID); err != nil {
				t.Errorf("release during the rebuild: %v", err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 5 {
			if err := a.Check(ctx); err != nil {
				t.Errorf("check during the rebuild: %v", err)
			}
		}
	}()
	wg.Wait()
	if replaced < 5 {
		t.Fatalf("only %d members on drive %d: the test wants many", replaced, lost)
	}
	ids, err := a.SetsOn(ctx, lost)
	if err != nil || len(ids) != 0 {
		t.Fatalf("sets still on the lost drive: %v %v", ids, err)
	}
	mustCheck(t, r, a)
	// And after a recount from the trees, the same counters.
	before := a.Drives()
	r.reopenStore()
	a = r.open()
	if after := a.Drives(); len(after) != len(before) {
		t.Fatalf("drives %v, then %v", before, after)
	} else {
		for i := range before {
			if before[i].Free != after[i].Free || before[i].Rebuilding != after[i].Rebuilding || before[i].OpenSets != after[i].OpenSets {
				t.Fatalf("drive %d: counters %+v, recounted %+v", i, before[i], after[i])
			}
		}
	}
}

// lowestFree passes over a segment reserved by a replacement whose commit
// is running, wherever the drive's hint points (a segment freed below it
// meanwhile lowers the hint beneath the reservation).
func TestLowestFreeSkipsReserved(t *testing.T) {
	r := newRig(t, testPool(6, 40, EC(2, 1)))
	a := r.open()
	v, err := r.st.View(a.segTree)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	d := a.byPos[4]
	first, err := a.lowestFree(v, d)
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	d.reserved = map[uint32]bool{first.Index: true}
	d.hint = 0
	a.mu.Unlock()
	next, err := a.lowestFree(v, d)
	if err != nil {
		t.Fatal(err)
	}
	if next.Index == first.Index {
		t.Fatalf("lowestFree gave segment %d, which a replacement holds", first.Index)
	}
}

// An own transaction does not wait for the detached commits under way
// unless it has something to recount: every one refreshes, and when the
// refresh took countMu regardless, each replacement of a rebuild waited
// for every other's journal commit (a member's begin took 2 s of its 5 on
// 24 drives busy with the rebuild's transfers).
func TestOwnWaitsForDetachedCommitsOnlyToRecount(t *testing.T) {
	r := newRig(t, testPool(6, 20, EC(2, 1)))
	a := r.open()
	s1 := sealedSet(t, r, a, EC(2, 1), 1000)
	s2 := sealedSet(t, r, a, EC(2, 1), 1000)
	begin := func(s Set) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := a.BeginReplace(ctx, s.ID, 0)
			done <- err
		}()
		return done
	}

	a.countMu.RLock() // a detached commit under way
	select {
	case err := <-begin(s1):
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		a.countMu.RUnlock()
		t.Fatal("a replacement waited for another's detached commit with nothing to recount")
	}

	// After a failed commit the counts are stale: the recount must wait
	// for the commits under way, which hold countMu shared.
	a.mu.Lock()
	a.staleDrives = true
	a.mu.Unlock()
	done := begin(s2)
	select {
	case err := <-done:
		a.countMu.RUnlock()
		t.Fatalf("a recount ran beside a detached commit (begin returned %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	a.countMu.RUnlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := a.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
