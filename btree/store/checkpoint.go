package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/superblock"
)

// Checkpoint writes the trees' changes and records them, now. Commits go
// on while it runs (they land in the next checkpoint).
func (s *Store) Checkpoint() error {
	s.ckptMu.Lock()
	if s.closed {
		s.ckptMu.Unlock()
		return ErrClosed
	}
	err := s.checkpoint(false)
	s.ckptMu.Unlock()
	s.measureDirty()
	return err
}

// kick asks the background loop for a checkpoint.
func (s *Store) kick() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// loop runs checkpoints by time and when kicked (journal bytes).
func (s *Store) loop() {
	defer close(s.loopDone)
	var tick <-chan time.Time
	if s.opts.CheckpointInterval > 0 {
		t := time.NewTicker(s.opts.CheckpointInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-s.closing:
			return
		case <-tick:
		case <-s.trigger:
		}
		if s.brokenErr() != nil {
			continue
		}
		s.ckptMu.Lock()
		if !s.closed {
			if err := s.checkpoint(false); err != nil {
				s.event("checkpoint-failed", nil, err.Error())
			}
		}
		s.ckptMu.Unlock()
		s.measureDirty()
	}
}

// cutTree is a tree as a checkpoint's cut saw it.
type cutTree struct {
	ts  *treeState
	cut *btree.Cut
}

