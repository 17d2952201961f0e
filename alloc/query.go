package alloc

import (
	"container/heap"
	"context"
	"fmt"
	"iter"
	"slices"
	"time"
)

// lookup reads a set's committed entry.
func (a *Allocator) lookup(id SetID) (Set, error) {
	if id == 0 {
		return Set{}, fmt.Errorf("%w: set id 0", ErrNoSet)
	}
	v, ok, err := a.st.Get(a.setTree, setKey(id))
	if err != nil {
		return Set{}, fmt.Errorf("read set %d: %w", id, err)
	}
	if !ok {
		return Set{}, fmt.Errorf("%w: %d", ErrNoSet, id)
	}
	return decodeSet(setKey(id), v)
}

// segment reads a segment's entry.
func (a *Allocator) segment(drive, index uint32) (Segment, error) {
	k := segKey(drive, index)
	v, ok, err := a.st.Get(a.segTree, k)
	if err != nil {
		return Segment{}, fmt.Errorf("read segment %d of drive %d: %w", index, drive, err)
	}
	if !ok {
		return Segment{}, fmt.Errorf("%w: segment %d of drive %d is not in the table", ErrCorrupt, index, drive)
	}
	return decodeSegment(k, v)
}

// Lookup returns a set as last committed (changes staged in batches that
// are not done are not in it).
func (a *Allocator) Lookup(id SetID) (Set, error) { return a.lookup(id) }

// Segment returns a segment's entry. Segments of the metadata ranges have
// none (ErrInvalid).
func (a *Allocator) Segment(drive, index uint32) (Segment, error) {
	a.mu.Lock()
	d, err := a.drive(drive)
	a.mu.Unlock()
	switch {
	case err != nil:
		return Segment{}, fmt.Errorf("segment %d: %w", index, err)
	case index >= d.Segments || d.isMeta(index):
		return Segment{}, fmt.Errorf("%w: segment %d of drive %d is not a data segment", ErrInvalid, index, drive)
	}
	return a.segment(drive, index)
}

// Sets iterates over the sets in the given states (all of them when none
// is given), by id, as of the moment iteration starts. An error ends the
// iteration (yielded with a zero Set); so does ctx.
func (a *Allocator) Sets(ctx context.Context, states ...State) iter.Seq2[Set, error] {
	// The state byte is enough to skip a set; a value too short to hold
	// one is decoded, to report it.
	skip := func(v []byte) bool {
		return len(states) > 0 && len(v) > 1 && (v[0] == setVersion || v[0] == setVersion1) && !slices.Contains(states, State(v[1]))
	}
	return func(yield func(Set, error) bool) {
		for s, err := range a.scanSets(ctx, skip) {
			if err != nil {
				yield(Set{}, fmt.Errorf("list sets: %w", err))
				return
			}
			if !yield(s, nil) {
				return
			}
		}
	}
}

// scanSets iterates over the sets whose entries skip does not reject, by
// id, as of the moment iteration starts. An error ends the iteration
// (yielded with a zero Set); so does ctx.
func (a *Allocator) scanSets(ctx context.Context, skip func(v []byte) bool) iter.Seq2[Set, error] {
	return func(yield func(Set, error) bool) {
		v, err := a.st.View(a.setTree)
		if err != nil {
			yield(Set{}, err)
			return
		}
		defer v.Close()
		it, err := v.Iter(a.setTree)
		if err != nil {
			yield(Set{}, err)
			return
		}
		for ok := it.First(); ok; ok = it.Next() {
			if err := ctx.Err(); err != nil {
				yield(Set{}, err)
				return
			}
			if skip(it.Value()) {
				continue
			}
			s, err := decodeSet(it.Key(), it.Value())
			if err != nil {
				yield(Set{}, err)
				return
			}
			if !yield(s, nil) {
				return
			}
		}
		if err := it.Err(); err != nil {
			yield(Set{}, err)
		}
	}
}

// Candidate is a set the cleaner may clean, and why.
type Candidate struct {
	Set
	Utilization float64 // u: live bytes over capacity
	Age         time.Duration
	Score       float64 // (1-u)*age/(1+u), age in seconds
}

// Cleanable returns up to limit sealed sets, best to clean first by the
// cost-benefit policy of LFS: cleaning a set reads it whole (cost 1) and
// writes its live bytes (u), and frees 1-u of it, whose value grows with
// the age of its data (the time since it was sealed); the score is
// benefit/cost = (1-u)*age/(1+u). Ties go to the lower id. Memory is
// O(limit): one pass over the sets with a bounded heap.
func (a *Allocator) Cleanable(ctx context.Context, limit int) ([]Candidate, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("cleanable sets: %w: limit %d", ErrInvalid, limit)
	}
	now := a.opts.Now()
	h := &candHeap{}
	for s, err := range a.Sets(ctx, StateSealed) {
		if err != nil {
			return nil, fmt.Errorf("cleanable sets: %w", err)
		}
		c := candidate(s, now)
		if h.Len() < limit {
			heap.Push(h, c)
		} else if better(c, (*h)[0]) {
			(*h)[0] = c
			heap.Fix(h, 0)
		}
	}
	out := make([]Candidate, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(Candidate)
	}
	return out, nil
}

func candidate(s Set, now time.Time) Candidate {
	u := 1.0
	if s.Capacity > 0 {
		u = min(float64(s.Live)/float64(s.Capacity), 1)
	}
	age := max(now.Sub(s.Sealed), 0)
	return Candidate{Set: s, Utilization: u, Age: age, Score: (1 - u) * age.Seconds() / (1 + u)}
}

// better orders candidates: higher score, then lower id.
func better(x, y Candidate) bool {
	if x.Score != y.Score {
		return x.Score > y.Score
	}
	return x.ID < y.ID
}

// candHeap keeps the worst of the best at the top.
type candHeap []Candidate

func (h candHeap) Len() int           { return len(h) }
func (h candHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h candHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)        { *h = append(*h, x.(Candidate)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
