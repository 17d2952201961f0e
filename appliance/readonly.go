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

// OpenStoreReadOnly opens the node's metadata store for inspection
// (store.OpenReadOnly: the journal replayed in memory, nothing written) on
// the drives that hold it.
func (n *Node) OpenStoreReadOnly(opts store.Options, ro store.ReadOnlyOptions) (*store.Store, error) {
	if opts.Mirrors = n.mirrors(); len(opts.Mirrors) == 0 {
		return nil, errors.New("open metadata: no drive of the node holds metadata")
	}
	s, err := store.OpenReadOnly(opts, ro)
	if err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	return s, nil
}

// OpenPoolsReadOnly opens the pools recorded in PoolsTree for inspection
// (pool.OpenReadOnly), in name order, writing nothing: unlike OpenPools it
// records no label, creates no pool, and resumes no set. A missing drive
// is given to its pool by its recorded label, without a device. A node
// that never opened its pools (formatted, never started) has none.
func (n *Node) OpenPoolsReadOnly(ctx context.Context, st *store.Store, opts pool.Options) ([]*pool.Pool, error) {
	return n.openRecordedPools(ctx, st, opts, pool.OpenReadOnly)
}

// openRecordedPools opens the pools recorded in PoolsTree with open, in
// name order, recording and creating nothing: a missing drive is given to
// its pool by its recorded label, without a device. A node that never
// opened its pools (formatted, never started) has none.
func (n *Node) openRecordedPools(ctx context.Context, st *store.Store, opts pool.Options,
	open func(context.Context, *store.Store, pool.Config, pool.Options) (*pool.Pool, error)) ([]*pool.Pool, error) {
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
	return openEach(slices.Sorted(maps.Keys(recorded)), func(name string) (*pool.Pool, error) {
		return open(ctx, st, n.poolConfig(name, recorded[name], missing), opts)
	})
}

// openEach opens a pool of each name in turn; on an error it closes those
// it opened.
func openEach(names []string, open func(name string) (*pool.Pool, error)) ([]*pool.Pool, error) {
	var pools []*pool.Pool
	for _, name := range names {
		p, err := open(name)
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
