package alloc

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
)

// sealedSet makes a sealed set with live bytes.
func sealedSet(t testing.TB, r *rig, a *Allocator, l Layout, live int64) Set {
	t.Helper()
	s := mustSet(t, a, l)
	write(t, r, a, s.ID, 3*live, live)
	if err := a.Seal(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	s, err := a.Lookup(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pending lists the allocator's pending replacements.
func pending(t testing.TB, a *Allocator) []Replacement {
	t.Helper()
	var out []Replacement
	for p, err := range a.Replacements(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func mustSegment(t testing.TB, a *Allocator, m Member) Segment {
	t.Helper()
	e, err := a.Segment(m.Drive, m.Segment)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// drivesOf is the drives of a set's members and pending targets; it
// fails the test if two share a drive.
func drivesOf(t testing.TB, s Set) map[uint32]bool {
	t.Helper()
	ds := map[uint32]bool{}
	add := func(what string, d uint32) {
		if ds[d] {
			t.Fatalf("%s: %s on drive %d, which the set already uses: %+v", s, what, d, s)
		}
		ds[d] = true
	}
	for i, m := range s.Members {
		if _, ok := s.replacing(i); ok {
			continue // may share its own member's drive
		}
		add(fmt.Sprintf("member %d", i), m.Drive)
	}
	for _, p := range s.Replacing {
		add(fmt.Sprintf("target of member %d", p.Member), p.Target.Drive)
	}
	return ds
}

// TestReplaceRoundTrip: begin, commit and abort, with the entries, the
// counters, fsstat and Check after each step.
func TestReplaceRoundTrip(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	s := sealedSet(t, r, a, EC(4, 2), 4001)
	other := sealedSet(t, r, a, EC(4, 2), 10)
	lostDrive := s.Members[2].Drive
	if err := a.SetHealth(lostDrive, Faulty); err != nil {
		t.Fatal(err)
	}
	before := a.FSStat()
	r.clock.advance(time.Minute)

	p, err := a.BeginReplace(ctx, s.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if p.Set != s.ID || p.Member != 2 || !p.Started.Equal(r.clock.now()) {
		t.Fatalf("replacement %+v", p)
	}
	for _, m := range s.Members {
		if p.Target.Drive == m.Drive {
			t.Fatalf("target %s on a drive of the set %v", p.Target, s.Members)
		}
	}
	e := mustSegment(t, a, p.Target)
	if e.State != StateRebuilding || e.Set != s.ID || e.Gen != p.Target.Gen || e.Live != 0 {
		t.Fatalf("target entry %+v", e)
	}
	got, _ := a.Lookup(s.ID)
	if !reflect.DeepEqual(got.Replacing, []Replacement{p}) || !reflect.DeepEqual(got.Members, s.Members) {
		t.Fatalf("set after begin: %+v", got)
	}
	if ps := pending(t, a); !reflect.DeepEqual(ps, []Replacement{p}) {
		t.Fatalf("pending %+v", ps)
	}
	f := a.FSStat()
	if f.FreeSegments != before.FreeSegments-1 || f.RebuildingSegments != 1 || f.RebuildingBytes != 1<<20 {
		t.Fatalf("fsstat after begin: %+v, before %+v", f, before)
	}
	if !strings.Contains(f.String(), "being rebuilt") {
		t.Fatalf("fsstat says nothing of the rebuild:\n%s", f)
	}
	if d := a.Drives()[p.Target.Drive]; d.Rebuilding != 1 || d.OpenSets != 0 {
		t.Fatalf("target drive %+v", d)
	}
	mustCheck(t, r, a)

	// Refusals while it is pending.
	if _, err := a.BeginReplace(ctx, s.ID, 2); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "already being replaced") {
		t.Fatalf("begin twice: %v", err)
	}
	if err := a.CommitReplace(ctx, s.ID, 3); !errors.Is(err, ErrState) {
		t.Fatalf("commit of a member not being replaced: %v", err)
	}
	if err := a.AbortReplace(ctx, other.ID, 2); !errors.Is(err, ErrState) {
		t.Fatalf("abort in another set: %v", err)
	}
	for _, m := range []int{-1, 6} {
		if _, err := a.BeginReplace(ctx, s.ID, m); !errors.Is(err, ErrInvalid) {
			t.Fatalf("begin member %d: %v", m, err)
		}
		if err := a.CommitReplace(ctx, s.ID, m); !errors.Is(err, ErrInvalid) {
			t.Fatalf("commit member %d: %v", m, err)
		}
	}
	if _, err := a.BeginReplace(ctx, 99, 0); !errors.Is(err, ErrNoSet) {
		t.Fatalf("begin in no set: %v", err)
	}

	// Live bytes change while the replacement is pending: the target's
	// share comes at commit.
	stage(t, r, a, func(b *store.Batch) error { return a.AddLive(ctx, b, s.ID, -1000) })
	if e := mustSegment(t, a, p.Target); e.Live != 0 {
		t.Fatalf("target took live bytes before commit: %+v", e)
	}
	mustCheck(t, r, a)

	r.clock.advance(time.Minute)
	if err := a.CommitReplace(ctx, s.ID, 2); err != nil {
		t.Fatal(err)
	}
	got, _ = a.Lookup(s.ID)
	want := slices.Clone(s.Members)
	want[2] = p.Target
	if !reflect.DeepEqual(got.Members, want) || got.Replacing != nil || got.Capacity != s.Capacity || got.Live != 3001 {
		t.Fatalf("set after commit: %+v, want members %v", got, want)
	}
	if e := mustSegment(t, a, p.Target); e.State != StateSealed || e.Set != s.ID || e.Gen != p.Target.Gen || e.Live != EC(4, 2).share(3001) || !e.Time.Equal(r.clock.now()) {
		t.Fatalf("target after commit: %+v", e)
	}
	old := s.Members[2]
	if e := mustSegment(t, a, old); e.State != StateFree || e.Set != 0 || e.Gen != old.Gen+1 || e.Live != 0 {
		t.Fatalf("old member after commit: %+v", e)
	}
	if f := a.FSStat(); f.FreeSegments != before.FreeSegments || f.RebuildingSegments != 0 || f.UsedBytes != before.UsedBytes-1000 {
		t.Fatalf("fsstat after commit: %+v, before %+v", f, before)
	}
	if len(pending(t, a)) != 0 {
		t.Fatal("still pending after commit")
	}
	if err := a.CommitReplace(ctx, s.ID, 2); !errors.Is(err, ErrState) {
		t.Fatalf("commit twice: %v", err)
	}
	mustCheck(t, r, a)

	// Abort: the target is freed with a new generation; the set is as it
	// was.
	s, _ = a.Lookup(s.ID)
	p, err = a.BeginReplace(ctx, s.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, r, a)
	if err := a.AbortReplace(ctx, s.ID, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Lookup(s.ID); !reflect.DeepEqual(got, s) {
		t.Fatalf("set after abort: %+v, want %+v", got, s)
	}
	if e := mustSegment(t, a, p.Target); e.State != StateFree || e.Set != 0 || e.Gen != p.Target.Gen+1 {
		t.Fatalf("target after abort: %+v", e)
	}
	if err := a.AbortReplace(ctx, s.ID, 0); !errors.Is(err, ErrState) {
		t.Fatalf("abort twice: %v", err)
	}
	if f := a.FSStat(); f.FreeSegments != before.FreeSegments || f.RebuildingSegments != 0 {
		t.Fatalf("fsstat after abort: %+v", f)
	}
	mustCheck(t, r, a)
}

// TestReplaceRefused: open and cleaning sets, and no drive to go to.
func TestReplaceRefused(t *testing.T) {
	r := newRig(t, testPool(7, 40, EC(4, 2)))
	a := r.open()
	open := mustSet(t, a, EC(4, 2))
	_, err := a.BeginReplace(ctx, open.ID, 0)
	if !errors.Is(err, ErrSetOpen) || !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "seal it first") {
		t.Fatalf("an open set: %v", err)
	}
	cleaning := sealedSet(t, r, a, EC(4, 2), 100)
	if err := a.MarkCleaning(ctx, cleaning.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.BeginReplace(ctx, cleaning.ID, 0); !errors.Is(err, ErrSetCleaning) || !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "retry later") {
		t.Fatalf("a cleaning set: %v", err)
	}

	// Seven drives, a set on six: the seventh is the only place for a
	// target of the lost member 1, and when it is faulty or out there is
	// none.
	s := sealedSet(t, r, a, EC(4, 2), 100)
	free := uint32(99)
	for d := range uint32(7) {
		if !slices.ContainsFunc(s.Members, func(m Member) bool { return m.Drive == d }) {
			free = d
		}
	}
	if err := a.SetHealth(s.Members[1].Drive, Faulty); err != nil {
		t.Fatal(err)
	}
	for _, h := range []Health{Faulty, Out} {
		if err := a.SetHealth(free, h); err != nil {
			t.Fatal(err)
		}
		_, err := a.BeginReplace(ctx, s.ID, 1)
		if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), fmt.Sprintf("drive %d %s", free, h)) || !strings.Contains(err.Error(), "5 drives hold the set's other members") {
			t.Fatalf("only a %s drive left: %v", h, err)
		}
	}
	if err := a.SetHealth(free, Online); err != nil {
		t.Fatal(err)
	}
	p, err := a.BeginReplace(ctx, s.ID, 1)
	if err != nil || p.Target.Drive != free {
		t.Fatalf("the free drive back online: %+v %v", p, err)
	}
	// A second member of the set: its only candidate other than its own
	// drive holds the first one's target, so its own drive takes it while
	// it is healthy (the member alone was lost), and nothing when not.
	p3, err := a.BeginReplace(ctx, s.ID, 3)
	if err != nil || p3.Target.Drive != s.Members[3].Drive || p3.Target.Segment == s.Members[3].Segment {
		t.Fatalf("on the member's own drive: %+v %v", p3, err)
	}
	mustCheck(t, r, a)
	if err := a.AbortReplace(ctx, s.ID, 3); err != nil {
		t.Fatal(err)
	}
	if err := a.SetHealth(s.Members[3].Drive, Out); err != nil {
		t.Fatal(err)
	}
	if _, err := a.BeginReplace(ctx, s.ID, 3); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("a second target with no drive left: %v", err)
	}
	if err := a.CommitReplace(ctx, s.ID, 1); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, r, a)

	// A full pool: no drive has a free segment beyond its cleaner
	// reserve (which the rebuild leaves to the cleaner).
	for d := range uint32(7) {
		if err := a.SetHealth(d, Online); err != nil {
			t.Fatal(err)
		}
	}
	s = sealedSet(t, r, a, EC(4, 2), 100)
	r.opts.ReserveSegments = 40
	a = r.open()
	if _, err := a.BeginReplace(ctx, s.ID, 0); !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "cleaner reserve") {
		t.Fatalf("a full pool: %v", err)
	}
	mustCheck(t, r, a)
}

// TestReplacePlacement: targets go to spare drives first, never to faulty
// or out ones nor to drives of their set; new sets never go to spares;
// zoned drives count targets as open zones.
func TestReplacePlacement(t *testing.T) {
	p := testPool(10, 40, EC(2, 1))
	r := newRig(t, p)
	a := r.open()
	for _, d := range []uint32{8, 9} {
		if err := a.SetHealth(d, Spare); err != nil {
			t.Fatal(err)
		}
	}
	var sets []Set
	for range 12 {
		s := sealedSet(t, r, a, EC(2, 1), 10)
		for _, m := range s.Members {
			if m.Drive >= 8 {
				t.Fatalf("new set %d on spare drive %d", s.ID, m.Drive)
			}
		}
		sets = append(sets, s)
	}
	if f := a.FSStat(); f.SpareBytes != 2*40<<20 || !strings.Contains(f.String(), "spare drives") {
		t.Fatalf("fsstat with spares: %+v", f)
	}
	for _, d := range []uint32{0, 1} {
		if err := a.SetHealth(d, []Health{Faulty, Out}[d]); err != nil {
			t.Fatal(err)
		}
	}
	// Spares first: the first targets of sets on drives 0 and 1 all go
	// to drives 8 and 9, until a set has used both.
	onSpares := 0
	for _, s := range sets {
		for i, m := range s.Members {
			if m.Drive > 1 {
				continue
			}
			p, err := a.BeginReplace(ctx, s.ID, i)
			if err != nil {
				t.Fatal(err)
			}
			s, _ = a.Lookup(s.ID)
			drivesOf(t, s)
			switch {
			case p.Target.Drive <= 1:
				t.Fatalf("target %s on a lost drive", p.Target)
			case p.Target.Drive >= 8:
				onSpares++
			default:
				// A spare was free but not taken: only if both hold
				// another member or target of the set.
				for _, sp := range []uint32{8, 9} {
					if !slices.ContainsFunc(s.Replacing, func(x Replacement) bool { return x.Target.Drive == sp }) {
						t.Fatalf("target %s on an online drive while spare %d could take it: %+v", p.Target, sp, s)
					}
				}
			}
		}
	}
	if onSpares == 0 {
		t.Fatal("no target on a spare")
	}
	mustCheck(t, r, a)
}

// TestReplaceZoned: a target holds an open zone of its drive until its
// replacement ends, so a zoned drive at its limit takes neither targets
// nor members of new sets.
func TestReplaceZoned(t *testing.T) {
	// Two zones of each drive for sets and targets: the metadata drives
	// keep 3 of 5, the other 1 of 3.
	p := testPool(4, 40, EC(2, 1))
	for i := range p.Drives {
		p.Drives[i].Zoned, p.Drives[i].MaxOpen = true, 5
	}
	p.Drives[3].MaxOpen = 3
	r := newRig(t, p)
	a := r.open()
	s := sealedSet(t, r, a, EC(2, 1), 10)
	var spare uint32
	for d := range uint32(4) {
		if !slices.ContainsFunc(s.Members, func(m Member) bool { return m.Drive == d }) {
			spare = d
		}
	}
	if err := a.SetHealth(s.Members[0].Drive, Out); err != nil {
		t.Fatal(err)
	}
	// Two open sets fill the open zones of the three drives left.
	for range 2 {
		mustSet(t, a, EC(2, 1))
	}
	if _, err := a.BeginReplace(ctx, s.ID, 0); !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "open-zone limit") {
		t.Fatalf("a target on a drive at its zone limit: %v", err)
	}
	var open []Set
	for o, err := range a.Sets(ctx, StateOpen) {
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, o)
	}
	if err := a.Seal(ctx, open[0].ID); err != nil {
		t.Fatal(err)
	}
	rp, err := a.BeginReplace(ctx, s.ID, 0)
	if err != nil || rp.Target.Drive != spare {
		t.Fatalf("after a seal: %+v %v", rp, err)
	}
	// The target holds the zone the seal gave back.
	if _, err := a.NewSet(ctx, EC(2, 1), 0); !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "1 rebuild targets") {
		t.Fatalf("a new set beside the target: %v", err)
	}
	mustCheck(t, r, a)
	if err := a.CommitReplace(ctx, s.ID, 0); err != nil {
		t.Fatal(err)
	}
	mustSet(t, a, EC(2, 1))
	mustCheck(t, r, a)
}

