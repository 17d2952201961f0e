package store

import (
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/superblock"
)

// digest hashes every byte of every mirror.
func (r *rig) digest() [][32]byte {
	r.t.Helper()
	var out [][32]byte
	for _, fd := range r.faults {
		size := fd.Geometry().Size
		h := sha256.New()
		buf := dev.AlignedBuffer(1 << 20)
		for off := int64(0); off < size; off += int64(len(buf)) {
			b := buf[:min(int64(len(buf)), size-off)]
			if _, err := fd.ReadAt(b, off); err != nil {
				r.t.Fatal(err)
			}
			h.Write(b)
		}
		out = append(out, [32]byte(h.Sum(nil)))
	}
	return out
}

// openReadOnly rereads the labels after a power cycle and opens the store
// read-only.
func (r *rig) openReadOnly(ro ReadOnlyOptions) *Store {
	r.t.Helper()
	for i, fd := range r.faults {
		fd.Restart()
		lg, err := superblock.Open(fd)
		if err != nil {
			r.t.Fatalf("label of mirror %d: %v", i, err)
		}
		r.labels[i] = lg
	}
	s, err := OpenReadOnly(r.options(), ro)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// A store opened read-only after a crash replays its journal into memory
// and serves it, refuses changes, and leaves every byte of every mirror as
// it was; a normal open afterwards recovers as usual.
func TestOpenReadOnlyWritesNothing(t *testing.T) {
	r := newRig(t, defaultRig())
	s, m := filled(t, r)
	w := &workload{rng: rand.New(rand.NewPCG(9, 9)), trees: []string{"t"}, keys: 2000}
	for range 10 {
		commit(t, s, w.batch(m, 40)) // in the journal only
	}
	r.powerCut(faultdev.CutDrop)
	for _, fd := range r.faults {
		fd.Restart()
	}
	before := r.digest()
	replayed := 0
	ro := r.openReadOnly(ReadOnlyOptions{Replayed: func(uint64) { replayed++ }})
	if replayed < 10 {
		t.Fatalf("%d transactions replayed, want at least 10", replayed)
	}
	same(t, ro, m)
	mustCheck(t, ro)
	var problems []Problem
	if err := ro.Inspect(nil, func(p Problem) { problems = append(problems, p) }); err != nil || len(problems) > 0 {
		t.Fatalf("inspect of a healthy store: %v %v", err, problems)
	}
	b := NewBatch()
	b.Put("t", []byte("new"), []byte("value"))
	if _, err := ro.Commit(ctx, b); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("commit on a read-only store: %v", err)
	}
	if err := ro.CreateTree(ctx, "u", ""); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("create tree on a read-only store: %v", err)
	}
	tails := ro.Journal().Tails()
	if len(tails) != 3 {
		t.Fatalf("journal tails %+v", tails)
	}
	for _, tl := range tails {
		if tl.Err != nil || tl.Tail.Torn {
			t.Fatalf("tail %+v", tl)
		}
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if after := r.digest(); !equalDigests(before, after) {
		t.Fatal("opening the store read-only changed the mirrors")
	}
	s = r.mustReopen()
	defer s.Close()
	same(t, s, m)
	mustCheck(t, s)
}

func equalDigests(a, b [][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Inspect names the tree, mirror and segment of a node copy damaged on
// one mirror, which Check (reading around it) does not see.
func TestInspectFindsOneBadCopy(t *testing.T) {
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
	r.faults[1].CorruptAt(s.sp.mirrors[1].segs[leaf.Addr.Set].Start + int64(leaf.Addr.Off) + int64(leaf.Addr.Len)/2)
	ro := r.openReadOnly(ReadOnlyOptions{})
	defer ro.Close()
	same(t, ro, m)
	mustCheck(t, ro)
	var problems []Problem
	var done, total int64
	if err := ro.Inspect(func(d, n int64) { done, total = d, n }, func(p Problem) { problems = append(problems, p) }); err != nil {
		t.Fatal(err)
	}
	if done == 0 || done != total {
		t.Fatalf("progress %d of %d", done, total)
	}
	if len(problems) != 1 {
		t.Fatalf("problems %v", problems)
	}
	p := problems[0]
	if p.Tree != "t" || p.Mirror != "meta1" || p.Segment != int(leaf.Addr.Set) || p.Offset != int64(leaf.Addr.Off) || p.Count != 1 || !errors.Is(p.Err, ErrBadCopy) {
		t.Fatalf("problem %+v, want tree t, mirror meta1, segment %d offset %d", p, leaf.Addr.Set, leaf.Addr.Off)
	}
}

// A node lost on every mirror is a problem of its tree, besides each
// mirror's damaged copy.
func TestInspectFindsALostNode(t *testing.T) {
	r := newRig(t, defaultRig())
	s, _ := filled(t, r)
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
	s.Close()
	for i, fd := range r.faults {
		fd.CorruptAt(s.sp.mirrors[i].segs[leaf.Addr.Set].Start + int64(leaf.Addr.Off) + 45)
	}
	ro := r.openReadOnly(ReadOnlyOptions{})
	defer ro.Close()
	var whole, copies int
	if err := ro.Inspect(nil, func(p Problem) {
		switch {
		case p.Mirror == "" && p.Tree == "t" && (errors.Is(p.Err, btree.ErrCorrupt) || errors.Is(p.Err, btree.ErrMismatch)):
			whole++
		case errors.Is(p.Err, ErrBadCopy) && p.Tree == "t":
			copies++
		default:
			t.Errorf("unexpected problem %v", p)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if whole != 1 || copies != 3 {
		t.Fatalf("%d problems of the tree, %d damaged copies; want 1 and 3", whole, copies)
	}
}
