package store

import (
	"errors"
	"testing"

	"github.com/plinth-storage/plinth/btree"
)

// inspect runs Inspect and returns the problems.
func inspect(t *testing.T, s *Store) []Problem {
	t.Helper()
	var problems []Problem
	if err := s.Inspect(nil, func(p Problem) { problems = append(problems, p) }); err != nil {
		t.Fatal(err)
	}
	return problems
}

// badSegments are the metadata segments of the damaged copies Inspect
// reports.
func badSegments(ps []Problem) []int {
	var out []int
	for _, p := range ps {
		if errors.Is(p.Err, ErrBadCopy) {
			out = append(out, p.Segment)
		}
	}
	return out
}

// A node copy damaged on one mirror, and that mirror's copy of the
// checkpoint record: Rewrite of their segments leaves Inspect clean, the
// trees as they were, on the next open too.
func TestRewriteRepairsBadCopies(t *testing.T) {
	r := newRig(t, defaultRig())
	s, m := filled(t, r)
	var leaf btree.Ptr
	s.applyMu.RLock()
	sn := s.trees["t"].tree.Snapshot()
	s.applyMu.RUnlock()
	if err := sn.Walk(func(p btree.Ptr, level uint8) error {
		if level == 0 {
			leaf = p
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rec := s.lastRecord
	r.faults[1].CorruptAt(s.sp.mirrors[1].segs[leaf.Addr.Set].Start + int64(leaf.Addr.Off) + int64(leaf.Addr.Len)/2)
	r.faults[2].CorruptAt(s.sp.mirrors[2].segs[rec.Set].Start + int64(rec.Off) + 20)
	s = r.mustReopen()
	ps := inspect(t, s)
	segs := badSegments(ps)
	if len(segs) != 2 || len(ps) != 2 {
		t.Fatalf("problems %v", ps)
	}
	n, err := s.Rewrite(segs)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no node rewritten")
	}
	if ps := inspect(t, s); len(ps) != 0 {
		t.Fatalf("after the rewrite: %v", ps)
	}
	same(t, s, m)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = r.mustReopen()
	defer s.Close()
	same(t, s, m)
	mustCheck(t, s)
	if ps := inspect(t, s); len(ps) != 0 {
		t.Fatalf("after reopening: %v", ps)
	}
}

// Every metadata segment of one mirror zeroed: rewriting the segments
// Inspect names puts every live node back on that mirror.
func TestRewriteRepairsZeroedMirror(t *testing.T) {
	r := newRig(t, defaultRig())
	s, m := filled(t, r)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, loc := range s.sp.mirrors[0].segs {
		if err := zeroRange(r, 0, loc.Start, loc.Capacity); err != nil {
			t.Fatal(err)
		}
	}
	s = r.mustReopen()
	defer s.Close()
	segs := badSegments(inspect(t, s))
	if len(segs) == 0 {
		t.Fatal("no damage found")
	}
	if _, err := s.Rewrite(segs); err != nil {
		t.Fatal(err)
	}
	if ps := inspect(t, s); len(ps) != 0 {
		t.Fatalf("after the rewrite: %v", ps)
	}
	same(t, s, m)
}

func zeroRange(r *rig, mirror int, off, n int64) error {
	_, err := r.faults[mirror].WriteAt(make([]byte, n), off)
	if err == nil {
		err = r.faults[mirror].Flush()
	}
	return err
}

// A wrong live count in the checkpoint: Recount corrects it with a
// checkpoint; a second Recount changes nothing.
func TestRecountRepairsAccounting(t *testing.T) {
	r := newRig(t, defaultRig())
	s, m := filled(t, r)
	s.sp.mu.Lock()
	for i := range s.sp.table {
		if s.sp.table[i].Live > 0 {
			s.sp.table[i].Live += 4096
			break
		}
	}
	s.sp.mu.Unlock()
	if err := s.ForceCheckpoint(); err != nil { // the wrong count is durable
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = r.mustReopen()
	defer s.Close()
	if err := s.Check(); err == nil {
		t.Fatal("the wrong count is not durable")
	}
	changed, err := s.Recount()
	if err != nil || len(changed) != 1 {
		t.Fatalf("recount: %v %v", changed, err)
	}
	mustCheck(t, s)
	same(t, s, m)
	if changed, err := s.Recount(); err != nil || len(changed) != 0 {
		t.Fatalf("second recount: %v %v", changed, err)
	}
}
