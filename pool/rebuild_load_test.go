package pool

import (
	"testing"

	"github.com/plinth-storage/plinth/alloc"
)

// The next set to rebuild is the most endangered first, and among equally
// endangered ones the one whose sources are least busy.
func TestRebuildLoadNext(t *testing.T) {
	l := newRebuildLoad()
	lostOf := map[alloc.SetID]int{1: 2, 2: 1, 3: 1, 4: 1}
	sources := map[alloc.SetID][]uint32{1: {0}, 2: {1, 2}, 3: {3, 4}, 4: {1, 5}}
	queue := []alloc.SetID{1, 2, 3, 4}
	l.add([]uint32{0, 1}, 3) // set 1's source and drive 1 are busy
	id, queue := l.next(queue, lostOf, sources)
	if id != 1 {
		t.Fatalf("first %d, want 1: it lost two members", id)
	}
	id, queue = l.next(queue, lostOf, sources)
	if id != 3 {
		t.Fatalf("then %d, want 3: sets 2 and 4 read the busy drive 1", id)
	}
	if len(queue) != 2 || queue[0] != 2 || queue[1] != 4 {
		t.Fatalf("left %v", queue)
	}
}

// A target goes to the least busy online drive with room, counted at once
// so that sets starting together spread; a spare is left to the allocator.
func TestRebuildLoadTarget(t *testing.T) {
	l := newRebuildLoad()
	drives := []alloc.DriveInfo{
		{Drive: alloc.Drive{Position: 0, Health: alloc.Online}, Free: 5},
		{Drive: alloc.Drive{Position: 1, Health: alloc.Online}, Free: 5},
		{Drive: alloc.Drive{Position: 2, Health: alloc.Online}, Free: 0},
		{Drive: alloc.Drive{Position: 3, Health: alloc.Faulty}, Free: 5},
		{Drive: alloc.Drive{Position: 4, Health: alloc.Online}, Free: 5},
	}
	l.add([]uint32{0}, 2)
	taken := map[uint32]bool{4: true}
	first, ok := l.target(drives, taken)
	if !ok || first != 1 {
		t.Fatalf("target %d %v, want 1 (0 is busy, 2 full, 3 faulty, 4 in the set)", first, ok)
	}
	second, ok := l.target(drives, taken)
	if !ok || second != 1 {
		// Drive 1 now counts 1, drive 0 counts 2: still 1.
		t.Fatalf("second target %d %v, want 1", second, ok)
	}
	third, ok := l.target(drives, taken)
	if !ok || (third != 0 && third != 1) {
		t.Fatalf("third target %d %v", third, ok)
	}
	if got := l.n[0] + l.n[1]; got != 2+3 {
		t.Fatalf("load %v: each target counted once", l.n)
	}
	drives = append(drives, alloc.DriveInfo{Drive: alloc.Drive{Position: 5, Health: alloc.Spare}, Free: 5})
	if _, ok := l.target(drives, taken); ok {
		t.Fatal("a target proposed while a spare can take it")
	}
}

// Among sets whose sources are equally busy, the one whose sources have
// the most reads still queued starts first: the rebuild ends when its
// most loaded drive is done, so that drive starts at once. A set's
// sources count as under way once it starts, and no longer as queued; a
// target goes to the drive with the least work under way and queued.
func TestRebuildLoadMostQueuedFirst(t *testing.T) {
	l := newRebuildLoad()
	lostOf := map[alloc.SetID]int{1: 1, 2: 1, 3: 1, 4: 1}
	// Drive 9 is a source of three sets, the others of one or two.
	sources := map[alloc.SetID][]uint32{1: {1, 2}, 2: {3, 9}, 3: {4, 9}, 4: {5, 9}}
	queue := []alloc.SetID{1, 2, 3, 4}
	l.plan(queue, sources)
	id, queue := l.next(queue, lostOf, sources)
	if id != 2 {
		t.Fatalf("first %d, want 2: its source 9 has the most reads queued", id)
	}
	if l.n[9] != 1 || l.left[9] != 2 || l.n[3] != 1 || l.left[3] != 0 {
		t.Fatalf("after starting set 2: under way %v, queued %v", l.n, l.left)
	}
	// Drive 9 is now busy: set 1, whose sources are idle, goes next.
	if id, _ = l.next(queue, lostOf, sources); id != 1 {
		t.Fatalf("second %d, want 1: the others read the busy drive 9", id)
	}
	drives := []alloc.DriveInfo{
		{Drive: alloc.Drive{Position: 6, Health: alloc.Online}, Free: 5},
		{Drive: alloc.Drive{Position: 9, Health: alloc.Online}, Free: 5},
		{Drive: alloc.Drive{Position: 7, Health: alloc.Online}, Free: 5},
	}
	l.left[6] = 3 // drive 6 has reads queued, 9 one under way and two queued
	if d, ok := l.target(drives, map[uint32]bool{}); !ok || d != 7 {
		t.Fatalf("target %d %v, want 7: the only drive with nothing to do", d, ok)
	}
}
