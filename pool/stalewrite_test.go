package pool

import (
	"bytes"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/io/faultdev"
)

// Found by the torture harness (seed 1268). A write reached the media of
// an open set on conventional drives but was never committed (its flush
// failed, the power went); after the restart the set went on taking
// writes at its committed frontier, over those blocks. The new blocks
// carry the same tags as the old (same set, member use, stream position),
// so when the new write to one member failed, that member kept the old
// block and reads took it as valid: wrong data. Open sets on
// conventional drives are now sealed at their frontier on resume.
func TestResumeNeverRewritesStreamPositions(t *testing.T) {
	r := newRig(t, rigConfig{opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	r.put("first", 1, payload("first", 1, 1000))
	var open alloc.Set
	for s, err := range r.p.Allocator().Sets(ctx, alloc.StateOpen) {
		if err != nil {
			t.Fatal(err)
		}
		open = s
	}
	if open.ID == 0 {
		t.Fatal("no open set after a put")
	}
	// A large write reaches every member's media and is flushed, but the
	// metadata commit that would reference it fails (every journal mirror
	// refuses writes), so it is never committed.
	for i := range 3 {
		l := r.logs[i].Label()
		r.devs[i].FailRange(faultdev.OpWrite, l.SegmentOffset(l.Meta.RingFirst), int64(l.Meta.RingCount)*l.SegmentSize)
	}
	big := payload("big", 1, 300<<10)
	if _, err := r.p.Put(ctx, []byte("big"), 1, bytes.NewReader(big)); err == nil {
		t.Fatal("a put whose commit failed succeeded")
	}
	for _, d := range r.devs {
		d.ClearFaults()
	}
	// A stop: what was written stays on the media.
	_ = r.p.Close()
	r.p = nil
	_ = r.st.Close()
	r.st = nil
	r.openStore()
	r.open()
	// The failed flushes marked drives faulty; they are fine again.
	for i := range r.n {
		if err := r.p.Allocator().SetHealth(uint32(i), alloc.Online); err != nil {
			t.Fatal(err)
		}
	}
	// Member 0 of the set that was open now fails every write to its
	// segment (the rest of its drive works).
	m0 := r.p.dataSet(open).Members[0].Loc
	r.devs[open.Members[0].Drive].FailRange(faultdev.OpWrite, m0.Start, m0.Capacity)
	// Writes go to every foreground stream: one of them is the resumed set.
	names := []string{"second-0", "second-1", "second-2", "second-3"}
	for _, n := range names {
		r.put(n, 1, payload(n, 1, 40<<10))
	}
	r.devs[open.Members[0].Drive].ClearFaults()
	r.reopen() // read from the drives, not from what the writer holds
	for _, n := range names {
		r.mustGet(n, 1, payload(n, 1, 40<<10))
	}
	r.mustGet("first", 1, payload("first", 1, 1000))
	r.check()
}
