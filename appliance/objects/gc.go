package objects

import (
	"context"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/hlc"
)

// CollectTombstones removes the tombstones of deleted objects whose version
// is older than now - horizon (versions are hybrid-clock timestamps, so
// their wall-clock part dates them). After that a write of an older version
// is accepted again: the horizon must outlast every replay. It returns how
// many it removed.
func (s *Store) CollectTombstones(ctx context.Context, horizon time.Duration, now time.Time) (int, error) {
	before := uint64(hlc.Make(now.Add(-horizon), 0))
	total := 0
	for _, p := range s.order {
		n, err := p.CollectTombstones(ctx, []byte("o/"), before)
		total += n
		if err != nil {
			return total, fmt.Errorf("collect tombstones in pool %s: %w", p.Name(), err)
		}
	}
	return total, nil
}
