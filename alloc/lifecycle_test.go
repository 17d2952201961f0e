package alloc

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
)

// TestReleaseReuses: releasing an empty set frees its members with their
// generation incremented, returns them for reset, and makes space again.
func TestReleaseReuses(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	var sets []Set
	for {
		s, err := a.NewSet(ctx, EC(4, 2), 0)
		if errors.Is(err, ErrNoSpace) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, s)
	}
	s := sets[0]
	write(t, r, a, s.ID, 1<<20, 1<<19)
	if err := a.Seal(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Release(ctx, s.ID); !errors.Is(err, ErrState) {
		t.Fatalf("release with live bytes: %v", err)
	}
	drain(t, r, a, s.ID)
	before := a.FSStat()
	ms, err := a.Release(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ms, s.Members) {
		t.Fatalf("released %v, want %v", ms, s.Members)
	}
	for _, m := range ms {
		e, err := a.Segment(m.Drive, m.Segment)
		if err != nil || e.State != StateFree || e.Gen != m.Gen+1 || e.Set != 0 || e.Live != 0 {
			t.Fatalf("%s after release: %+v %v", m, e, err)
		}
	}
	if _, err := a.Lookup(s.ID); !errors.Is(err, ErrNoSet) {
		t.Fatalf("lookup of a released set: %v", err)
	}
	if _, err := a.Release(ctx, s.ID); !errors.Is(err, ErrNoSet) {
		t.Fatalf("release twice: %v", err)
	}
	if f := a.FSStat(); f.FreeSegments != before.FreeSegments+6 || f.SealedSets != before.SealedSets-1 || f.ReclaimableBytes != before.ReclaimableBytes-s.Capacity {
		t.Fatalf("fsstat %+v after release, before %+v", f, before)
	}
	// Space again: the new set takes exactly the released segments (the
	// only ones free beyond the reserves may be elsewhere too, so check
	// that each member is one of them or was free before).
	n := mustSet(t, a, EC(4, 2))
	reused := 0
	for _, m := range n.Members {
		for _, old := range ms {
			if m.Drive == old.Drive && m.Segment == old.Segment {
				reused++
				if m.Gen != old.Gen+1 {
					t.Errorf("%s reused at generation %d, want %d", m, m.Gen, old.Gen+1)
				}
			}
		}
	}
	if reused == 0 {
		t.Errorf("the new set %v reused none of %v", n.Members, ms)
	}
	if n.ID <= sets[len(sets)-1].ID {
		t.Errorf("set id %d reused", n.ID)
	}
	// Releasing an open set (abandoned before any data) also works.
	if _, err := a.Release(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, r, a)
}

