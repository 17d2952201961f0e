package store

import (
	"fmt"
	"sync"

	"github.com/plinth-storage/plinth/btree"
)

// View is a consistent, unchanging state of some trees: every transaction
// committed before it is in it, none after, and no part of one. It stays
// valid until Close, however long that is; the space of the nodes it
// reads is not reused while it is open.
type View struct {
	s     *Store
	gen   uint64
	snaps map[string]*btree.Snapshot
	once  sync.Once
}

// View returns a view of the named trees (all of them when none is named).
// Close it when done.
//
// Views and reads go on when the store is read-only: its trees in memory
// hold exactly the transactions that were durable when applied, so
// nothing acknowledged is missing from them (a transaction in doubt was
// never applied).
func (s *Store) View(trees ...string) (*View, error) {
	s.applyMu.RLock()
	defer s.applyMu.RUnlock()
	v := &View{s: s, gen: s.readGen, snaps: make(map[string]*btree.Snapshot, max(len(trees), len(s.trees)))}
	if len(trees) == 0 {
		for name, ts := range s.trees {
			v.snaps[name] = ts.tree.Snapshot()
		}
	}
	for _, name := range trees {
		ts := s.trees[name]
		if ts == nil {
			return nil, fmt.Errorf("view: %w: %q", ErrNoTree, name)
		}
		v.snaps[name] = ts.tree.Snapshot()
	}
	s.pin(v.gen)
	return v, nil
}

// Close releases the view.
func (v *View) Close() { v.once.Do(func() { v.s.unpin(v.gen) }) }

// Snapshot returns the view's snapshot of a tree.
func (v *View) Snapshot(tree string) (*btree.Snapshot, error) {
	sn := v.snaps[tree]
	if sn == nil {
		return nil, fmt.Errorf("%w: %q (in this view)", ErrNoTree, tree)
	}
	return sn, nil
}

// Get reads a key of a tree in the view.
func (v *View) Get(tree string, key []byte) ([]byte, bool, error) {
	sn, err := v.Snapshot(tree)
	if err != nil {
		return nil, false, err
	}
	return sn.Get(key)
}

// Iter returns an iterator over a tree of the view.
func (v *View) Iter(tree string) (*btree.Iter, error) {
	sn, err := v.Snapshot(tree)
	if err != nil {
		return nil, err
	}
	return sn.Iter(), nil
}

// Get reads the newest committed value of key in a tree. The slice must
// not be modified.
func (s *Store) Get(tree string, key []byte) ([]byte, bool, error) {
	s.applyMu.RLock()
	ts := s.trees[tree]
	if ts == nil {
		s.applyMu.RUnlock()
		return nil, false, fmt.Errorf("get: %w: %q", ErrNoTree, tree)
	}
	sn, gen := ts.tree.Snapshot(), s.readGen
	s.pin(gen)
	s.applyMu.RUnlock()
	defer s.unpin(gen)
	return sn.Get(key)
}
