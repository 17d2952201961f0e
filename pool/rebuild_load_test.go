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
