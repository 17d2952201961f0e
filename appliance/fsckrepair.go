package appliance

import (
	"context"

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
	return n.openRecordedPools(ctx, st, opts, pool.OpenForRepair)
}
