package alloc

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func distinct(t testing.TB, s Set) {
	t.Helper()
	seen := map[uint32]bool{}
	for _, m := range s.Members {
		if seen[m.Drive] {
			t.Fatalf("set %d has two members on drive %d: %v", s.ID, m.Drive, s.Members)
		}
		seen[m.Drive] = true
	}
	if len(s.Members) != s.Layout.Width() {
		t.Fatalf("set %d: %d members for %s", s.ID, len(s.Members), s.Layout)
	}
}

// TestOpenPopulates: a first Open fills the table with the data segments
// of every drive, and only them.
func TestOpenPopulates(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	for _, d := range a.Drives() {
		want := 40
		if d.Position < 3 {
			want = 35
		}
		if d.DataSegments != want || d.Free != want || d.OpenSets != 0 {
			t.Errorf("drive %d: %+v, want %d free data segments", d.Position, d, want)
		}
	}
	for _, i := range []uint32{0, 1, 2, 3, 4} {
		if _, err := a.Segment(0, i); !errors.Is(err, ErrInvalid) {
			t.Errorf("metadata segment %d of drive 0: %v", i, err)
		}
	}
	if _, err := a.Segment(0, 40); !errors.Is(err, ErrInvalid) {
		t.Errorf("segment beyond the drive: %v", err)
	}
	if _, err := a.Segment(9, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("segment of a drive not in the pool: %v", err)
	}
	e, err := a.Segment(0, 5)
	if err != nil || e.State != StateFree || e.Gen != 1 || e.Set != 0 {
		t.Fatalf("first data segment of drive 0: %+v %v", e, err)
	}
	f := a.FSStat()
	const mib = 1 << 20
	if f.RawBytes != 320*mib || f.MetadataBytes != 15*mib || f.ReserveBytes != 8*mib || f.FreeBytes != (305-8)*mib ||
		f.UsableBytes != 305*mib*4/6 || f.UsedBytes != 0 || f.FreeSegments != 305 {
		t.Fatalf("fsstat: %+v", f)
	}
	mustCheck(t, r, a)
}

