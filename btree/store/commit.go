package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/wal"
)

// Commit makes the batch durable (on stable media on the journal's
// healthy mirrors) and applies it to the trees; when it returns nil,
// readers see all of it. Concurrent commits share journal writes. ctx
// bounds nothing once the batch is queued: a transaction in the journal
// must be applied, or memory would differ from what a restart replays.
func (s *Store) Commit(ctx context.Context, b *Batch) (wal.LSN, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(b.ops) == 0 {
		return 0, nil
	}
	s.schema.RLock()
	defer s.schema.RUnlock()
	ops := make([]op, len(b.ops))
	for i, o := range b.ops {
		ts := s.trees[o.tree] // the schema lock keeps trees from changing
		if ts == nil {
			return 0, fmt.Errorf("commit: %w: %q", ErrNoTree, o.tree)
		}
		o.id = ts.id
		ops[i] = o
	}
	return s.commitOps(ctx, ops)
}

// MaxCommit is the largest batch Commit takes, as Batch.Size counts it:
// a larger one fails with an error wrapping wal.ErrTooLarge. 0 when the
// store cannot commit (opened read-only).
func (s *Store) MaxCommit() int {
	if s.journal == nil {
		return 0
	}
	return s.journal.MaxTxn()
}

// CreateTree creates an empty tree ordered by the named comparator ("" for
// bytewise, or a name from Options.Comparators).
func (s *Store) CreateTree(ctx context.Context, name, comparator string) error {
	if name == "" || len(name) > MaxName {
		return fmt.Errorf("create tree: %w: name of %d bytes (1 to %d)", ErrBadName, len(name), MaxName)
	}
	if _, err := s.compare(comparator); err != nil {
		return fmt.Errorf("create tree %q: %w", name, err)
	}
	s.schema.Lock()
	defer s.schema.Unlock()
	if s.trees[name] != nil {
		return fmt.Errorf("create tree: %w: %q", ErrExists, name)
	}
	s.applyMu.RLock()
	id := s.nextTree
	s.applyMu.RUnlock()
	_, err := s.commitOps(ctx, []op{{kind: opCreate, tree: name, id: id, cmp: comparator}})
	return err
}

// DropTree deletes a tree and everything in it.
func (s *Store) DropTree(ctx context.Context, name string) error {
	s.schema.Lock()
	defer s.schema.Unlock()
	ts := s.trees[name]
	if ts == nil {
		return fmt.Errorf("drop tree: %w: %q", ErrNoTree, name)
	}
	_, err := s.commitOps(ctx, []op{{kind: opDrop, tree: name, id: ts.id}})
	return err
}

// TreeInfo describes a tree.
type TreeInfo struct {
	Name       string
	ID         uint64
	Comparator string
	Stats      btree.Stats
}

// Trees lists the trees, in no particular order.
func (s *Store) Trees() []TreeInfo {
	s.applyMu.RLock()
	defer s.applyMu.RUnlock()
	out := make([]TreeInfo, 0, len(s.trees))
	for _, ts := range s.trees {
		out = append(out, TreeInfo{Name: ts.name, ID: ts.id, Comparator: ts.cmp, Stats: ts.tree.Stats()})
	}
	return out
}

// commitOps journals resolved operations and applies them in LSN order.
func (s *Store) commitOps(ctx context.Context, ops []op) (wal.LSN, error) {
	if err := s.brokenErr(); err != nil {
		return 0, err
	}
	if err := s.throttle(); err != nil {
		return 0, err
	}
	txn := encodeTxn(ops)
	lsn, err := s.journal.Commit(context.WithoutCancel(ctx), txn)
	if err != nil {
		if errors.Is(err, wal.ErrTooLarge) {
			return 0, fmt.Errorf("commit: %w", err)
		}
		if errors.Is(err, wal.ErrClosed) { // never queued, or the loop drained it first
			return 0, fmt.Errorf("commit: %w", ErrClosed)
		}
		// The transaction may be in the journal: what memory holds may
		// not be what a restart replays.
		err = s.fail(fmt.Errorf("commit: %w", err))
		s.orderMu.Lock()
		s.orderCond.Broadcast() // commits waiting for this LSN give up
		s.orderMu.Unlock()
		return 0, err
	}
	if atomic.AddInt64(&s.sinceCkpt, int64(len(txn))) >= s.opts.CheckpointBytes {
		s.kick()
	}
	if atomic.AddInt64(&s.sinceDirt, int64(len(txn))) >= s.dirtyCheck {
		atomic.StoreInt64(&s.sinceDirt, 0)
		defer s.measureDirty()
	}
	s.orderMu.Lock()
	defer s.orderMu.Unlock()
	s.pending[lsn] = ops
	for {
		next, ok := s.pending[s.applied+1]
		if !ok {
			break
		}
		delete(s.pending, s.applied+1)
		s.applyMu.Lock()
		err := s.apply(next)
		s.applied++
		if err != nil {
			// Before anyone sees the half-applied state: a checkpoint
			// must not cut it (see checkpoint).
			s.fail(fmt.Errorf("apply LSN %d: %w", s.applied, err))
		}
		s.applyMu.Unlock()
	}
	s.orderCond.Broadcast()
	for s.applied < lsn {
		if err := s.brokenErr(); err != nil {
			return 0, err
		}
		s.orderCond.Wait()
	}
	if err := s.brokenErr(); err != nil {
		return 0, err
	}
	return lsn, nil
}

