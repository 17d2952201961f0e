package alloc

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestFSStat: the figures follow sets through their lives, and render for
// people and as JSON.
func TestFSStat(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	const mib = 1 << 20
	s1, s2 := mustSet(t, a, EC(4, 2)), mustSet(t, a, Mirror(3))
	write(t, r, a, s1.ID, 3*mib, 2*mib)
	write(t, r, a, s2.ID, mib/2, mib/4)
	if err := a.Seal(ctx, s1.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.SetHealth(7, Faulty); err != nil {
		t.Fatal(err)
	}
	f := a.FSStat()
	want := FSStat{
		Drives: 8, RawBytes: 320 * mib, MetadataBytes: 15 * mib, UsableBytes: 305 * mib * 4 / 6,
		UsedBytes: 2*mib + mib/4, FreeSegments: 305 - 9,
		ReserveBytes: 7 * mib, UnavailableBytes: 0, ReclaimableBytes: 2 * mib, OpenUnwrittenBytes: mib / 2,
		OpenSets: 1, SealedSets: 1, PoolLayout: "4+2",
	}
	for _, m := range append(s1.Members, s2.Members...) {
		if m.Drive == 7 {
			want.UnavailableBytes -= mib
		}
	}
	// Drive 7's free segments are unavailable; the others' are free less
	// one reserve segment each.
	want.UnavailableBytes += 40 * mib
	want.FreeBytes = int64(want.FreeSegments)*mib - want.UnavailableBytes - want.ReserveBytes
	want.FreeUsableBytes = EC(4, 2).usable(want.FreeBytes)
	if f != want {
		t.Fatalf("fsstat\n%#v\nwant\n%#v", f, want)
	}
	s := f.String()
	for _, w := range []string{"pool of 8 drives, 4+2 sets", "raw", "320.0MiB", "metadata 15.0MiB", "used", "reclaimable", "1 open", "1 sealed", "faulty or out"} {
		if !strings.Contains(s, w) {
			t.Errorf("String lacks %q:\n%s", w, s)
		}
	}
	t.Logf("\n%s", s)
	j, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back FSStat
	if err := json.Unmarshal(j, &back); err != nil || back != f || !strings.Contains(string(j), `"reclaimable_bytes":2097152`) {
		t.Fatalf("json %s: %+v %v", j, back, err)
	}
	mustCheck(t, r, a)
}

// TestSetsIterator: filtering by state, stopping early, a cancelled
// context.
func TestSetsIterator(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	var ids []SetID
	for range 6 {
		ids = append(ids, mustSet(t, a, EC(2, 1)).ID)
	}
	for _, id := range ids[:2] {
		if err := a.Seal(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	count := func(states ...State) (n int) {
		for _, err := range a.Sets(ctx, states...) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	if count() != 6 || count(StateOpen) != 4 || count(StateSealed) != 2 || count(StateCleaning) != 0 || count(StateOpen, StateSealed) != 6 {
		t.Fatalf("counts %d %d %d", count(), count(StateOpen), count(StateSealed))
	}
	n := 0
	for s := range a.Sets(ctx) {
		if n++; n == 2 {
			if s.ID != ids[1] {
				t.Fatalf("second set %d, want %d", s.ID, ids[1])
			}
			break
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, err := range a.Sets(cancelled) {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled: %v", err)
		}
	}
	if _, err := a.Lookup(0); !errors.Is(err, ErrNoSet) {
		t.Fatalf("lookup 0: %v", err)
	}
}
