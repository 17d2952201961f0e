package appliance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// OpenPoolsForRepair opens the pools recorded in PoolsTree for fsck's
// repair (pool.OpenForRepair: the pools' normal write paths, but no set
// resumed and nothing released unasked), in name order, on a store opened
// read and write. Like OpenPoolsReadOnly it records no label and creates
// no pool; a missing drive is given to its pool by its recorded label,
// without a device. A node that never opened its pools has none.
func (n *Node) OpenPoolsForRepair(ctx context.Context, st *store.Store, opts pool.Options) ([]*pool.Pool, error) {
	missing, err := n.missingLabels(st)
	if err != nil {
		return nil, fmt.Errorf("open pools: %w", err)
	}
	recorded, err := readPools(st)
	if errors.Is(err, store.ErrNoTree) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := n.disjoint(recorded); err != nil {
		return nil, fmt.Errorf("open pools: %w", err)
	}
	var pools []*pool.Pool
	for _, name := range slices.Sorted(maps.Keys(recorded)) {
		p, err := pool.OpenForRepair(ctx, st, n.poolConfig(name, recorded[name], missing), opts)
		if err != nil {
			for _, q := range pools {
				q.Close()
			}
			return nil, fmt.Errorf("open pool %q: %w", name, err)
		}
		pools = append(pools, p)
	}
	return pools, nil
}