// checkpoint makes one checkpoint. Called with ckptMu held.
//
// The phases, and what a crash in each leaves:
//
//  1. cut: under applyMu, for a moment: the applied LSN, a cut of every
//     tree, the trees dropped since the last cut. Writers wait only here.
//  2. write the nodes changed since the last checkpoint into the open
//     metadata segment of every mirror (the catalogue last), then the
//     checkpoint record with the new segment table, and flush. A crash
//     leaves garbage in segments no checkpoint counts as live.
//  3. record the checkpoint in every mirror's label. A crash after one
//     label is durable leaves a checkpoint that Open finds and that is
//     complete (everything it names was flushed in phase 2).
//  4. install: the new live counts; segments whose count fell to zero
//     are free; the trees drop the written nodes from memory; the journal
//     releases what the checkpoint covers.
func (s *Store) checkpoint(force bool) (err error) {
	if err := s.brokenErr(); err != nil {
		return err
	}
	start := s.opts.Now()
	clean := s.pickClean()

	// Phase 1: the cut.
	pauseStart := time.Now()
	s.applyMu.Lock()
	if err := s.brokenErr(); err != nil {
		// A transaction failed to apply since the check above: the
		// trees may hold part of it, counted as applied.
		s.applyMu.Unlock()
		return err
	}
	for _, i := range clean {
		for _, ts := range s.trees {
			if _, err := ts.tree.Redirty(inSegment(i)); err != nil {
				s.applyMu.Unlock()
				return fmt.Errorf("checkpoint: clean metadata segment %d: tree %q: %w", i, ts.name, err)
			}
		}
	}
	lsn := s.applied
	if !force && lsn == s.lastLSN && len(s.dropped) == 0 && len(clean) == 0 {
		s.applyMu.Unlock()
		return nil
	}
	gen := s.lastAttempt + 1
	s.lastAttempt = gen
	cuts := make([]cutTree, 0, len(s.trees))
	for _, ts := range s.trees {
		cuts = append(cuts, cutTree{ts, ts.tree.Cut()})
	}
	dropped := s.dropped
	s.dropped = nil
	nextTree := s.nextTree
	atomic.StoreInt64(&s.sinceCkpt, 0)
	s.applyMu.Unlock()
	pause := time.Since(pauseStart)
	defer func() {
		if err != nil {
			s.applyMu.Lock()
			s.dropped = append(dropped, s.dropped...)
			s.applyMu.Unlock()
			s.stats.FailedCkpts++
		}
		s.dirtyMu.Lock()
		s.lastCkptErr = err
		s.dirtyCond.Broadcast() // throttled commits look again
		s.dirtyMu.Unlock()
	}()
	slices.SortFunc(cuts, func(a, b cutTree) int { return int(a.ts.id) - int(b.ts.id) })

	// Phase 2: write.
	s.sp.beginAttempt()
	var freed []btree.Ptr
	written := make([]*btree.Written, 0, len(cuts)+1)
	roots := make([]btree.Root, len(cuts))
	for i, c := range cuts {
		wr, err := c.cut.Write(s.sp, gen)
		if err != nil {
			return fmt.Errorf("checkpoint %d: tree %q: %w", gen, c.ts.name, err)
		}
		written = append(written, wr)
		roots[i] = wr.Root()
		freed = append(freed, wr.Freed()...)
	}
	for _, ts := range dropped {
		if !ts.inCkpt {
			continue
		}
		ptrs, err := s.nodesOf(ts.id, ts.cmp, ts.ckptRoot)
		if err != nil {
			return fmt.Errorf("checkpoint %d: free dropped tree %q: %w", gen, ts.name, err)
		}
		freed = append(freed, ptrs...)
	}
	// The catalogue describes exactly the cut's trees.
	for _, ts := range dropped {
		if _, err := s.catalogue.Delete([]byte(ts.name)); err != nil {
			return fmt.Errorf("checkpoint %d: catalogue: %w", gen, err)
		}
	}
	for i, c := range cuts {
		if c.ts.inCkpt && roots[i] == c.ts.ckptRoot {
			// Unchanged since the last checkpoint (a failed attempt in
			// between left the tree's changes in memory, so its root
			// differs and it is written again).
			continue
		}
		ti := treeInfo{ID: c.ts.id, Cmp: c.ts.cmp, Root: roots[i]}
		if err := s.catalogue.Put([]byte(c.ts.name), ti.encode()); err != nil {
			return fmt.Errorf("checkpoint %d: catalogue: %w", gen, err)
		}
	}
	for _, i := range clean {
		if _, err := s.catalogue.Redirty(inSegment(i)); err != nil {
			return fmt.Errorf("checkpoint %d: clean metadata segment %d: catalogue: %w", gen, i, err)
		}
	}
	cw, err := s.catalogue.Cut().Write(s.sp, gen)
	if err != nil {
		return fmt.Errorf("checkpoint %d: catalogue: %w", gen, err)
	}
	written = append(written, cw)
	freed = append(freed, cw.Freed()...)
	catRoot := cw.Root()

	live, err := s.newLive(freed)
	if err != nil {
		return s.fail(fmt.Errorf("checkpoint %d: %w", gen, err))
	}
	size := recordSize(len(s.sp.table))
	if err := s.sp.place(size); err != nil {
		return fmt.Errorf("checkpoint %d: %w", gen, err)
	}
	recSet := uint32(s.sp.cur)
	live[recSet] += uint64(size)
	rec := &checkpointRecord{Gen: gen, LSN: lsn, NextTree: nextTree, Catalogue: catRoot, Segs: s.segTable(live, gen)}
	b, sum := rec.encode()
	addr, err := s.sp.append(typeCheckpoint, b)
	if err != nil {
		return fmt.Errorf("checkpoint %d: write record: %w", gen, err)
	}
	if err := s.sp.flush(); err != nil {
		return fmt.Errorf("checkpoint %d: %w", gen, err)
	}

	// Phase 3: the labels.
	pointer := superblock.Checkpoint{Gen: gen, LSN: lsn, Set: addr.Set, Off: addr.Off, Len: addr.Len, Sum: sum}
	if err := s.recordInLabels(pointer); err != nil {
		return fmt.Errorf("checkpoint %d: %w", gen, err)
	}

	// Phase 4: install.
	s.sp.mu.Lock()
	copy(s.sp.table, rec.Segs)
	s.sp.mu.Unlock()
	for i, c := range cuts {
		c.ts.ckptRoot, c.ts.inCkpt = roots[i], true
	}
	for _, wr := range written {
		wr.Drop()
	}
	s.applyMu.Lock()
	s.readGen = gen
	s.applyMu.Unlock()
	for _, ts := range dropped {
		ts.inCkpt = false
	}
	s.lastGen, s.lastLSN, s.lastRecord, s.lastCatRoot = gen, lsn, addr, catRoot
	s.lastCkpt = s.opts.Now()
	if lsn > 0 {
		if err := s.journal.Checkpoint(lsn); err != nil {
			return s.fail(fmt.Errorf("checkpoint %d: journal: %w", gen, err))
		}
	}
	var bytes uint64
	for _, n := range s.sp.added {
		bytes += n
	}
	s.stats.Checkpoints++
	s.stats.Cleaned += uint64(len(clean))
	s.stats.BytesWritten += bytes
	s.stats.LastDuration, s.stats.LastCutPause = s.opts.Now().Sub(start), pause
	s.stats.MaxCutPause = max(s.stats.MaxCutPause, pause)
	s.event("checkpoint", nil, fmt.Sprintf("generation %d up to LSN %d: %d trees, %d bytes written, %d cleaned, writers paused %v", gen, lsn, len(cuts), bytes, len(clean), pause))
	if !s.closed && !s.journal.Stats().ReadOnly {
		// A marker for people reading the journal. It is committed by a
		// goroutine of its own: a commit may wait for journal space,
		// which only a checkpoint frees, so neither the checkpoint lock
		// nor the background loop may wait for it. Its failure is the
		// journal's, and the next commit will say so. Close waits for
		// it (ckptMu orders this Add before Close's Wait).
		marker := op{kind: opCheckpoint, ckpt: checkpointMarker{Gen: gen, LSN: lsn, Set: addr.Set, Off: addr.Off, Len: addr.Len, Sum: sum}}
		s.markers.Add(1)
		go func() {
			defer s.markers.Done()
			_, _ = s.commitOps(context.Background(), []op{marker})
		}()
	}
	return nil
}

