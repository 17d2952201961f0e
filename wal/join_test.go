package wal

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/seg"
)

// A mirror that was out while the others went on (here: one whose drive
// missed the last 30 transactions and still holds its old segments) joins
// the journal: Open replays from the others only, raises no alarm about
// the joiner, clears its ring and writes it from then on; once a
// checkpoint covers what it lacks, it alone holds the journal.
func TestJoiningMirror(t *testing.T) {
	mirrors := memMirrors(3, 4, 1<<20)
	var mu sync.Mutex
	var events []Event
	opts := Options{Mirrors: mirrors, Events: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }}
	w, err := Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 20 {
		if _, err := w.Commit(ctx, txn(i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	// Mirror 2 is out while 30 more are committed on the others.
	_, lsns, _ := replayAll(t, Options{Mirrors: mirrors[:2]}, 0)
	if len(lsns) != 20 {
		t.Fatalf("replayed %d of 20", len(lsns))
	}
	w2, _, _ := replayAll(t, Options{Mirrors: mirrors[:2]}, 0)
	for i := 20; i < 50; i++ {
		if _, err := w2.Commit(ctx, txn(i)); err != nil {
			t.Fatal(err)
		}
	}
	w2.Close()

	// Without Joining, the stale mirror would be failed as behind.
	joining := append([]Mirror(nil), mirrors...)
	joining[2].Joining = true
	opts.Mirrors = joining
	w3, lsns, txns := replayAll(t, opts, 0)
	if len(lsns) != 50 || string(txns[49]) != string(txn(49)) {
		t.Fatalf("replayed %d of 50", len(lsns))
	}
	if !w3.Healthy(2) || w3.Stats().Healthy != 3 {
		t.Fatalf("the joining mirror is not written: %+v", w3.Stats())
	}
	mu.Lock()
	var joined int
	for _, e := range events {
		switch e.Kind {
		case EventMirrorJoined:
			joined++
			if e.Mirror != "mirror2" || !strings.Contains(e.Detail, "from LSN 51") {
				t.Errorf("joined event %+v", e)
			}
		case EventMirrorFailed, EventMirrorBehind, EventBadCopy:
			t.Errorf("event about the joining mirror: %+v", e)
		}
	}
	mu.Unlock()
	if joined != 1 {
		t.Fatalf("%d joined events", joined)
	}
	for i := 50; i < 80; i++ {
		if _, err := w3.Commit(ctx, txn(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w3.Checkpoint(50); err != nil {
		t.Fatal(err)
	}
	w3.Close()

	// The joined mirror alone holds everything after the checkpoint, and
	// nothing of its earlier life.
	w4, lsns, txns := replayAll(t, Options{Mirrors: mirrors[2:]}, 50)
	defer w4.Close()
	if len(lsns) != 30 || lsns[0] != 51 || string(txns[29]) != string(txn(79)) {
		t.Fatalf("the joined mirror replays %d transactions from %v", len(lsns), lsns[:min(1, len(lsns))])
	}
	// Before the checkpoint it lacks what was committed before it joined.
	if _, err := Open(Options{Mirrors: mirrors[2:]}, 0, func(LSN, []byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("replay from 0 on the joined mirror alone: %v", err)
	}
}

// A joining mirror whose ring cannot be cleared is failed, and the
// journal goes on with the others.
func TestJoiningMirrorThatCannotBeCleared(t *testing.T) {
	mirrors := memMirrors(3, 4, 128<<10)
	w, err := Create(Options{Mirrors: mirrors})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(context.Background(), txn(1)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	bad := memdev.New("bad", 4*128<<10, 4096)
	bad.Close() // every write fails
	mirrors[2].Joining = true
	for i := range mirrors[2].Ring {
		mirrors[2].Ring[i] = seg.Location{Dev: bad, Index: uint32(i), Start: int64(i) * 128 << 10, Capacity: 128 << 10}
	}
	var events []string
	w2, err := Open(Options{Mirrors: mirrors, Events: func(e Event) { events = append(events, fmt.Sprint(e.Kind, ": ", e.Detail)) }}, 0, func(LSN, []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if w2.Healthy(2) || w2.Stats().Healthy != 2 {
		t.Fatalf("a joining mirror that cannot be cleared is written: %v", events)
	}
	if _, err := w2.Commit(context.Background(), txn(2)); err != nil {
		t.Fatal(err)
	}
}
