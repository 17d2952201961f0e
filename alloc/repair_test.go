package alloc

import (
	"errors"
	"testing"

	"github.com/plinth-storage/plinth/btree/store"
)

// A set whose live bytes and one member's share are wrong: SetLive puts
// both right in one commit, the counters follow, Check passes.
func TestSetLiveRepairsAccounting(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	s := mustSet(t, a, EC(4, 2))
	b := store.NewBatch()
	if err := a.Advance(ctx, b, s.ID, 10000); err != nil {
		t.Fatal(err)
	}
	if err := a.AddLive(ctx, b, s.ID, 4000); err != nil {
		t.Fatal(err)
	}
	_, err := r.st.Commit(ctx, b)
	a.Done(b, err)
	if err != nil {
		t.Fatal(err)
	}
	// Damage: the set says 7000 live, member 2's entry 5.
	s, _ = a.Lookup(s.ID)
	bad := s
	bad.Live = 7000
	e, err := a.Segment(s.Members[2].Drive, s.Members[2].Segment)
	if err != nil {
		t.Fatal(err)
	}
	e.Live = 5
	b = store.NewBatch()
	b.Put(a.setTree, setKey(s.ID), bad.encode())
	b.Put(a.segTree, segKey(e.Drive, e.Index), e.encode())
	if _, err := r.st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	r.reopenStore()
	a = r.open()
	if err := a.Check(ctx); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("check of the damage: %v", err)
	}
	got, _ := a.Lookup(s.ID)
	if ok, err := a.SharesAgree(got); err != nil || ok {
		t.Fatalf("shares agree: %v %v", ok, err)
	}
	b = store.NewBatch()
	if err := a.SetLive(ctx, b, s.ID, 4000); err != nil {
		t.Fatal(err)
	}
	_, err = r.st.Commit(ctx, b)
	a.Done(b, err)
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, r, a)
	got, _ = a.Lookup(s.ID)
	if ok, err := a.SharesAgree(got); err != nil || !ok || got.Live != 4000 {
		t.Fatalf("after SetLive: %+v, shares agree %v %v", got, ok, err)
	}
	if f := a.FSStat(); f.UsedBytes != 4000 {
		t.Fatalf("fsstat %+v", f)
	}
	b = store.NewBatch()
	if err := a.SetLive(ctx, b, s.ID, 10001); err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("live past the frontier: %v", err)
	}
	a.Abandon(b)
}
