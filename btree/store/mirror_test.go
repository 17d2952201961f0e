package store

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/io/faultdev"
)

func filled(t *testing.T, r *rig) (*Store, model) {
	t.Helper()
	s := r.create()
	m := model{"t": {}}
	if err := s.CreateTree(ctx, "t", ""); err != nil {
		t.Fatal(err)
	}
	w := &workload{rng: rand.New(rand.NewPCG(5, 5)), trees: []string{"t"}, keys: 2000}
	for range 30 {
		commit(t, s, w.batch(m, 40))
	}
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	return s, m
}

// A node damaged at rest on one mirror is read from another, with an
// event; no wrong data is returned.
func TestBadCopyReadFromAnotherMirror(t *testing.T) {
	r := newRig(t, defaultRig())
	s, m := filled(t, r)
	var ptrs []btree.Ptr
	s.applyMu.RLock()
	sn := s.trees["t"].tree.Snapshot()
	s.applyMu.RUnlock()
	if err := sn.Walk(func(p btree.Ptr, _ uint8) error { ptrs = append(ptrs, p); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ptrs) < 3 {
		t.Fatalf("a tree of %d nodes", len(ptrs))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Damage every node on mirror 0, and a third of them on mirror 1 too.
	for i, p := range ptrs {
		loc := func(mi int) int64 {
			return s.sp.mirrors[mi].segs[p.Addr.Set].Start + int64(p.Addr.Off) + int64(p.Addr.Len)/2
		}
		r.faults[0].CorruptAt(loc(0))
		if i%3 == 0 {
			r.faults[1].CorruptAt(loc(1))
		}
	}
	s = r.mustReopen()
	defer s.Close()
	same(t, s, m)
	if n := len(r.eventsOf("bad-copy")); n < len(ptrs) {
		t.Fatalf("%d bad-copy events for %d damaged nodes", n, len(ptrs))
	}
	mustCheck(t, s)
}

// A node damaged on every mirror is an error naming it, never wrong data.
func TestNodeLostOnAllMirrors(t *testing.T) {
	r := newRig(t, defaultRig())
	s, _ := filled(t, r)
	root := s.trees["t"].ckptRoot.Ptr
	s.Close()
	for i, fd := range r.faults {
		fd.CorruptAt(s.sp.mirrors[i].segs[root.Addr.Set].Start + int64(root.Addr.Off) + 45)
	}
	_, err := r.reopen()
	if err == nil || !errors.Is(err, btree.ErrCorrupt) && !errors.Is(err, btree.ErrMismatch) {
		t.Fatalf("open with the root of a tree lost on every mirror: %v", err)
	}
	if !strings.Contains(err.Error(), `tree "t"`) {
		t.Fatalf("the error does not name the tree: %v", err)
	}
}

// A mirror whose writes fail is taken out; the store goes on with two,
// and after a restart reads everything.
func TestMirrorFailsStoreGoesOn(t *testing.T) {
	r := newRig(t, defaultRig())
	s, m := filled(t, r)
	r.faults[2].FailRate(faultdev.OpWrite, 1)
	w := &workload{rng: rand.New(rand.NewPCG(9, 9)), trees: []string{"t"}, keys: 2000}
	for range 10 {
		commit(t, s, w.batch(m, 40))
	}
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if len(r.eventsOf("mirror-failed")) == 0 {
		t.Fatal("no mirror-failed event")
	}
	same(t, s, m)
	mustCheck(t, s)
	// A second failure leaves too few mirrors: checkpoints fail, saying so.
	r.faults[1].FailRate(faultdev.OpWrite, 1)
	doubt := m.clone() // with the batch whose commit fails: it is in doubt
	_, commitErr := s.Commit(ctx, w.batch(doubt, 5))
	ckptErr := s.Checkpoint()
	if commitErr == nil && ckptErr == nil {
		t.Fatal("the store went on with one mirror of three")
	}
	t.Logf("commit: %v; checkpoint: %v", commitErr, ckptErr)
	r.powerCut(faultdev.CutDrop)
	s.Close()
	r.faults[1].ClearFaults()
	r.faults[2].ClearFaults()
	s = r.mustReopen()
	defer s.Close()
	if err := sameErr(s, m); err != nil {
		if err2 := sameErr(s, doubt); err2 != nil {
			t.Fatalf("after the restart the store is neither the acknowledged state (%v) nor that plus the batch in doubt (%v)", err, err2)
		}
	}
	mustCheck(t, s)
}

// Check notices a live-byte count that does not match the trees.
func TestCheckFindsBadAccounting(t *testing.T) {
	r := newRig(t, defaultRig())
	s, _ := filled(t, r)
	defer s.Close()
	mustCheck(t, s)
	s.sp.mu.Lock()
	for i := range s.sp.table {
		if s.sp.table[i].Live > 0 {
			s.sp.table[i].Live += 4096
			break
		}
	}
	s.sp.mu.Unlock()
	err := s.Check()
	if !errors.Is(err, btree.ErrInconsistent) || !strings.Contains(err.Error(), "live bytes") {
		t.Fatalf("check of a wrong count: %v", err)
	}
}
