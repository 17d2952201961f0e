package store

import (
	"fmt"
	"strings"

	"github.com/plinth-storage/plinth/btree"
)

// Check verifies the store: every tree of the last checkpoint (read from
// the media: key order, ranges, checksums, levels, reachability, no node
// reached twice, via btree's Check), the catalogue, the live-byte count of
// every metadata segment against the nodes those trees reach, the segment
// states, and the trees in memory. Checkpoints wait while it runs; commits
// go on.
func (s *Store) Check() error {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	s.sp.mu.Lock()
	table := append([]segInfo(nil), s.sp.table...)
	s.sp.mu.Unlock()
	live := make([]uint64, len(table))
	seen := make(map[btree.Addr]string)
	count := func(tree string) func(p btree.Ptr, _ uint8) error {
		return func(p btree.Ptr, _ uint8) error {
			if int(p.Addr.Set) >= len(live) {
				bad("tree %s: node at metadata segment %d, beyond the %d segments", tree, p.Addr.Set, len(live))
				return nil
			}
			if other, dup := seen[p.Addr]; dup {
				bad("tree %s: node at metadata segment %d offset %d is also reached from tree %s", tree, p.Addr.Set, p.Addr.Off, other)
			}
			seen[p.Addr] = tree
			live[p.Addr.Set] += uint64(p.Addr.Len)
			return nil
		}
	}
	cat, err := btree.Open(catalogueID, nil, s.cache, s.lastCatRoot)
	if err != nil {
		return fmt.Errorf("check: %w: checkpoint %d: catalogue: %w", btree.ErrInconsistent, s.lastGen, err)
	}
	if err := cat.Check(); err != nil {
		bad("catalogue of checkpoint %d: %v", s.lastGen, err)
	} else if err := cat.Snapshot().Walk(count("(catalogue)")); err != nil {
		bad("catalogue of checkpoint %d: %v", s.lastGen, err)
	}
	it := cat.Iter()
	for ok := it.First(); ok; ok = it.Next() {
		name := string(it.Key())
		ti, err := decodeTreeInfo(it.Value())
		if err != nil {
			bad("catalogue entry %q: %v", name, err)
			continue
		}
		t, err := s.openTree(ti)
		if err == nil {
			err = t.Check()
		}
		if err == nil {
			err = t.Snapshot().Walk(count(name))
		}
		if err != nil {
			bad("tree %q of checkpoint %d: %v", name, s.lastGen, err)
		}
	}
	if err := it.Err(); err != nil {
		bad("catalogue of checkpoint %d: %v", s.lastGen, err)
	}
	if s.lastRecord.Len > 0 && int(s.lastRecord.Set) < len(live) {
		live[s.lastRecord.Set] += uint64(s.lastRecord.Len)
	}
	open := 0
	for i, t := range table {
		if t.Live != live[i] {
			bad("metadata segment %d counts %d live bytes; the checkpoint's trees and record reach %d", i, t.Live, live[i])
		}
		if t.State == segOpen {
			open++
		}
		if t.State == segFree && t.Live != 0 {
			bad("metadata segment %d is free with %d live bytes", i, t.Live)
		}
	}
	if open > 1 {
		bad("%d metadata segments are open; at most one may be", open)
	}

	// The trees in memory.
	s.applyMu.RLock()
	var snaps []*btree.Snapshot
	var names []string
	for name, ts := range s.trees {
		snaps, names = append(snaps, ts.tree.Snapshot()), append(names, name)
	}
	s.pin(s.readGen)
	gen := s.readGen
	s.applyMu.RUnlock()
	defer s.unpin(gen)
	for i, sn := range snaps {
		if err := sn.Check(); err != nil {
			bad("tree %q in memory: %v", names[i], err)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("check: %w: %s", btree.ErrInconsistent, strings.Join(problems, "; "))
	}
	return nil
}
