package store

import (
	"fmt"

	"github.com/plinth-storage/plinth/btree"
)

// DumpNode returns a node of a tree as it is now, decoded: the root, or
// the node path leads to (child indexes from the root; see
// btree.Snapshot.DumpNode). It is for people and tools that look inside
// the store (the support console); nothing changes.
func (s *Store) DumpNode(tree string, path []int) (*btree.NodeDump, error) {
	v, err := s.View(tree)
	if err != nil {
		return nil, fmt.Errorf("dump %q: %w", tree, err)
	}
	defer v.Close()
	sn, err := v.Snapshot(tree)
	if err != nil {
		return nil, fmt.Errorf("dump %q: %w", tree, err)
	}
	d, err := sn.DumpNode(path)
	if err != nil {
		return nil, fmt.Errorf("dump %q: %w", tree, err)
	}
	return d, nil
}
