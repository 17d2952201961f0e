package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// tombstoneBatch is how many tombstones one commit collects.
const tombstoneBatch = 256

// CollectTombstones removes the tombstones of owners under prefix whose
// version is below before: their heads go and their records become dead
// (the cleaner reclaims them). A tombstone is what keeps a late write of an
// older version out, so before must lie further back than any replay can
// reach (the node derives it from a horizon of wall time and its
// hybrid-clock versions). It returns how many it removed.
func (p *Pool) CollectTombstones(ctx context.Context, prefix []byte, before uint64) (int, error) {
	if p.isClosed() {
		return 0, ErrClosed
	}
	removed := 0
	from := prefix
	for {
		ops, next, err := p.oldTombstones(prefix, from, before)
		if err != nil {
			return removed, err
		}
		if len(ops) > 0 {
			res, err := p.submit(ctx, ops...)
			if err != nil {
				return removed, fmt.Errorf("collect tombstones: %w", err)
			}
			for i, e := range res {
				switch {
				case e == nil:
					removed++
				case errors.Is(e, errMoved): // rewritten since: not old any more
				default:
					return removed, fmt.Errorf("collect the tombstone of %q: %w", ops[i].owner, e)
				}
			}
		}
		if next == nil {
			return removed, nil
		}
		from = next
	}
}

// oldTombstones finds up to tombstoneBatch tombstones older than before,
// from from on; next is where to go on (nil at the end).
func (p *Pool) oldTombstones(prefix, from []byte, before uint64) (ops []op, next []byte, err error) {
	view, err := p.st.View(p.heads)
	if err != nil {
		return nil, nil, fmt.Errorf("collect tombstones: %w", err)
	}
	defer view.Close()
	it, err := view.Iter(p.heads)
	if err != nil {
		return nil, nil, fmt.Errorf("collect tombstones: %w", err)
	}
	for ok := it.Seek(from); ok && bytes.HasPrefix(it.Key(), prefix); ok = it.Next() {
		if len(ops) == tombstoneBatch {
			return ops, bytes.Clone(it.Key()), nil
		}
		h, err := decodeHead(it.Value())
		if err != nil {
			return nil, nil, fmt.Errorf("collect tombstones: head of %q: %w", it.Key(), err)
		}
		if h.state == stateTombstone && h.version < before {
			ops = append(ops, op{kind: opForget, owner: bytes.Clone(it.Key()), version: h.version})
		}
	}
	return ops, nil, it.Err()
}
