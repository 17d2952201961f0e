package pool

import (
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/plinth-storage/plinth/alloc"
)

// rebuildLoad counts, per drive, the rebuild transfers under way (a set
// being rebuilt reads each surviving member's drive and writes its
// target's) and the reads of the sets still queued. Declustering puts
// every drive to work only if the sets rebuilt at once are spread over the
// drives; drawn in order, a few drives end up in many of them and pace the
// whole rebuild. And the rebuild ends when its most loaded drive is done:
// placed at random, some drives hold more of the failed drive's sets than
// others. So the next set to start is the one (among the most endangered)
// whose sources are least busy, and among those the one whose sources have
// the most reads still queued, so that the most loaded drives start first
// and stay at work; and a target goes to the drive with the least work
// under way and to come.
type rebuildLoad struct {
	mu   sync.Mutex
	n    map[uint32]int // transfers under way
	left map[uint32]int // reads of the queued sets
}

func newRebuildLoad() *rebuildLoad {
	return &rebuildLoad{n: map[uint32]int{}, left: map[uint32]int{}}
}

// plan counts the reads of the sets queued, from their sources.
func (l *rebuildLoad) plan(queue []alloc.SetID, sources map[alloc.SetID][]uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range queue {
		for _, d := range sources[id] {
			l.left[d]++
		}
	}
}

// add adds delta to the load of each drive.
func (l *rebuildLoad) add(drives []uint32, delta int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range drives {
		l.n[d] += delta
	}
}

// cost is the load under way of the busiest drive among drives, the
// reads still queued on them, and their load under way in all.
func (l *rebuildLoad) cost(drives []uint32) (busiest, queued, total int) {
	for _, d := range drives {
		busiest, queued, total = max(busiest, l.n[d]), queued+l.left[d], total+l.n[d]
	}
	return busiest, queued, total
}

// pickWindow bounds the sets next considers: a choice among the first
// few of equal danger is enough to spread the load.
const pickWindow = 64

// next removes and returns the set of queue to start now, and counts its
// sources' reads as under way: among the first pickWindow sets that lost
// as many members as the first (the most endangered go first, always),
// the one whose sources' busiest drive is least busy, then the one whose
// sources have the most reads queued, then the least total load.
func (l *rebuildLoad) next(queue []alloc.SetID, lostOf map[alloc.SetID]int, sources map[alloc.SetID][]uint32) (alloc.SetID, []alloc.SetID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	best := 0
	bb, bq, bt := l.cost(sources[queue[0]])
	for k := 1; k < min(len(queue), pickWindow) && lostOf[queue[k]] == lostOf[queue[0]]; k++ {
		b, q, t := l.cost(sources[queue[k]])
		if b < bb || b == bb && (q > bq || q == bq && t < bt) {
			best, bb, bq, bt = k, b, q, t
		}
	}
	id := queue[best]
	for _, d := range sources[id] {
		l.n[d]++
		if l.left[d] > 0 {
			l.left[d]--
		}
	}
	return id, slices.Delete(queue, best, best+1)
}

// target proposes the drive for a new member of a set whose members are on
// taken: the online drive with a free segment that has the least work
// under way and queued (ties broken at random), or none when a spare can
// take it (the allocator puts targets on spares first) or no drive
// qualifies. The drive proposed is counted at
// once, so that sets starting together spread their targets; the caller
// takes it off again if it does not use it.
func (l *rebuildLoad) target(drives []alloc.DriveInfo, taken map[uint32]bool) (uint32, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var cands []uint32
	least := -1
	for _, d := range drives {
		if taken[d.Position] || d.Free == 0 {
			continue
		}
		switch d.Health {
		case alloc.Spare:
			return 0, false
		case alloc.Online:
		default:
			continue
		}
		switch n := l.n[d.Position] + l.left[d.Position]; {
		case least < 0 || n < least:
			least, cands = n, []uint32{d.Position}
		case n == least:
			cands = append(cands, d.Position)
		}
	}
	if len(cands) == 0 {
		return 0, false
	}
	d := cands[rand.IntN(len(cands))]
	l.n[d]++
	return d, true
}
