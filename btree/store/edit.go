package store

import (
	"context"
	"fmt"

	"github.com/plinth-storage/plinth/wal"
)

// CommitIf commits b, as Commit does, only if check accepts it: check is
// called with a reader of the newest committed state (Get) while no other
// commit can slip in, and an error it returns commits nothing and is
// returned. It is a compare-and-set for edits made by hand (the support
// console's metadata edits), which must not overwrite a change their
// author did not see. Every commit waits while check runs: keep it short.
func (s *Store) CommitIf(ctx context.Context, b *Batch, check func(get func(tree string, key []byte) ([]byte, bool, error)) error) (wal.LSN, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Holding the schema exclusively keeps every Commit out (each holds
	// it shared until its transaction is applied), so what check reads
	// is what the batch is applied over.
	s.schema.Lock()
	defer s.schema.Unlock()
	ops := make([]op, len(b.ops))
	for i, o := range b.ops {
		ts := s.trees[o.tree]
		if ts == nil {
			return 0, fmt.Errorf("commit: %w: %q", ErrNoTree, o.tree)
		}
		o.id = ts.id
		ops[i] = o
	}
	if check != nil {
		if err := check(s.Get); err != nil {
			return 0, err
		}
	}
	if len(ops) == 0 {
		return 0, nil
	}
	return s.commitOps(ctx, ops)
}
