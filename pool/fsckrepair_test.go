package pool

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/stripe"
)

// openForRepair stops the pool and the store and opens both as fsck's
// repair does: the store read-write, the pool by OpenForRepair.
func (r *rig) openForRepair() {
	r.t.Helper()
	r.stop()
	r.openStore()
	p, err := OpenForRepair(ctx, r.st, r.config(), Options{Alloc: alloc.Options{Seed: 1}})
	if err != nil {
		r.t.Fatal(err)
	}
	r.p = p
}

// filledRig is a rig with 30 owners of two stripes each, version 1.
func filledRig(t *testing.T) (*rig, map[string][]byte) {
	r := newRig(t, rigConfig{segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	want := map[string][]byte{}
	for i := range 30 {
		owner := fmt.Sprintf("o%02d", i)
		want[owner] = payload(owner, 1, 2*int(r.p.sb)-200)
		r.put(owner, 1, want[owner])
	}
	return r, want
}

func (r *rig) firstSet() alloc.SetID {
	r.t.Helper()
	var ids []alloc.SetID
	for s, err := range r.p.al.Sets(ctx) {
		if err != nil {
			r.t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids[0]
}

// A corrupt data unit and a corrupt parity unit: RepairStripes moves the
// stripes' live records, after which the damage holds nothing live, every
// owner reads back and the deep check passes.
func TestRepairStripes(t *testing.T) {
	r, want := filledRig(t)
	id := r.firstSet()
	pos, off := r.unitOffset(id, 1, 0)
	r.devs[pos].CorruptAt(off + 100)
	ppos, poff := r.unitOffset(id, r.layout.N, 1)
	r.devs[ppos].CorruptAt(poff + 100)
	r.openForRepair()
	n, err := r.p.RepairStripes(ctx, []StripeRef{{Set: id, Stripe: 0, Members: 1 << 1}, {Set: id, Stripe: 1, Members: 1 << r.layout.N}})
	if err != nil || n != 2 {
		t.Fatalf("repaired %d: %v", n, err)
	}
	var found []StripeDamage
	if _, err := r.p.DeepScan(ctx, nil, func(d StripeDamage) { found = append(found, d) }); err != nil {
		t.Fatal(err)
	}
	for _, d := range found {
		if d.Live {
			t.Fatalf("live damage after the repair: %+v", d)
		}
	}
	if q, err := r.p.RepairQueue(); err != nil || len(q) != 0 {
		t.Fatalf("repair queue %v %v", q, err)
	}
	r.check()
	for owner, b := range want {
		r.mustGet(owner, 1, b)
	}
	r.reopen()
	r.check()
}

// Two owners' extents pointing at one record: the record's header names
// its owner; dropping the other owner and recounting leaves the pool
// consistent, the right owner readable.
func TestDuplicatesAndDropOwners(t *testing.T) {
	r := newRig(t, rigConfig{segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	a, b := payload("a", 3, 5000), payload("b", 4, 7000)
	r.put("a", 3, a)
	r.put("b", 4, b)
	r.put("c", 1, payload("c", 1, 100))
	ea, _, err := r.st.Get(r.p.extents, extentKey([]byte("a"), 0))
	if err != nil {
		t.Fatal(err)
	}
	ha, _, err := r.st.Get(r.p.heads, []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	// b's extent and head become copies of a's: b now points at a's record.
	batch := store.NewBatch()
	batch.Put(r.p.extents, extentKey([]byte("b"), 0), ea)
	batch.Put(r.p.heads, []byte("b"), ha)
	if _, err := r.st.Commit(ctx, batch); err != nil {
		t.Fatal(err)
	}
	r.openForRepair()
	if err := r.p.Check(ctx, CheckOptions{}); err == nil {
		t.Fatal("the check finds nothing")
	}
	dups, err := r.p.Duplicates(ctx)
	if err != nil || len(dups) != 1 {
		t.Fatalf("duplicates %+v %v", dups, err)
	}
	d := dups[0]
	wrong := d.Wrong()
	if d.Header == nil || string(d.Header.Owner) != "a" || len(wrong) != 1 || string(wrong[0].Owner) != "b" {
		t.Fatalf("duplicate %+v, wrong %+v", d, wrong)
	}
	lost, err := r.p.DropOwners(ctx, store.NewBatch(), [][]byte{[]byte("b"), []byte("b"), []byte("nobody")})
	if err != nil || len(lost) != 1 || string(lost[0].Owner) != "b" || lost[0].Version != 3 {
		t.Fatalf("dropped %+v: %v", lost, err)
	}
	fixes, err := r.p.Recount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixes {
		if f.Err != nil {
			t.Fatalf("fix %v", f)
		}
	}
	r.check()
	if fixes, err := r.p.LiveFixes(ctx); err != nil || len(fixes) != 0 {
		t.Fatalf("after the recount: %v %v", fixes, err)
	}
	r.mustGet("a", 3, a)
	if _, err := r.p.Stat([]byte("b")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("b after the drop: %v", err)
	}
	r.reopen()
	r.check()
}

// More units damaged than parity covers: the stripe's owners are found by
// StripeRefs; once dropped, DeepScan calls the stripe dead, the deep
// check passes and the other owners read back.
func TestUnrecoverableStripeDropped(t *testing.T) {
	r, want := filledRig(t)
	id := r.firstSet()
	for _, m := range []int{0, 2, r.layout.N} {
		pos, off := r.unitOffset(id, m, 3)
		r.devs[pos].CorruptAt(off + 5000)
	}
	r.openForRepair()
	var found []StripeDamage
	if _, err := r.p.DeepScan(ctx, nil, func(d StripeDamage) { found = append(found, d) }); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || !errors.Is(found[0].Err, stripe.ErrUnrecoverable) || !found[0].Live {
		t.Fatalf("damage %+v", found)
	}
	refs, err := r.p.StripeRefs(ctx, map[alloc.SetID][]int64{id: {3}})
	if err != nil || len(refs) == 0 {
		t.Fatalf("refs %v %v", refs, err)
	}
	var owners [][]byte
	for _, ref := range refs {
		owners = append(owners, ref.Owner)
		delete(want, string(ref.Owner))
	}
	if _, err := r.p.DropOwners(ctx, store.NewBatch(), owners); err != nil {
		t.Fatal(err)
	}
	found = nil
	if _, err := r.p.DeepScan(ctx, nil, func(d StripeDamage) { found = append(found, d) }); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Live {
		t.Fatalf("damage after the drop %+v", found)
	}
	r.check()
	for owner, b := range want {
		r.mustGet(owner, 1, b)
	}
}

// An empty sealed set (orphaned space) is listed and released; a set with
// live bytes is not.
func TestReleaseEmpty(t *testing.T) {
	r, _ := filledRig(t)
	s, err := r.p.openStream(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.w.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := r.p.al.Seal(ctx, s.set.ID); err != nil {
		t.Fatal(err)
	}
	r.openForRepair()
	empty, err := r.p.EmptySets(ctx)
	if err != nil || !slices.Equal(empty, []alloc.SetID{s.set.ID}) {
		t.Fatalf("empty sets %v %v", empty, err)
	}
	released, err := r.p.ReleaseEmpty(ctx, []alloc.SetID{s.set.ID, r.firstSet()})
	if err != nil || !slices.Equal(released, []alloc.SetID{s.set.ID}) {
		t.Fatalf("released %v %v", released, err)
	}
	if _, err := r.p.al.Lookup(s.set.ID); !errors.Is(err, alloc.ErrNoSet) {
		t.Fatalf("the set is still there: %v", err)
	}
	r.check()
}
