package alloc

import (
	"context"
	"fmt"

	"github.com/plinth-storage/plinth/btree/store"
)

// SetLive stages, in the caller's batch b, the set's live bytes set to
// live, and every member's segment entry set to its share of them: fsck's
// repair of the accounting, live being what the pool's index references in
// the set. Live bytes must lie between 0 and the frontier. Done, Abandon
// and the holding rules are Advance's.
func (a *Allocator) SetLive(ctx context.Context, b *store.Batch, id SetID, live int64) error {
	err := a.stage(ctx, b, id, true, func(s *Set) error {
		if live < 0 || live > s.Frontier {
			return fmt.Errorf("%w: %d live bytes in a set whose frontier is %d", ErrInvalid, live, s.Frontier)
		}
		s.Live = live
		return nil
	})
	if err != nil {
		return fmt.Errorf("set the live bytes of set %d to %d: %w", id, live, err)
	}
	return nil
}

// SharesAgree reports whether every member's segment entry holds its share
// of the set's live bytes (what Check verifies of each member), reading
// the entries from the store.
func (a *Allocator) SharesAgree(s Set) (bool, error) {
	segs, err := a.memberEntries(s)
	if err != nil {
		return false, fmt.Errorf("set %d: %w", s.ID, err)
	}
	want := s.Layout.share(s.Live)
	for _, e := range segs {
		if e.Live != want {
			return false, nil
		}
	}
	return true, nil
}
