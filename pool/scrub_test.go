package pool

import (
	"errors"
	"fmt"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
)

// TestScrubFrom: a pass stopped after its first set resumes after it,
// visits every other set once, and finds damage planted beyond the
// stopping point.
func TestScrubFrom(t *testing.T) {
	r := newRig(t, rigConfig{segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	for i := range 60 {
		r.put(fmt.Sprintf("s%d", i), 1, payload("s", uint64(i), int(r.p.sb)*2))
	}
	var ids []alloc.SetID
	for s, err := range r.p.al.Sets(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	if len(ids) < 3 {
		t.Fatalf("only %d sets", len(ids))
	}
	stop := errors.New("stop")
	var cursor alloc.SetID
	res, err := r.p.ScrubFrom(ctx, 0, func(pr ScrubProgress) error {
		cursor = pr.LastSet
		if pr.SetsTotal != int64(len(ids)) || pr.SetsDone != 1 {
			t.Fatalf("progress %+v with %d sets", pr, len(ids))
		}
		return stop
	})
	if !errors.Is(err, stop) || res.Sets != 1 || cursor != ids[0] {
		t.Fatalf("stopped pass: %+v %v, cursor %d", res, err, cursor)
	}
	// Corrupt a parity unit of the last set: only the resumed pass can
	// find it.
	last := ids[len(ids)-1]
	pos, off := r.unitOffset(last, r.layout.N, 0)
	r.devs[pos].CorruptAt(off + 100)
	var seen []alloc.SetID
	res, err = r.p.ScrubFrom(ctx, cursor, func(pr ScrubProgress) error {
		seen = append(seen, pr.LastSet)
		return nil
	})
	if err != nil || res.Sets != int64(len(ids)-1) || fmt.Sprint(seen) != fmt.Sprint(ids[1:]) || res.Damaged != 1 {
		t.Fatalf("resumed pass: %+v %v, saw %v of %v", res, err, seen, ids)
	}
	r.p.bg.Wait()
	if err := r.p.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := r.p.Scrub(ctx); err != nil || res.Damaged != 0 {
		t.Fatalf("after repair: %+v %v", res, err)
	}
	r.check()
}