// apply applies one transaction's operations to the trees. Called with
// applyMu held (or alone, during Open's replay). It is deterministic: the
// same operations on the same state give the same state.
func (s *Store) apply(ops []op) error {
	// Puts and deletes go to each tree as one batch (btree.Apply: one
	// copy of each node on the touched paths, published at once).
	var muts map[uint64][]btree.Mutation
	var order []uint64
	flush := func() error {
		for _, id := range order {
			ts := s.byID[id]
			if err := ts.tree.Apply(muts[id]); err != nil {
				return fmt.Errorf("tree %q: %w", ts.name, err)
			}
		}
		muts, order = nil, nil
		return nil
	}
	for _, o := range ops {
		switch o.kind {
		case opPut, opDelete:
			if s.byID[o.id] == nil {
				return fmt.Errorf("%w: operation on tree %d, which does not exist", ErrCorrupt, o.id)
			}
			if muts == nil {
				muts = make(map[uint64][]btree.Mutation)
			}
			if _, ok := muts[o.id]; !ok {
				order = append(order, o.id)
			}
			muts[o.id] = append(muts[o.id], btree.Mutation{Key: o.key, Value: o.value, Delete: o.kind == opDelete})
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		switch o.kind {
		case opCreate:
			if s.byID[o.id] != nil || s.trees[o.tree] != nil || o.id < s.nextTree {
				return fmt.Errorf("%w: create tree %q with id %d: exists, or ids already reached %d", ErrCorrupt, o.tree, o.id, s.nextTree)
			}
			cmp, err := s.compare(o.cmp)
			if err != nil {
				return fmt.Errorf("create tree %q: %w", o.tree, err)
			}
			ts := &treeState{name: o.tree, id: o.id, cmp: o.cmp, tree: btree.New(o.id, cmp, s.cache)}
			s.trees[ts.name], s.byID[ts.id] = ts, ts
			s.nextTree = o.id + 1
		case opDrop:
			ts := s.byID[o.id]
			if ts == nil {
				return fmt.Errorf("%w: drop of tree %d, which does not exist", ErrCorrupt, o.id)
			}
			delete(s.trees, ts.name)
			delete(s.byID, ts.id)
			s.dropped = append(s.dropped, ts)
		case opCheckpoint:
			// A marker for readers of the journal.
		default:
			return fmt.Errorf("%w: operation kind %d", ErrCorrupt, o.kind)
		}
	}
	return flush()
}

// dirtyCheckBytes is how many journal bytes may pass between two
// measures of dirty memory: a small fraction of the limit, because a
// 130-byte insert can dirty a whole 16 KiB leaf (some 150 times its size).
func dirtyCheckBytes(limit int64) int64 { return min(max(limit/256, 4<<10), 256<<10) }

// dirtyBytes is the memory of every tree's changes since its last flush.
func (s *Store) dirtyBytes() int64 {
	s.applyMu.RLock()
	defer s.applyMu.RUnlock()
	var n int64
	for _, ts := range s.trees {
		n += ts.tree.DirtyBytes()
	}
	for _, ts := range s.dropped {
		n += ts.tree.DirtyBytes()
	}
	return n
}

// measureDirty starts a checkpoint when the changes in memory pass
// Options.DirtyBytes, and holds commits back past twice that.
func (s *Store) measureDirty() {
	d := s.dirtyBytes()
	if d >= s.opts.DirtyBytes {
		s.kick()
	}
	s.dirtyMu.Lock()
	s.overDirty = d >= 2*s.opts.DirtyBytes
	if !s.overDirty {
		s.dirtyCond.Broadcast()
	}
	s.dirtyMu.Unlock()
}

// throttle waits while the changes in memory are past twice
// Options.DirtyBytes, until a checkpoint writes them out; when checkpoints
// keep failing for as long as the journal would wait for space, it gives
// up with the checkpoints' error.
func (s *Store) throttle() error {
	s.dirtyMu.Lock()
	defer s.dirtyMu.Unlock()
	if !s.overDirty {
		return nil
	}
	wait := s.opts.Journal.FullWait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	deadline := time.Now().Add(wait)
	timer := time.AfterFunc(wait, func() {
		s.dirtyMu.Lock()
		s.dirtyCond.Broadcast()
		s.dirtyMu.Unlock()
	})
	defer timer.Stop()
	for s.overDirty {
		if err := s.brokenErr(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("commit: %d MiB of changes wait for a checkpoint, and checkpoints fail: %w", 2*s.opts.DirtyBytes>>20, s.lastCkptErr)
		}
		s.kick()
		s.dirtyCond.Wait()
	}
	return nil
}