// TestCleanable: sealed sets come out best first by (1-u)*age/(1+u).
func TestCleanable(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	type spec struct {
		live int64
		age  time.Duration
	}
	specs := []spec{
		{0, time.Hour},       // empty: score = age
		{2 << 20, time.Hour}, // u = 1/2
		{2 << 20, 10 * time.Hour},
		{4 << 20, 100 * time.Hour}, // full: score 0
		{1 << 20, 2 * time.Hour},   // u = 1/4
	}
	ids := make([]SetID, len(specs))
	for i, sp := range specs {
		s := mustSet(t, a, EC(4, 2))
		ids[i] = s.ID
		write(t, r, a, s.ID, 4<<20, sp.live)
	}
	// Seal in order of decreasing age, advancing the clock between, so
	// that the ages are as specified.
	order := []int{3, 2, 4, 0, 1}
	for k, i := range order {
		next := time.Duration(0)
		if k+1 < len(order) {
			next = specs[i].age - specs[order[k+1]].age
		} else {
			next = specs[i].age
		}
		if err := a.Seal(ctx, ids[i]); err != nil {
			t.Fatal(err)
		}
		r.clock.advance(next)
	}
	mustSet(t, a, EC(4, 2)) // an open set is never a candidate
	cs, err := a.Cleanable(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 5 {
		t.Fatalf("%d candidates, want 5", len(cs))
	}
	for k := 1; k < len(cs); k++ {
		if cs[k].Score > cs[k-1].Score {
			t.Fatalf("candidates out of order: %+v", cs)
		}
	}
	// Scores: 0 (u 0, 1h): 3600; 1 (u .5, 1h): 1200; 2 (u .5, 10h): 12000;
	// 3 (u 1): 0; 4 (u .25, 2h): 4320.
	want := []SetID{ids[2], ids[4], ids[0], ids[1], ids[3]}
	for k, c := range cs {
		if c.ID != want[k] {
			t.Fatalf("candidate %d is set %d (score %v), want %d", k, c.ID, c.Score, want[k])
		}
	}
	if cs[0].Score != 12000 || cs[0].Utilization != 0.5 || cs[0].Age != 10*time.Hour {
		t.Fatalf("best: %+v", cs[0])
	}
	top, err := a.Cleanable(ctx, 2)
	if err != nil || len(top) != 2 || top[0].ID != want[0] || top[1].ID != want[1] {
		t.Fatalf("top 2: %+v %v", top, err)
	}
	if _, err := a.Cleanable(ctx, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("limit 0: %v", err)
	}
	// A set being cleaned is no longer a candidate.
	if err := a.MarkCleaning(ctx, want[0]); err != nil {
		t.Fatal(err)
	}
	if err := a.MarkCleaning(ctx, want[0]); !errors.Is(err, ErrState) {
		t.Fatalf("mark twice: %v", err)
	}
	top, _ = a.Cleanable(ctx, 1)
	if top[0].ID != want[1] {
		t.Fatalf("after marking the best: %+v", top)
	}
	n := 0
	for s, err := range a.Sets(ctx, StateCleaning) {
		if err != nil || s.ID != want[0] {
			t.Fatalf("cleaning sets: %+v %v", s, err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d cleaning sets", n)
	}
	if f := a.FSStat(); f.CleaningSets != 1 || f.SealedSets != 4 || f.OpenSets != 1 {
		t.Fatalf("fsstat: %+v", f)
	}
	mustCheck(t, r, a)
}

// TestReopen: closing and reopening the store reloads the same state.
func TestReopen(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	var ids []SetID
	for i := range 12 {
		s := mustSet(t, a, []Layout{EC(4, 2), Mirror(3), EC(2, 1)}[i%3])
		ids = append(ids, s.ID)
		write(t, r, a, s.ID, int64(i+1)<<16, int64(i)<<15)
		r.clock.advance(time.Minute)
	}
	for _, id := range ids[:6] {
		if err := a.Seal(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.MarkCleaning(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	drain(t, r, a, ids[2])
	if _, err := a.Release(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	want := dumpOf(t, a)
	mustCheck(t, r, a)

	r.reopenStore()
	a = r.open()
	got := dumpOf(t, a)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen:\n%+v\nwant\n%+v", got, want)
	}
	mustCheck(t, r, a)
	// Ids go on from where they were.
	if s := mustSet(t, a, EC(2, 1)); s.ID != ids[len(ids)-1]+1 {
		t.Fatalf("set id %d after reopen, want %d", s.ID, ids[len(ids)-1]+1)
	}
	mustCheck(t, r, a)
}

// TestPoolChanges: a drive new to the pool gets its entries; one missing
// from the pool, or segments that became metadata, are refused.
func TestPoolChanges(t *testing.T) {
	r := newRig(t, testPool(6, 40, EC(2, 1)))
	a := r.open()
	mustSet(t, a, EC(2, 1))
	r.pool = testPool(8, 40, EC(2, 1))
	a = r.open()
	if d := a.Drives(); len(d) != 8 || d[7].Free != 40 {
		t.Fatalf("drives after adding two: %+v", d)
	}
	mustCheck(t, r, a)

	short := testPool(7, 40, EC(2, 1))
	if _, err := Open(ctx, r.st, short, r.opts); !errors.Is(err, ErrPool) || !strings.Contains(err.Error(), "drive 7") {
		t.Fatalf("a pool without drive 7: %v", err)
	}
	moved := testPool(8, 40, EC(2, 1))
	moved.Drives[4].Meta.RingCount, moved.Drives[4].Meta.SegFirst, moved.Drives[4].Meta.SegCount = 1, 1, 1
	if _, err := Open(ctx, r.st, moved, r.opts); !errors.Is(err, ErrPool) || !strings.Contains(err.Error(), "metadata") {
		t.Fatalf("a pool whose drive 4 grew metadata ranges: %v", err)
	}
	smaller := testPool(8, 40, EC(2, 1))
	smaller.Drives[6].Segments = 30
	if _, err := Open(ctx, r.st, smaller, r.opts); !errors.Is(err, ErrPool) {
		t.Fatalf("a pool whose drive 6 shrank: %v", err)
	}
	// A drive that is gone stays in the pool with health Out.
	out := testPool(8, 40, EC(2, 1))
	out.Drives[7].Health = Out
	r.pool = out
	a = r.open()
	mustCheck(t, r, a)
}

// TestBadPools: Open refuses configurations that make no sense.
func TestBadPools(t *testing.T) {
	r := newRig(t, testPool(4, 40, EC(2, 1)))
	bad := map[string]func(p *Pool){
		"no drives":     func(p *Pool) { p.Drives = nil },
		"two at one":    func(p *Pool) { p.Drives[1].Position = 0 },
		"no segments":   func(p *Pool) { p.Drives[2].Segments = 0 },
		"no size":       func(p *Pool) { p.Drives[2].SegmentSize = 0 },
		"zone limits":   func(p *Pool) { p.Drives[2].MaxOpen = -1 },
		"health":        func(p *Pool) { p.Drives[2].Health = 9 },
		"layout":        func(p *Pool) { p.Layout = Layout{} },
		"meta beyond":   func(p *Pool) { p.Drives[0].Meta.SegCount = 40 },
		"meta overlaps": func(p *Pool) { p.Drives[0].Meta.SegFirst = 1 },
	}
	for name, f := range bad {
		p := testPool(4, 40, EC(2, 1))
		f(&p)
		if _, err := Open(ctx, r.st, p, r.opts); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Nothing was created by the refused opens.
	if len(r.st.Trees()) != 0 {
		t.Errorf("trees after refused opens: %+v", r.st.Trees())
	}
}

// TestDriveFromLabel: a drive described from its label and geometry.
func TestDriveFromLabel(t *testing.T) {
	r := newRig(t, testPool(4, 40, EC(2, 1)))
	l := r.labels[1].Label()
	d := DriveFromLabel(l, dev.Geometry{Zoned: dev.ZoneModelHostManaged, MaxOpenZones: 14, MaxActiveZones: 16}, Slow)
	if d.Position != 1 || d.Segments != l.NrSegments || d.SegmentSize != metaSegSize || d.Meta != l.Meta || d.Zoned ||
		d.MaxOpen != 14 || d.MaxActive != 16 || d.Health != Slow {
		t.Fatalf("%+v from %+v", d, l)
	}
	if d.zoneLimit(1) != -1 {
		t.Fatalf("a conventional drive has a zone limit")
	}
	d.Zoned = true
	if d.zoneLimit(3) != 11 {
		t.Fatalf("zone limit %d, want 11", d.zoneLimit(3))
	}
	if d.metaSegments() != ringSegs+metaSegs {
		t.Fatalf("%d metadata segments", d.metaSegments())
	}
}