// TestReplaceReopen: each step survives a restart (the store closed and
// opened again from its drives) and a plain second Open.
func TestReplaceReopen(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	s := sealedSet(t, r, a, EC(4, 2), 5000)
	for range 5 {
		sealedSet(t, r, a, EC(4, 2), 100)
	}
	// A drive that is gone is passed to Open with health out.
	r.pool.Drives[s.Members[0].Drive].Health = Out
	a = r.open()
	p0, err := a.BeginReplace(ctx, s.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	p5, err := a.BeginReplace(ctx, s.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	drivesOf(t, mustLookup(t, a, s.ID))
	want := dumpOf(t, a)
	mustCheck(t, r, a)

	// Open again on the same store (the allocator of a restarted
	// process whose store replayed the journal).
	a = r.open()
	sameDump(t, "second open", dumpOf(t, a), want)
	r.reopenStore()
	a = r.open()
	sameDump(t, "after reopen", dumpOf(t, a), want)
	if ps := pending(t, a); !reflect.DeepEqual(ps, []Replacement{p0, p5}) {
		t.Fatalf("pending after reopen: %+v, want %+v", ps, []Replacement{p0, p5})
	}
	mustCheck(t, r, a)

	if err := a.CommitReplace(ctx, s.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.AbortReplace(ctx, s.ID, 5); err != nil {
		t.Fatal(err)
	}
	want = dumpOf(t, a)
	r.reopenStore()
	a = r.open()
	sameDump(t, "after commit and reopen", dumpOf(t, a), want)
	got := mustLookup(t, a, s.ID)
	if got.Members[0] != p0.Target || got.Members[5] != s.Members[5] || got.Replacing != nil {
		t.Fatalf("set after reopen: %+v", got)
	}
	if e := mustSegment(t, a, s.Members[0]); e.State != StateFree || e.Gen != s.Members[0].Gen+1 {
		t.Fatalf("old member after reopen: %+v", e)
	}
	if e := mustSegment(t, a, p5.Target); e.State != StateFree || e.Gen != p5.Target.Gen+1 {
		t.Fatalf("aborted target after reopen: %+v", e)
	}
	if len(pending(t, a)) != 0 {
		t.Fatal("pending after commit and reopen")
	}
	mustCheck(t, r, a)
}

// sameDump fails the test with the first difference of two dumps.
func sameDump(t testing.TB, when string, got, want dump) {
	t.Helper()
	if !reflect.DeepEqual(got.sets, want.sets) {
		t.Fatalf("%s: sets\n%+v\nwant\n%+v", when, got.sets, want.sets)
	}
	if len(got.segs) != len(want.segs) {
		t.Fatalf("%s: %d segments, want %d", when, len(got.segs), len(want.segs))
	}
	for i := range got.segs {
		if got.segs[i] != want.segs[i] {
			t.Fatalf("%s: %+v, want %+v", when, got.segs[i], want.segs[i])
		}
	}
	if !reflect.DeepEqual(got.drives, want.drives) {
		t.Fatalf("%s: drives\n%+v\nwant\n%+v", when, got.drives, want.drives)
	}
	if got.stat != want.stat {
		t.Fatalf("%s: fsstat\n%+v\nwant\n%+v", when, got.stat, want.stat)
	}
}

func mustLookup(t testing.TB, a *Allocator, id SetID) Set {
	t.Helper()
	s, err := a.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReleaseReplacing: releasing a set frees its pending targets too and
// returns them after the members; the rebuild then finds no set.
func TestReleaseReplacing(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	s := sealedSet(t, r, a, EC(4, 2), 100)
	p1, err := a.BeginReplace(ctx, s.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	p4, err := a.BeginReplace(ctx, s.ID, 4)
	if err != nil {
		t.Fatal(err)
	}
	// The cleaner may still take the set (it reads it degraded).
	if err := a.MarkCleaning(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if e := mustSegment(t, a, p1.Target); e.State != StateRebuilding {
		t.Fatalf("target after mark cleaning: %+v", e)
	}
	mustCheck(t, r, a)
	drain(t, r, a, s.ID)
	before := a.FSStat()
	ms, err := a.Release(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(slices.Clone(s.Members), p1.Target, p4.Target); !reflect.DeepEqual(ms, want) {
		t.Fatalf("released %v, want %v", ms, want)
	}
	for _, m := range ms {
		if e := mustSegment(t, a, m); e.State != StateFree || e.Gen != m.Gen+1 {
			t.Fatalf("%s after release: %+v", m, e)
		}
	}
	if f := a.FSStat(); f.FreeSegments != before.FreeSegments+8 || f.RebuildingSegments != 0 {
		t.Fatalf("fsstat after release: %+v", f)
	}
	if err := a.CommitReplace(ctx, s.ID, 1); !errors.Is(err, ErrNoSet) {
		t.Fatalf("commit after release: %v", err)
	}
	if len(pending(t, a)) != 0 {
		t.Fatal("pending after release")
	}
	mustCheck(t, r, a)
}

// TestSetsOn: the sets on a drive, those that lost the most members first.
func TestSetsOn(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(2, 1)))
	a := r.open()
	var all []Set
	for range 30 {
		all = append(all, sealedSet(t, r, a, EC(2, 1), 10))
	}
	if err := a.SetHealth(2, Faulty); err != nil {
		t.Fatal(err)
	}
	if err := a.SetHealth(5, Out); err != nil {
		t.Fatal(err)
	}
	lost := func(s Set) int {
		n := 0
		for _, m := range s.Members {
			if m.Drive == 2 || m.Drive == 5 {
				n++
			}
		}
		return n
	}
	ids, err := a.SetsOn(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	var want []SetID
	for n := 3; n >= 0; n-- {
		for _, s := range all {
			if lost(s) == n && slices.ContainsFunc(s.Members, func(m Member) bool { return m.Drive == 2 }) {
				want = append(want, s.ID)
			}
		}
	}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("sets on drive 2: %v, want %v", ids, want)
	}
	if len(want) == 0 || lost(mustLookup(t, a, want[0])) != 2 {
		t.Fatalf("the test needs a set on drives 2 and 5: %v", want)
	}
	// A set with a pending target on the drive is listed too.
	var s Set
	for _, x := range all {
		if !slices.ContainsFunc(x.Members, func(m Member) bool { return m.Drive == 7 }) {
			s = x
			break
		}
	}
	var p Replacement
	for i := 0; ; i++ {
		if p, err = a.BeginReplace(ctx, s.ID, 0); err != nil {
			t.Fatal(err)
		}
		if p.Target.Drive == 7 {
			break
		}
		if err := a.AbortReplace(ctx, s.ID, 0); err != nil || i > 100 {
			t.Fatalf("no target on drive 7 in %d tries: %v", i, err)
		}
	}
	ids, err = a.SetsOn(ctx, 7)
	if err != nil || !slices.Contains(ids, s.ID) {
		t.Fatalf("sets on drive 7 %v (%v) lack set %d, whose target is there", ids, err, s.ID)
	}
	if _, err := a.SetsOn(ctx, 42); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a drive not in the pool: %v", err)
	}
	mustCheck(t, r, a)
}

// TestCheckReplacements plants inconsistencies of pending replacements
// and expects Check to name them.
func TestCheckReplacements(t *testing.T) {
	type fixture struct {
		r *rig
		a *Allocator
		s Set // sealed, member 1 being replaced
		p Replacement
	}
	put := func(f *fixture, tree string, k, v []byte) {
		b := store.NewBatch()
		b.Put(tree, k, v)
		if _, err := f.r.st.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	putSet := func(f *fixture, s Set) { put(f, legacySetTree, setKey(s.ID), s.encode()) }
	putSeg := func(f *fixture, e Segment) { put(f, legacySegTree, segKey(e.Drive, e.Index), e.encode()) }
	// freeOn returns a free segment on a drive.
	freeOn := func(f *fixture, drive uint32) Segment {
		for i := uint32(39); ; i-- {
			if e, err := f.a.Segment(drive, i); err == nil && e.State == StateFree {
				return e
			}
		}
	}
	// notInSet is a drive holding neither a member nor the target.
	notInSet := func(f *fixture) uint32 {
		ds := drivesOf(t, f.s)
		for d := uint32(0); ; d++ {
			if !ds[d] {
				return d
			}
		}
	}
	cases := []struct {
		name  string
		plant func(f *fixture)
		want  string
	}{
		{"rebuilding segment no set claims", func(f *fixture) {
			e := freeOn(f, notInSet(f))
			e.State, e.Set = StateRebuilding, f.s.ID
			putSeg(f, e)
		}, "which has no pending replacement onto it"},
		{"rebuilding in no set", func(f *fixture) {
			e := freeOn(f, notInSet(f))
			e.State = StateRebuilding
			putSeg(f, e)
		}, "rebuilding, but in no set"},
		{"target on a drive of the set", func(f *fixture) {
			// Move the target (entry and set) to a free segment of a
			// drive that holds member 3.
			old := mustSegment(t, f.a, f.p.Target)
			e := freeOn(f, f.s.Members[3].Drive)
			e.State, e.Set = StateRebuilding, f.s.ID
			putSeg(f, e)
			old.State, old.Set, old.Gen = StateFree, 0, old.Gen+1
			putSeg(f, old)
			s := f.s
			s.Replacing = []Replacement{{Set: s.ID, Member: 1, Target: Member{Drive: e.Drive, Segment: e.Index, Gen: e.Gen}, Started: f.p.Started}}
			putSet(f, s)
		}, "which holds member 3"},
		{"two targets on one drive", func(f *fixture) {
			e := freeOn(f, f.p.Target.Drive)
			e.State, e.Set = StateRebuilding, f.s.ID
			putSeg(f, e)
			s := f.s.withReplacement(Replacement{Set: f.s.ID, Member: 4, Target: Member{Drive: e.Drive, Segment: e.Index, Gen: e.Gen}})
			putSet(f, s)
		}, "are both on drive"},
		{"target with live bytes", func(f *fixture) {
			e := mustSegment(t, f.a, f.p.Target)
			e.Live = 7
			putSeg(f, e)
		}, "rebuilding with 7 live bytes"},
		{"target not rebuilding", func(f *fixture) {
			e := mustSegment(t, f.a, f.p.Target)
			e.State = StateSealed
			putSeg(f, e)
		}, "sealed, but it is the pending target of member 1"},
		{"target generation", func(f *fixture) {
			e := mustSegment(t, f.a, f.p.Target)
			e.Gen++
			putSeg(f, e)
		}, "as the target of member 1 at generation"},
		{"target of another set", func(f *fixture) {
			e := mustSegment(t, f.a, f.p.Target)
			other := mustSet(t, f.a, EC(4, 2))
			e.Set = other.ID
			putSeg(f, e)
		}, "belongs to set 2"},
		{"member rebuilding", func(f *fixture) {
			e := mustSegment(t, f.a, f.s.Members[0])
			e.State = StateRebuilding
			putSeg(f, e)
		}, "rebuilding, but it is member 0"},
		{"open set replacing", func(f *fixture) {
			s := f.s
			s.State, s.Sealed = StateOpen, time.Time{}
			putSet(f, s)
		}, "open with 1 pending replacements"},
		{"rebuild counter off", func(f *fixture) {
			f.a.mu.Lock()
			f.a.byPos[f.p.Target.Drive].rebuild++
			f.a.mu.Unlock()
		}, "rebuild targets, the table has"},
		{"target gone", func(f *fixture) {
			e := mustSegment(t, f.a, f.p.Target)
			e.State, e.Set, e.Gen = StateFree, 0, e.Gen+1
			putSeg(f, e)
		}, "pending replacements target it, but it has 0 rebuilding segments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, testPool(8, 40, EC(4, 2)))
			a := r.open()
			f := &fixture{r: r, a: a, s: sealedSet(t, r, a, EC(4, 2), 4001)}
			var err error
			if f.p, err = a.BeginReplace(ctx, f.s.ID, 1); err != nil {
				t.Fatal(err)
			}
			f.s = mustLookup(t, a, f.s.ID)
			mustCheck(t, r, a)
			c.plant(f)
			err = a.Check(ctx)
			t.Log(err)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check: %v\nwant an error containing %q", err, c.want)
			}
		})
	}
}

// TestRebuildTwoFailures: K=2 drives of a 4+2 pool of 8 fail one after
// the other; every member of every set on them is replaced, the most
// endangered sets first, with a restart in the middle, some replacements
// aborted and begun again; at the end no set has a member on a failed
// drive, every set's members are on distinct drives, and Check is clean.
func TestRebuildTwoFailures(t *testing.T) {
	seeds.Run(t, 8, 2, func(t *testing.T, seed uint64) {
		r := newRig(t, testPool(8, 40, EC(4, 2)))
		r.opts.Seed = seed
		a := r.open()
		var ids []SetID
		for range 20 {
			s := sealedSet(t, r, a, EC(4, 2), 1<<20)
			ids = append(ids, s.ID)
		}
		open := mustSet(t, a, EC(4, 2)) // sealed before its rebuild
		ids = append(ids, open.ID)
		failed := []uint32{uint32(seed % 8), uint32(seed%8+3) % 8}
		if err := a.SetHealth(failed[0], Faulty); err != nil {
			t.Fatal(err)
		}
		// The first failure: begin every replacement, restart, commit
		// (aborting and beginning again every third).
		begun := 0
		rebuild := func(pos uint32) {
			sets, err := a.SetsOn(ctx, pos)
			if err != nil {
				t.Fatal(err)
			}
			prev := 99
			for _, id := range sets {
				s := mustLookup(t, a, id)
				n := 0
				for _, m := range s.Members {
					if slices.Contains(failed, m.Drive) && mustHealth(a, m.Drive) != Online {
						n++
					}
				}
				if n > prev {
					t.Fatalf("set %d lost %d members, after a set that lost %d", id, n, prev)
				}
				prev = n
				if s.State == StateOpen {
					if _, err := a.BeginReplace(ctx, id, 0); !errors.Is(err, ErrSetOpen) {
						t.Fatalf("an open set: %v", err)
					}
					if err := a.Seal(ctx, id); err != nil {
						t.Fatal(err)
					}
				}
				for i, m := range s.Members {
					if m.Drive != pos {
						continue
					}
					if _, ok := s.replacing(i); ok {
						continue
					}
					if _, err := a.BeginReplace(ctx, id, i); err != nil {
						t.Fatalf("set %d member %d: %v", id, i, err)
					}
					begun++
				}
				drivesOf(t, mustLookup(t, a, id))
			}
		}
		finish := func() {
			k := 0
			for p, err := range a.Replacements(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				if k++; k%3 == 0 {
					if err := a.AbortReplace(ctx, p.Set, p.Member); err != nil {
						t.Fatal(err)
					}
					if _, err := a.BeginReplace(ctx, p.Set, p.Member); err != nil {
						t.Fatal(err)
					}
				}
			}
			for p, err := range a.Replacements(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				if err := a.CommitReplace(ctx, p.Set, p.Member); err != nil {
					t.Fatal(err)
				}
			}
		}
		rebuild(failed[0])
		mustCheck(t, r, a)
		r.reopenStore()
		a = r.open()
		if err := a.SetHealth(failed[0], Faulty); err != nil {
			t.Fatal(err)
		}
		mustCheck(t, r, a)
		// The second drive fails before the first rebuild commits:
		// replacements targeting it are aborted and begun again.
		if err := a.SetHealth(failed[1], Out); err != nil {
			t.Fatal(err)
		}
		for p, err := range a.Replacements(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if p.Target.Drive == failed[1] {
				if err := a.AbortReplace(ctx, p.Set, p.Member); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Both drives now: the sets that lost two members come first.
		for _, pos := range failed {
			rebuild(pos)
		}
		mustCheck(t, r, a)
		finish()
		mustCheck(t, r, a)
		if begun == 0 {
			t.Fatal("nothing to rebuild")
		}
		for _, pos := range failed {
			if ids, err := a.SetsOn(ctx, pos); err != nil || len(ids) != 0 {
				t.Fatalf("sets still on failed drive %d: %v %v", pos, ids, err)
			}
		}
		n := 0
		for s, err := range a.Sets(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if s.Replacing != nil {
				t.Fatalf("%s still replacing: %+v", s, s.Replacing)
			}
			ds := drivesOf(t, s)
			if len(ds) != 6 || ds[failed[0]] || ds[failed[1]] {
				t.Fatalf("%s on drives %v", s, s.Members)
			}
			if s.State != StateSealed || s.Live != mustLookup(t, a, s.ID).Live {
				t.Fatalf("%s: %+v", s, s)
			}
		}
		if n != len(ids) {
			t.Fatalf("%d sets, want %d", n, len(ids))
		}
		if f := a.FSStat(); f.RebuildingSegments != 0 || f.UsedBytes != 20<<20 {
			t.Fatalf("fsstat at the end: %+v", f)
		}
		t.Logf("seed %d: %d replacements begun", seed, begun)
	})
}

func mustHealth(a *Allocator, pos uint32) Health {
	for _, d := range a.Drives() {
		if d.Position == pos {
			return d.Health
		}
	}
	return Out
}

// TestReplaceOn: a move onto a named drive lands there, and a drive the
// set uses or that cannot take members is refused with the reason.
func TestReplaceOn(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	s := sealedSet(t, r, a, EC(4, 2), 3001)
	used := drivesOf(t, s)
	var free []uint32
	for pos := range uint32(8) {
		if !used[pos] {
			free = append(free, pos)
		}
	}
	if _, err := a.BeginReplaceOn(ctx, s.ID, 0, s.Members[1].Drive); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("onto a drive of the set: %v", err)
	}
	if err := a.SetHealth(free[0], Faulty); err != nil {
		t.Fatal(err)
	}
	if _, err := a.BeginReplaceOn(ctx, s.ID, 0, free[0]); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("onto a faulty drive: %v", err)
	}
	p, err := a.BeginReplaceOn(ctx, s.ID, 0, free[1])
	if err != nil || p.Target.Drive != free[1] || p.Target.Gen != s.Members[0].Gen {
		t.Fatalf("onto drive %d: %+v %v", free[1], p, err)
	}
	if err := a.CommitReplace(ctx, s.ID, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Lookup(s.ID); got.Members[0].Drive != free[1] {
		t.Fatalf("member 0 on drive %d", got.Members[0].Drive)
	}
	if err := a.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
