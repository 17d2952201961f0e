package store

// Space is how much of the metadata segments the store uses.
type Space struct {
	Segments     int   // metadata segments (on each mirror)
	Free         int   // free ones
	SegmentBytes int64 // bytes each holds
	// LiveBytes is what the last checkpoint's trees take in the segments.
	LiveBytes int64
	// DirtyBytes is the memory of the changes since: the next checkpoint
	// writes about that much more (less what it frees).
	DirtyBytes int64
	// DirtyLimit is how far the changes may grow before commits wait for
	// a checkpoint (twice Options.DirtyBytes): what a checkpoint may have
	// to write before it frees the nodes it replaces.
	DirtyLimit int64
	// LastCheckpointErr is the last checkpoint's failure, if it failed.
	LastCheckpointErr error
}

// Capacity is the bytes of the metadata segments.
func (s Space) Capacity() int64 { return int64(s.Segments) * s.SegmentBytes }

// Needed is what the store needs of its segments to go on checkpointing:
// the live bytes, the changes waiting, room for the largest checkpoint
// and two segments (the open one's unused tail and one for the cleaner).
func (s Space) Needed() int64 {
	return s.LiveBytes + s.DirtyBytes + s.Reserve()
}

// Reserve is the room kept free for checkpoints: the largest one
// (DirtyLimit, written before what it replaces is freed), at most a quarter
// of the capacity (on small metadata ranges the dirty bound, sized from
// the cache, is larger than the space: checkpoints there come from the
// journal's size first), and two segments.
func (s Space) Reserve() int64 {
	return min(s.DirtyLimit, s.Capacity()/4) + 2*s.SegmentBytes
}

// Used is Needed as a fraction of the capacity.
func (s Space) Used() float64 {
	if s.Capacity() == 0 {
		return 1
	}
	return float64(s.Needed()) / float64(s.Capacity())
}

// Space reports the metadata space. It costs a pass over the segment
// table and the trees' dirty counters, nothing that reads the media.
func (s *Store) Space() Space {
	sp := Space{SegmentBytes: s.sp.segSize, DirtyBytes: s.dirtyBytes(), DirtyLimit: 2 * s.opts.DirtyBytes}
	s.sp.mu.Lock()
	for _, t := range s.sp.table {
		sp.Segments++
		if t.State == segFree {
			sp.Free++
		}
		sp.LiveBytes += int64(t.Live)
	}
	s.sp.mu.Unlock()
	s.dirtyMu.Lock()
	sp.LastCheckpointErr = s.lastCkptErr
	s.dirtyMu.Unlock()
	return sp
}
