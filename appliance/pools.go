package appliance

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/stripe"
)

// PoolsTree is the metadata tree listing the node's pools: key the pool's
// name, value a pool record (version 1, 8 bytes): version (1), data units
// N (1), parity units K (1), zero (1), stripe unit in bytes (4, big
// endian). A pool spans every drive of the node (pools of a subset of the
// drives come with the node's configuration, issue 6).
const PoolsTree = "node/pools"

// DefaultPool is the name of the pool a node gets on first open.
const DefaultPool = "default"

// DefaultUnit is the stripe unit of a new pool: a 4+2 stripe then holds
// about 512 KiB, large enough that drives stream, small enough that a lone
// small write's padding stays cheap.
const DefaultUnit = 128 << 10

// DefaultLayout is the data layout for a pool of n drives: 6 or more 4+2;
// 4 or 5 2+2; 3 a 3-way mirror (Reed-Solomon with one data unit is a
// mirror); fewer a single copy, which loses data with any drive, and says
// so.
func DefaultLayout(n int) (l stripe.Layout, warning string, err error) {
	switch {
	case n >= 6:
		l = stripe.Layout{N: 4, K: 2}
	case n >= 4:
		l = stripe.Layout{N: 2, K: 2}
	case n == 3:
		l = stripe.Layout{N: 1, K: 2}
	case n >= 1:
		l = stripe.Layout{N: 1, K: 0}
		warning = fmt.Sprintf("WARNING: %d drive(s): data is stored as a single copy and any drive failure loses it; use 3 or more drives", n)
	default:
		return l, "", errors.New("a pool needs at least one drive")
	}
	l.Unit = DefaultUnit
	return l, warning, nil
}

func encodePoolRecord(l stripe.Layout) []byte {
	b := []byte{1, byte(l.N), byte(l.K), 0}
	return binary.BigEndian.AppendUint32(b, uint32(l.Unit))
}

func decodePoolRecord(b []byte) (stripe.Layout, error) {
	if len(b) != 8 || b[0] != 1 || b[3] != 0 {
		return stripe.Layout{}, fmt.Errorf("%w: pool record %x", store.ErrCorrupt, b)
	}
	l := stripe.Layout{N: int(b[1]), K: int(b[2]), Unit: int(binary.BigEndian.Uint32(b[4:]))}
	if err := l.Validate(); err != nil {
		return l, fmt.Errorf("%w: pool record: %v", store.ErrCorrupt, err)
	}
	return l, nil
}

// OpenPools opens the node's pools on its metadata store st, creating the
// default pool (DefaultLayout of the node's drives) on first open. warn
// receives what an operator must be told (a single-copy layout). Every
// drive of the node must be present: running with a drive missing comes
// with rebuild (issue 7).
func (n *Node) OpenPools(ctx context.Context, st *store.Store, opts pool.Options, warn func(string)) ([]*pool.Pool, error) {
	if len(n.Missing) > 0 {
		return nil, fmt.Errorf("open pools: drives at positions %v are missing; this build does not run a pool with a drive missing (rebuild arrives later): bring the drives back", n.Missing)
	}
	if err := st.CreateTree(ctx, PoolsTree, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("open pools: %w", err)
	}
	v, ok, err := st.Get(PoolsTree, []byte(DefaultPool))
	if err != nil {
		return nil, fmt.Errorf("open pools: %w", err)
	}
	var layout stripe.Layout
	if ok {
		if layout, err = decodePoolRecord(v); err != nil {
			return nil, fmt.Errorf("open pools: %q: %w", DefaultPool, err)
		}
	} else {
		var w string
		if layout, w, err = DefaultLayout(len(n.Drives)); err != nil {
			return nil, fmt.Errorf("open pools: %w", err)
		}
		if w != "" && warn != nil {
			warn(w)
		}
		b := store.NewBatch()
		b.Put(PoolsTree, []byte(DefaultPool), encodePoolRecord(layout))
		if _, err := st.Commit(ctx, b); err != nil {
			return nil, fmt.Errorf("open pools: record the default pool: %w", err)
		}
	}
	if layout.N == 1 && layout.K == 0 && warn != nil && ok {
		warn(fmt.Sprintf("WARNING: pool %q keeps a single copy of its data: any drive failure loses it", DefaultPool))
	}
	cfg := pool.Config{Name: DefaultPool, Layout: layout}
	for _, d := range n.Drives {
		cfg.Drives = append(cfg.Drives, pool.Drive{Dev: d.Dev, Label: d.Label.Label()})
	}
	p, err := pool.Open(ctx, st, cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("open pool %q: %w", DefaultPool, err)
	}
	return []*pool.Pool{p}, nil
}

// NodeFSStat is the space of the node: each pool's, and their sum.
type NodeFSStat struct {
	Pools []pool.FSStat `json:"pools"`
	// Total adds up the pools' data figures; the metadata store is the
	// node's one and is in each pool's figures already.
	Total alloc.FSStat `json:"total"`
}

// FSStat sums the pools' space.
func FSStat(pools []*pool.Pool) NodeFSStat {
	var s NodeFSStat
	for _, p := range pools {
		f := p.FSStat()
		s.Pools = append(s.Pools, f)
		t, d := &s.Total, f.Data
		t.Drives = max(t.Drives, d.Drives)
		t.RawBytes = max(t.RawBytes, d.RawBytes) // pools share the node's drives
		t.MetadataBytes = max(t.MetadataBytes, d.MetadataBytes)
		t.UsableBytes += d.UsableBytes
		t.UsedBytes += d.UsedBytes
		t.FreeBytes += d.FreeBytes
		t.FreeUsableBytes += d.FreeUsableBytes
		t.ReserveBytes += d.ReserveBytes
		t.UnavailableBytes += d.UnavailableBytes
		t.ReclaimableBytes += d.ReclaimableBytes
		t.OpenUnwrittenBytes += d.OpenUnwrittenBytes
		t.FreeSegments += d.FreeSegments
		t.OpenSets += d.OpenSets
		t.SealedSets += d.SealedSets
		t.CleaningSets += d.CleaningSets
		t.CountsPending = t.CountsPending || d.CountsPending
	}
	if len(s.Pools) == 1 {
		s.Total.PoolLayout = s.Pools[0].Data.PoolLayout
	}
	return s
}