// TestPlacementDistinct: members are always on distinct drives, in every
// layout, as the pool fills and empties.
func TestPlacementDistinct(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	layouts := []Layout{EC(4, 2), EC(2, 1), Mirror(3), EC(6, 2), EC(1, 0), Mirror(8)}
	var live []SetID
	for i := range 300 {
		l := layouts[i%len(layouts)]
		s, err := a.NewSet(ctx, l, 0)
		if errors.Is(err, ErrNoSpace) {
			// Free the oldest half and go on.
			for _, id := range live[:len(live)/2] {
				if _, err := a.Release(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			live = live[len(live)/2:]
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		distinct(t, s)
		live = append(live, s.ID)
	}
	mustCheck(t, r, a)
}

// TestDeclustered: with many sets, every pair of drives holds members of a
// common set, and the members spread evenly.
func TestDeclustered(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	var pairs [8][8]int
	per := make([]int, 8)
	for {
		s, err := a.NewSet(ctx, EC(2, 1), 0)
		if errors.Is(err, ErrNoSpace) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range s.Members {
			per[m.Drive]++
			for _, n := range s.Members {
				pairs[m.Drive][n.Drive]++
			}
		}
	}
	for i := range 8 {
		for j := range 8 {
			if i != j && pairs[i][j] == 0 {
				t.Errorf("drives %d and %d never share a set", i, j)
			}
		}
	}
	// The pool is full up to the reserves: every drive was used down to
	// its last segment (weighting by free space keeps them level).
	for _, d := range a.Drives() {
		if d.Free != 1 {
			t.Errorf("drive %d has %d free segments left, want only its reserve", d.Position, d.Free)
		}
	}
	t.Logf("members per drive: %v", per)
	mustCheck(t, r, a)
}

// pickCounts creates and releases n sets of width 1 and counts the drives
// they went to (free space stays the same throughout).
func pickCounts(t *testing.T, r *rig, a *Allocator, n int) map[uint32]int {
	t.Helper()
	count := map[uint32]int{}
	for range n {
		s := mustSet(t, a, EC(1, 0))
		count[s.Members[0].Drive]++
		if _, err := a.Release(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	return count
}

// TestWeightsByFreeSpace: drives with more free segments get more members.
func TestWeightsByFreeSpace(t *testing.T) {
	p := testPool(8, 40, EC(1, 0))
	for i := 4; i < 8; i++ {
		p.Drives[i].Segments = 10
	}
	r := newRig(t, p)
	a := r.open()
	count := pickCounts(t, r, a, 800)
	big, small := 0, 0
	for d, n := range count {
		if d < 4 {
			big += n
		} else {
			small += n
		}
	}
	// Weights: drives 0-2 have 34 free beyond the reserve, 3 has 39, 4-7
	// have 9: the small drives expect 36/182 of the picks.
	if small == 0 || big < 3*small {
		t.Fatalf("picks: big drives %d, small drives %d (%v)", big, small, count)
	}
	mustCheck(t, r, a)
}

// TestHealth: faulty and out drives get no members; a slow drive gets
// none while enough online drives can take them, and is used when a set
// needs it (here: a set as wide as the allocatable drives).
func TestHealth(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(1, 0)))
	r.pool.Drives[3].Health = Faulty
	r.pool.Drives[5].Health = Out
	a := r.open()
	if err := a.SetHealth(6, Slow); err != nil {
		t.Fatal(err)
	}
	count := pickCounts(t, r, a, 1000)
	if count[3] != 0 || count[5] != 0 {
		t.Fatalf("faulty or out drives got members: %v", count)
	}
	if count[6] != 0 {
		t.Errorf("the slow drive got %d members while online drives had room: %v", count[6], count)
	}
	wide, err := a.NewSet(ctx, EC(4, 2), 0)
	if err != nil {
		t.Fatalf("a set as wide as the allocatable drives: %v", err)
	}
	if !slices.ContainsFunc(wide.Members, func(m Member) bool { return m.Drive == 6 }) {
		t.Errorf("a 6-wide set on 6 allocatable drives left out the slow one: %+v", wide.Members)
	}
	// Wide sets cannot be placed on the 6 allocatable drives.
	_, err = a.NewSet(ctx, EC(5, 2), 0)
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "need 7 drives with a free segment, 6 have one: drive 3 faulty, drive 5 out") {
		t.Fatalf("7-wide set on 6 healthy drives: %v", err)
	}
	if err := a.SetHealth(9, Slow); !errors.Is(err, ErrInvalid) {
		t.Errorf("health of a drive not in the pool: %v", err)
	}
	if err := a.SetHealth(1, Health(7)); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown health: %v", err)
	}
	mustCheck(t, r, a)
}

// TestZoneLimits: open sets never take more of a zoned drive's open zones
// than its limit less the reserve (1, plus 2 on metadata drives).
func TestZoneLimits(t *testing.T) {
	p := testPool(8, 40, EC(2, 1))
	for i := range p.Drives {
		p.Drives[i].Zoned, p.Drives[i].MaxOpen, p.Drives[i].MaxActive = true, 6, 4
	}
	r := newRig(t, p)
	a := r.open()
	// Drives 3-7 take 3 open sets each, drives 0-2 one: 18 members, 6 sets.
	var sets []Set
	for {
		s, err := a.NewSet(ctx, EC(2, 1), 0)
		if errors.Is(err, ErrNoSpace) {
			if !strings.Contains(err.Error(), "open-zone limit") {
				t.Fatalf("error does not say why: %v", err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, s)
	}
	// Every drive within its limit, and too few left with a zone to spare.
	spare := 0
	for _, d := range a.Drives() {
		limit := 3
		if d.Position < 3 {
			limit = 1
		}
		if d.OpenSets > limit {
			t.Errorf("drive %d has %d open sets, its limit is %d", d.Position, d.OpenSets, limit)
		}
		if d.OpenSets < limit {
			spare++
		}
	}
	if len(sets) > 6 || spare >= 3 {
		t.Fatalf("%d open sets, %d drives with a zone to spare", len(sets), spare)
	}
	// Sealing frees the zones.
	if err := a.Seal(ctx, sets[0].ID); err != nil {
		t.Fatal(err)
	}
	mustSet(t, a, EC(2, 1))
	for _, d := range a.Drives() {
		if limit := map[bool]int{true: 1, false: 3}[d.Position < 3]; d.OpenSets > limit {
			t.Errorf("after a seal, drive %d has %d open sets, its limit is %d", d.Position, d.OpenSets, limit)
		}
	}
	// Conventional drives have no limit.
	r2 := newRig(t, testPool(8, 40, EC(2, 1)))
	a2 := r2.open()
	for range 20 {
		mustSet(t, a2, EC(2, 1))
	}
	mustCheck(t, r, a)
	mustCheck(t, r2, a2)
}

// TestFullAndReserve: allocating until full ends with a clear ErrNoSpace
// and leaves each drive's reserve, which the cleaner may still take.
func TestFullAndReserve(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	r.opts.ReserveSegments = 2
	a := r.open()
	n := 0
	var err error
	for {
		if _, err = a.NewSet(ctx, EC(4, 2), 0); err != nil {
			break
		}
		n++
	}
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("after %d sets: %v", n, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "new 4+2 set: no space: need 6 drives with a free segment") || !strings.Contains(msg, "cleaner reserve") {
		t.Fatalf("unclear error: %v", err)
	}
	t.Log(err)
	f := a.FSStat()
	if f.ReserveBytes != 16<<20 {
		t.Fatalf("fsstat when full: %+v", f)
	}
	t.Logf("%v", f)
	beyond, free := 0, 0
	for _, d := range a.Drives() {
		if d.Free < 2 {
			t.Errorf("drive %d: %d free, its reserve was taken", d.Position, d.Free)
		}
		if d.Free > 2 {
			beyond++
			free += d.Free - 2
		}
	}
	if beyond >= 6 || f.FreeBytes != int64(free)<<20 {
		t.Fatalf("%d drives have free segments beyond their reserve (%d in all), fsstat %+v", beyond, free, f)
	}
	// The cleaner may use the reserve (16 segments: at least 2 sets),
	// until drives are full.
	if err := a.SetHealth(5, Out); err != nil {
		t.Fatal(err)
	}
	cleaner := 0
	for {
		c, err := a.NewSet(ctx, EC(4, 2), ForCleaner)
		if err != nil {
			if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "drive 5 out") || !strings.Contains(err.Error(), "full") {
				t.Fatalf("cleaner set on a full pool: %v", err)
			}
			t.Log(err)
			break
		}
		distinct(t, c)
		for _, m := range c.Members {
			if m.Drive == 5 {
				t.Fatalf("a member on the drive that is out: %v", c.Members)
			}
		}
		cleaner++
	}
	if cleaner < 2 {
		t.Fatalf("the cleaner got %d sets from the reserve", cleaner)
	}
	if _, err := a.NewSet(ctx, EC(6, 3), 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("a 9-wide set on 8 drives: %v", err)
	}
	if _, err := a.NewSet(ctx, Layout{}, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("an empty layout: %v", err)
	}
	if _, err := a.NewSet(ctx, EC(1, 1), Flags(8)); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown flags: %v", err)
	}
	mustCheck(t, r, a)
}

// A rebuild target avoids slow drives too: with one online drive outside
// the set and the others slow, every target lands on the online one.
func TestReplaceTargetAvoidsSlowDrives(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(2, 1)))
	a := r.open()
	s, err := a.NewSet(ctx, EC(2, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Seal(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	inSet := map[uint32]bool{}
	for _, m := range s.Members {
		inSet[m.Drive] = true
	}
	online := uint32(99)
	for d := uint32(0); d < 8; d++ {
		switch {
		case inSet[d]:
		case online == 99:
			online = d
		default:
			if err := a.SetHealth(d, Slow); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 10 {
		rp, err := a.BeginReplace(ctx, s.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if rp.Target.Drive != online {
			t.Fatalf("target on drive %d (slow); drive %d is online", rp.Target.Drive, online)
		}
		if err := a.AbortReplace(ctx, s.ID, 0); err != nil {
			t.Fatal(err)
		}
	}
	mustCheck(t, r, a)
}