func inSegment(i int) func(btree.Addr) bool {
	return func(a btree.Addr) bool { return a.Set == uint32(i) }
}

// nodesOf returns the pointers of every node of a checkpointed tree.
func (s *Store) nodesOf(id uint64, cmp string, root btree.Root) ([]btree.Ptr, error) {
	if root.Empty() {
		return nil, nil
	}
	t, err := s.openTree(treeInfo{ID: id, Cmp: cmp, Root: root})
	if err != nil {
		return nil, err
	}
	var ptrs []btree.Ptr
	err = t.Snapshot().Walk(func(p btree.Ptr, _ uint8) error {
		ptrs = append(ptrs, p)
		return nil
	})
	return ptrs, err
}

// newLive is the live bytes per segment after this attempt: the installed
// counts, plus what it wrote, minus what it superseded, minus the previous
// checkpoint record.
func (s *Store) newLive(freed []btree.Ptr) ([]uint64, error) {
	s.sp.mu.Lock()
	live := make([]uint64, len(s.sp.table))
	for i, t := range s.sp.table {
		live[i] = t.Live
	}
	s.sp.mu.Unlock()
	for set, n := range s.sp.added {
		live[set] += n
	}
	sub := func(a btree.Addr, what string) error {
		if int(a.Set) >= len(live) || live[a.Set] < uint64(a.Len) {
			return fmt.Errorf("%w: live-byte accounting: freeing %s of %d bytes at metadata segment %d offset %d, which counts %d live bytes", btree.ErrInconsistent, what, a.Len, a.Set, a.Off, liveAt(live, a.Set))
		}
		live[a.Set] -= uint64(a.Len)
		return nil
	}
	for _, p := range freed {
		if err := sub(p.Addr, "a node"); err != nil {
			return nil, err
		}
	}
	if s.lastRecord.Len > 0 {
		if err := sub(s.lastRecord, "the previous checkpoint record"); err != nil {
			return nil, err
		}
	}
	return live, nil
}

func liveAt(live []uint64, set uint32) uint64 {
	if int(set) < len(live) {
		return live[set]
	}
	return 0
}

// segTable is the segment table a checkpoint records: the segments' states
// now, the new live counts, and full segments with nothing live freed.
func (s *Store) segTable(live []uint64, gen uint64) []segInfo {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	out := make([]segInfo, len(s.sp.table))
	for i, t := range s.sp.table {
		t.Live = live[i]
		if t.State == segFull && t.Live == 0 {
			t.State, t.FreedAt = segFree, gen
		}
		out[i] = t
	}
	return out
}

// recordInLabels writes the checkpoint pointer into the label of every
// healthy mirror that holds the whole store (not a partial one: its label
// names a checkpoint only once it holds everything that checkpoint
// reaches); enough of them must take it.
func (s *Store) recordInLabels(p superblock.Checkpoint) error {
	var errs []error
	for _, m := range s.sp.mirrors {
		s.sp.mu.Lock()
		h := m.healthy && !m.partial
		s.sp.mu.Unlock()
		if !h {
			continue
		}
		l := m.label.Label()
		l.Checkpoint = p
		if err := m.label.Update(l); err != nil {
			s.sp.fail(m, fmt.Errorf("record checkpoint %d in the label: %w", p.Gen, err))
			errs = append(errs, err)
		}
	}
	if err := s.sp.enough(); err != nil {
		return errors.Join(append([]error{err}, errs...)...)
	}
	return nil
}

// pickClean chooses the full metadata segments to clean at this
// checkpoint, the least live first: those below Options.CleanBelow live;
// when free segments run short, more of them and fuller ones, because a
// tree whose segments are all a third live would otherwise fill the space
// with two thirds garbage that no threshold reaches.
func (s *Store) pickClean() []int {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	free := 0
	for _, t := range s.sp.table {
		if t.State == segFree {
			free++
		}
	}
	below, most := s.opts.CleanBelow, 2
	switch total := len(s.sp.table); {
	case free*4 < total:
		below, most = max(below, 0.9), 6
	case free*2 < total:
		below, most = max(below, 0.5), 3
	}
	limit := uint64(below * float64(s.sp.segSize))
	var c []int
	for i, t := range s.sp.table {
		if t.State == segFull && t.Live > 0 && t.Live < limit {
			c = append(c, i)
		}
	}
	slices.SortFunc(c, func(a, b int) int { return int(s.sp.table[a].Live) - int(s.sp.table[b].Live) })
	if len(c) > most {
		c = c[:most]
	}
	return c
}
