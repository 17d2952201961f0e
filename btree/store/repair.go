package store

import (
	"errors"
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/btree"
)

// Rewrite is fsck's repair of damaged copies of metadata: every node of
// every tree (and of the catalogue) that lies in one of the given metadata
// segments is re-dirtied, and a checkpoint is made at once. Reads take the
// first copy that verifies, so each node is read from a good mirror; the
// checkpoint writes it afresh, with a new checkpoint record, into the open
// segment of every healthy mirror and records it in every mirror's label.
// The segments then hold nothing live, and that checkpoint frees them (they
// are reset when reused). It is how a damaged node copy, a damaged copy of
// the checkpoint record and a mirror's zeroed metadata segments are
// repaired: by the store's own write path, on conventional and zoned
// drives alike (a zone cannot be rewritten in place).
//
// A failure leaves the media as they were: the new nodes are in segments
// no durable checkpoint counts, and the trees keep the re-dirtied nodes in
// memory for the next checkpoint. It returns the number of nodes
// re-dirtied.
func (s *Store) Rewrite(segments []int) (int, error) {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	return s.rewrite(segments)
}

// rewrite is Rewrite, called with ckptMu held.
func (s *Store) rewrite(segments []int) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	if err := s.brokenErr(); err != nil {
		return 0, err
	}
	segments = slices.Compact(slices.Sorted(slices.Values(segments)))
	for _, i := range segments {
		if i < 0 || i >= len(s.sp.table) {
			return 0, fmt.Errorf("rewrite: metadata segment %d: the store has %d", i, len(s.sp.table))
		}
	}
	n := 0
	s.applyMu.Lock()
	for _, i := range segments {
		for _, ts := range s.trees {
			c, err := ts.tree.Redirty(inSegment(i))
			if err != nil {
				s.applyMu.Unlock()
				return n, fmt.Errorf("rewrite metadata segment %d: tree %q: %w", i, ts.name, err)
			}
			n += c
		}
	}
	s.applyMu.Unlock()
	// The catalogue is written by checkpoints only, under ckptMu.
	for _, i := range segments {
		c, err := s.catalogue.Redirty(inSegment(i))
		if err != nil {
			return n, fmt.Errorf("rewrite metadata segment %d: catalogue: %w", i, err)
		}
		n += c
	}
	if err := s.checkpoint(true); err != nil {
		return n, fmt.Errorf("rewrite metadata segments %v: %w", segments, err)
	}
	return n, nil
}

// ForceCheckpoint makes a checkpoint now even when nothing changed: a new
// checkpoint record on every healthy mirror, recorded in every mirror's
// label, and the journal released up to it. fsck's repair uses it to bring
// a mirror's label up to the newest checkpoint and to release journal
// segments holding damaged copies or a torn tail.
func (s *Store) ForceCheckpoint() error {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.checkpoint(true)
}

// Recount is fsck's repair of the metadata segments' accounting: the live
// bytes of every segment are counted again from the nodes the last
// checkpoint's trees reach and its record (as Inspect counts them), a
// segment that is free but holds live nodes is made full again (so it is
// not reused under them), and a checkpoint records the corrected table.
// It returns the segments whose entry changed; when none did, nothing is
// written. The trees must pass their checks: a tree that cannot be walked
// whole makes it fail, changing nothing.
func (s *Store) Recount() ([]int, error) {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if err := s.brokenErr(); err != nil {
		return nil, err
	}
	live, err := s.reach()
	if err != nil {
		return nil, fmt.Errorf("recount metadata segments: %w", err)
	}
	s.sp.mu.Lock()
	var changed []int
	for i, t := range s.sp.table {
		want := t
		want.Live = live[i]
		if want.State == segFree && want.Live > 0 {
			want.State = segFull
		}
		if want != t {
			changed = append(changed, i)
			s.sp.table[i] = want
		}
	}
	s.sp.mu.Unlock()
	if len(changed) == 0 {
		return nil, nil
	}
	if err := s.checkpoint(true); err != nil {
		return changed, fmt.Errorf("recount metadata segments: %w", err)
	}
	return changed, nil
}

// reach sums the bytes the last checkpoint's trees and record reach in
// each metadata segment. Called with ckptMu held.
func (s *Store) reach() ([]uint64, error) {
	s.sp.mu.Lock()
	live := make([]uint64, len(s.sp.table))
	s.sp.mu.Unlock()
	var errs []error
	count := func(p btree.Ptr, _ uint8) error {
		if int(p.Addr.Set) >= len(live) {
			return fmt.Errorf("%w: a node at metadata segment %d, beyond the %d segments", btree.ErrInconsistent, p.Addr.Set, len(live))
		}
		live[p.Addr.Set] += uint64(p.Addr.Len)
		return nil
	}
	cat, err := btree.Open(catalogueID, nil, s.cache, s.lastCatRoot)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %d: catalogue: %w", s.lastGen, err)
	}
	if err := cat.Snapshot().Walk(count); err != nil {
		errs = append(errs, fmt.Errorf("catalogue: %w", err))
	}
	it := cat.Iter()
	for ok := it.First(); ok; ok = it.Next() {
		ti, err := decodeTreeInfo(it.Value())
		var t *btree.Tree
		if err == nil {
			t, err = s.openTree(ti)
		}
		if err == nil {
			err = t.Snapshot().Walk(count)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tree %q: %w", it.Key(), err))
		}
	}
	if err := it.Err(); err != nil {
		errs = append(errs, fmt.Errorf("catalogue: %w", err))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("checkpoint %d: %w", s.lastGen, errors.Join(errs...))
	}
	if s.lastRecord.Len > 0 && int(s.lastRecord.Set) < len(live) {
		live[s.lastRecord.Set] += uint64(s.lastRecord.Len)
	}
	return live, nil
}
