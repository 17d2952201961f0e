package pool

import (
	"errors"
	"fmt"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/datalog"
)

// TestZoned: a pool on emulated host-managed SMR drives: writes, reads,
// deletes and cleaning work at the zones' write pointers; sets finish
// their zones when sealed and reset them when released; a restart
// resumes the open set at its write pointers, past stripes that reached
// the media but were never committed.
func TestZoned(t *testing.T) {
	r := newRig(t, rigConfig{zoned: true, segs: 16, segSize: 256 << 10, metaSegs: 16, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	want := map[string][]byte{}
	for i := range 30 {
		owner := fmt.Sprintf("z%d", i)
		want[owner] = payload(owner, 1, i*5000)
		r.put(owner, 1, want[owner])
	}
	for i := 0; i < 30; i += 3 {
		owner := fmt.Sprintf("z%d", i)
		if err := r.p.Delete(ctx, []byte(owner), 2); err != nil {
			t.Fatal(err)
		}
		delete(want, owner)
	}
	if _, err := r.p.Clean(ctx, 4); err != nil {
		t.Fatal(err)
	}
	r.check()
	// Records that reach the media but are never committed: the frontier
	// is behind the write pointers when the pool stops.
	exts, err := r.p.appendRecords(ctx, false, 0, kindData, []byte("ghost"), 1, 0, make([]byte, 3*r.p.sb), nil)
	var s *stream
	if err == nil {
		s = exts[len(exts)-1].s
		s.io.Lock()
		_, err = s.w.Flush()
		s.io.Unlock()
		for _, a := range exts {
			a.s.pending.Add(-1)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	before, err := r.p.al.Lookup(s.set.ID)
	if err != nil {
		t.Fatal(err)
	}
	ds := r.p.dataSet(before)
	end, err := datalog.WrittenEnd(ds)
	if err != nil || end <= before.Frontier {
		t.Fatalf("written end %d, frontier %d: %v", end, before.Frontier, err)
	}
	r.reopen()
	// The set goes on taking writes, past its written end, or (when
	// another open set was resumed instead) is sealed and, holding
	// nothing live, released.
	after, err := r.p.al.Lookup(s.set.ID)
	switch {
	case errors.Is(err, alloc.ErrNoSet):
		if len(r.eventsOf(EventSetReleased)) == 0 {
			t.Fatal("set gone without a release")
		}
	case err != nil:
		t.Fatal(err)
	case after.Frontier < end:
		t.Fatalf("after restart: frontier %d (written end %d), %v", after.Frontier, end, after.State)
	}
	if _, err := r.p.Stat([]byte("ghost")); err == nil {
		t.Fatal("uncommitted write visible")
	}
	for i := range 10 {
		owner := fmt.Sprintf("y%d", i)
		want[owner] = payload(owner, 1, 20000)
		r.put(owner, 1, want[owner])
	}
	for owner, b := range want {
		r.mustGet(owner, 1, b)
	}
	r.check()
}
