package pool

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/io/faultdev"
)

// TestRebuild: a drive fails under a mixed load; no client sees an error,
// every read is right; the rebuild moves every member off it, after which
// reads are clean (no parity needed) and the checker agrees; then a second
// drive fails and is rebuilt the same way, and then a third: with each
// rebuilt in time, K failures one after another lose nothing.
func TestRebuild(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := newRig(t, rigConfig{drives: 9, segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
			rng := rand.New(rand.NewPCG(seed, 11))
			m := newModel()
			order := rng.Perm(6) // data-only drives 3..8
			failed := map[uint32]bool{}
			for range 3 {
				stop := make(chan struct{})
				wg, done := load(t, r.p, m, 4, 3*int(r.p.sb), stop, false)
				waitOps(t, done, int64(30+rng.IntN(40)))
				// The next drive in the order that holds members (one
				// without any has nothing to rebuild).
				pos := uint32(0)
				for _, o := range order {
					c := uint32(3 + o)
					if on, err := r.p.al.SetsOn(ctx, c); !failed[c] && err == nil && len(on) > 0 {
						pos = c
						break
					}
				}
				if pos == 0 {
					t.Fatalf("seed %d: no healthy data drive holds members", seed)
				}
				failed[pos] = true
				r.fail(int(pos))
				if err := r.p.al.SetHealth(pos, alloc.Faulty); err != nil {
					t.Fatal(err)
				}
				waitOps(t, done, 20)
				// The rebuild runs under the load.
				var last RebuildProgress
				res, err := r.p.Rebuild(ctx, RebuildOptions{Progress: func(p RebuildProgress) { last = p }})
				if err != nil {
					t.Fatalf("seed %d drive %d: rebuild: %v", seed, pos, err)
				}
				close(stop)
				wg.Wait()
				if t.Failed() {
					t.Fatalf("seed %d: client errors with drive %d failed", seed, pos)
				}
				if len(res.Errors) != 0 || res.MembersDone == 0 || last.SetsDone != res.SetsTotal {
					t.Fatalf("seed %d drive %d: rebuild %+v, last progress %+v", seed, pos, res, last)
				}
				t.Logf("seed %d: drive %d rebuilt: %d members of %d sets, %d bytes", seed, pos, res.MembersDone, res.SetsTotal, res.Bytes)
				on, err := r.p.al.SetsOn(ctx, pos)
				if err != nil || len(on) != 0 {
					t.Fatalf("seed %d: sets still on drive %d after the rebuild: %v %v", seed, pos, on, err)
				}
				before := r.p.Stats().DegradedReads
				m.verify(t, r.p, nil)
				if after := r.p.Stats().DegradedReads; after != before {
					t.Fatalf("seed %d: %d reads needed parity after the rebuild", seed, after-before)
				}
				r.check()
			}
			if len(r.eventsOf(EventMemberRebuilt)) == 0 || len(r.eventsOf(EventRebuildDone)) != 3 {
				t.Fatalf("seed %d: events %d rebuilt, %d done", seed, len(r.eventsOf(EventMemberRebuilt)), len(r.eventsOf(EventRebuildDone)))
			}
			r.reopen()
			m.verify(t, r.p, nil)
			r.check()
		})
	}
}

// TestRebuildNoRoom: when no healthy drive can take a target the rebuild
// says so for each member and leaves the sets readable through parity.
func TestRebuildNoRoom(t *testing.T) {
	r := newRig(t, rigConfig{drives: 6, segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	want := map[string][]byte{}
	for i := range 20 {
		owner := fmt.Sprintf("n%d", i)
		want[owner] = payload(owner, 1, 2*int(r.p.sb))
		r.put(owner, 1, want[owner])
	}
	r.fail(4)
	if err := r.p.al.SetHealth(4, alloc.Faulty); err != nil {
		t.Fatal(err)
	}
	res, err := r.p.Rebuild(ctx, RebuildOptions{})
	if err != nil || len(res.Errors) == 0 || res.MembersDone != 0 {
		t.Fatalf("rebuild with every other drive in the set: %+v %v", res, err)
	}
	if len(r.eventsOf(EventRebuildFailed)) == 0 {
		t.Fatal("no rebuild-failed event")
	}
	for owner, b := range want {
		r.mustGet(owner, 1, b)
	}
	r.check()
}

// TestRebalance: a drive that took no data (a new one) gets members moved
// onto it until the drives are even; everything reads back and checks.
func TestRebalance(t *testing.T) {
	r := newRig(t, rigConfig{drives: 8, segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	if err := r.p.al.SetHealth(7, alloc.Spare); err != nil { // no new sets there
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range 60 {
		owner := fmt.Sprintf("b%d", i)
		want[owner] = payload(owner, 1, 3*int(r.p.sb))
		r.put(owner, 1, want[owner])
	}
	if err := r.p.al.SetHealth(7, alloc.Online); err != nil { // the new drive
		t.Fatal(err)
	}
	_, _, before := r.p.extremes()
	res, err := r.p.Rebalance(ctx, RebalanceOptions{})
	if err != nil || res.Moves == 0 || res.Spread >= before || res.Spread > 0.15 {
		t.Fatalf("rebalance from a spread of %.2f: %+v %v", before, res, err)
	}
	on, err := r.p.al.SetsOn(ctx, 7)
	if err != nil || len(on) != res.Moves {
		t.Fatalf("%d moves, %d sets on the new drive (%v)", res.Moves, len(on), err)
	}
	for owner, b := range want {
		r.mustGet(owner, 1, b)
	}
	if n := len(r.eventsOf(EventMemberMoved)); n != res.Moves {
		t.Fatalf("%d member-moved events for %d moves", n, res.Moves)
	}
	r.check()
	// Even already: nothing more moves.
	if res2, err := r.p.Rebalance(ctx, RebalanceOptions{}); err != nil || res2.Moves != 0 {
		t.Fatalf("second rebalance: %+v %v", res2, err)
	}
}

// TestRepairSkipsSoundStripes: a stripe queued by a read that met a
// passing error is whole when the repair comes: it is dequeued, nothing
// moved.
func TestRepairSkipsSoundStripes(t *testing.T) {
	r := newRig(t, rigConfig{opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	want := payload("x", 1, 3*int(r.p.sb))
	r.put("x", 1, want)
	r.devs[1].FailRate(faultdev.OpRead, 1)
	r.mustGet("x", 1, want) // read through parity, stripes queued
	r.devs[1].FailRate(faultdev.OpRead, 0)
	r.p.bg.Wait()
	if q, err := r.p.RepairQueue(); err != nil || len(q) == 0 {
		t.Fatalf("queue: %v %v", q, err)
	}
	if err := r.p.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if q, err := r.p.RepairQueue(); err != nil || len(q) != 0 {
		t.Fatalf("queue after repair: %v %v", q, err)
	}
	if st := r.p.Stats(); st.Repaired != 0 || st.BytesRelocated != 0 {
		t.Fatalf("sound stripes moved: %+v", st)
	}
	r.mustGet("x", 1, want)
	r.check()
}
