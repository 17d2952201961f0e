package appliance

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/stripe"
	"github.com/plinth-storage/plinth/superblock"
)

// PoolsTree is the metadata tree listing the node's pools: key the pool's
// name, value a pool record (integers big endian):
//
//	offset size field
//	     0    1 version (1: the pool spans every drive of the node; 2: the
//	            drives listed below)
//	     1    1 data units N
//	     2    1 parity units K
//	     3    1 zero
//	     4    4 stripe unit in bytes
//	     8    2 version 2: number of drives D
//	    10  4*D version 2: the drives' positions, ascending
//
// A drive belongs to one pool at most: each pool's allocator owns the
// segments of its drives.
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

// PoolSpec is a pool as the configuration asks for it.
type PoolSpec struct {
	Name string
	// Drives are the positions of its drives; none: every drive.
	Drives []int
	// Layout is its data layout; zero: DefaultLayout of its drive count
	// (Unit zero: DefaultUnit).
	Layout stripe.Layout
}

// poolRecord is a pool as PoolsTree records it.
type poolRecord struct {
	layout stripe.Layout
	drives []int // nil: every drive
}

// EncodePoolRecord is a PoolsTree value: version 1 when the pool spans
// every drive (drives nil), 2 with its drive positions (the index rebuild
// writes them too).
func EncodePoolRecord(l stripe.Layout, drives []int) []byte {
	return encodePoolRecord(poolRecord{layout: l, drives: drives})
}

// DecodePoolRecord reads a PoolsTree value; drives nil: every drive.
func DecodePoolRecord(b []byte) (stripe.Layout, []int, error) {
	r, err := decodePoolRecord(b)
	return r.layout, r.drives, err
}

// LabelRecord is a drive's LabelsTree entry: its position, and its label
// as JSON without the checkpoint pointer.
func LabelRecord(l superblock.Label) (key, value []byte, err error) {
	l.Checkpoint = superblock.Checkpoint{}
	v, err := json.Marshal(l)
	if err != nil {
		return nil, nil, fmt.Errorf("label of drive %d: %w", l.Position, err)
	}
	return binary.BigEndian.AppendUint32(nil, l.Position), v, nil
}

func encodePoolRecord(r poolRecord) []byte {
	b := []byte{1, byte(r.layout.N), byte(r.layout.K), 0}
	if r.drives != nil {
		b[0] = 2
	}
	b = binary.BigEndian.AppendUint32(b, uint32(r.layout.Unit))
	if r.drives != nil {
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.drives)))
		for _, d := range r.drives {
			b = binary.BigEndian.AppendUint32(b, uint32(d))
		}
	}
	return b
}

func decodePoolRecord(b []byte) (poolRecord, error) {
	var r poolRecord
	if len(b) < 8 || b[0] < 1 || b[0] > 2 || b[3] != 0 || b[0] == 1 && len(b) != 8 {
		return r, fmt.Errorf("%w: pool record %x", store.ErrCorrupt, b)
	}
	r.layout = stripe.Layout{N: int(b[1]), K: int(b[2]), Unit: int(binary.BigEndian.Uint32(b[4:]))}
	if err := r.layout.Validate(); err != nil {
		return r, fmt.Errorf("%w: pool record: %v", store.ErrCorrupt, err)
	}
	if b[0] == 2 {
		if len(b) < 10 {
			return r, fmt.Errorf("%w: pool record %x", store.ErrCorrupt, b)
		}
		n := int(binary.BigEndian.Uint16(b[8:]))
		if n == 0 || len(b) != 10+4*n {
			return r, fmt.Errorf("%w: pool record of %d bytes with %d drives", store.ErrCorrupt, len(b), n)
		}
		r.drives = make([]int, n)
		for i := range r.drives {
			r.drives[i] = int(binary.BigEndian.Uint32(b[10+4*i:]))
			if i > 0 && r.drives[i] <= r.drives[i-1] {
				return r, fmt.Errorf("%w: pool record drives not ascending", store.ErrCorrupt)
			}
		}
	}
	return r, nil
}

// LabelsTree keeps the label of every drive of the node (key the
// position, 4 bytes big endian; value the label as JSON, its checkpoint
// pointer left out), so that a pool can be opened with a drive missing:
// the allocator and the data log describe a missing drive's segments from
// its label.
const LabelsTree = "node/labels"

// recordLabels stores the labels of the drives present that are not
// recorded yet (or differ), and returns the recorded label of every
// missing position.
func (n *Node) recordLabels(ctx context.Context, st *store.Store) (map[int]superblock.Label, error) {
	if err := st.CreateTree(ctx, LabelsTree, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("drive labels: %w", err)
	}
	b := store.NewBatch()
	for _, d := range n.Drives {
		key, v, err := LabelRecord(d.Label.Label())
		if err != nil {
			return nil, fmt.Errorf("drive labels: %w", err)
		}
		old, ok, err := st.Get(LabelsTree, key)
		if err != nil {
			return nil, fmt.Errorf("drive labels: %w", err)
		}
		if !ok || string(old) != string(v) {
			b.Put(LabelsTree, key, v)
		}
	}
	if b.Len() > 0 {
		if _, err := st.Commit(ctx, b); err != nil {
			return nil, fmt.Errorf("record the drive labels: %w", err)
		}
	}
	return n.missingLabels(st)
}

// missingLabels returns the recorded label of every missing position.
func (n *Node) missingLabels(st *store.Store) (map[int]superblock.Label, error) {
	missing := map[int]superblock.Label{}
	for _, pos := range n.Missing {
		v, ok, err := st.Get(LabelsTree, binary.BigEndian.AppendUint32(nil, uint32(pos)))
		if err != nil {
			return nil, fmt.Errorf("drive labels: %w", err)
		}
		if !ok {
			return nil, fmt.Errorf("the drive at position %d is missing and the node never recorded its description (it was formatted by an older plinth): bring the drive back", pos)
		}
		var l superblock.Label
		if err := json.Unmarshal(v, &l); err != nil || int(l.Position) != pos || l.Node != n.ID {
			return nil, fmt.Errorf("%w: the recorded label of drive %d: %v", store.ErrCorrupt, pos, err)
		}
		missing[pos] = l
	}
	return missing, nil
}

// OpenPools opens the node's pools as recorded, creating the default pool
// (every drive, DefaultLayout) on first open.
func (n *Node) OpenPools(ctx context.Context, st *store.Store, opts pool.Options, warn func(string)) ([]*pool.Pool, error) {
	return n.OpenPoolSpecs(ctx, st, nil, opts, warn)
}

// OpenPoolSpecs opens the node's pools: those recorded in PoolsTree, and
// those of specs not recorded yet (created and recorded). A spec of a
// recorded pool must agree with the record (a pool's drives and layout do
// not change). With no specs and no pools recorded, the default pool is
// created. warn receives what an operator must be told (a single-copy
// layout, a recorded pool the specs leave out, a drive missing). A
// missing drive (its label recorded on an earlier open) is given to its
// pool without a device: its members are read through parity, and it
// gets nothing new (a rebuild moves its members elsewhere).
func (n *Node) OpenPoolSpecs(ctx context.Context, st *store.Store, specs []PoolSpec, opts pool.Options, warn func(string)) ([]*pool.Pool, error) {
	if warn == nil {
		warn = func(string) {}
	}
	missing, err := n.recordLabels(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("open pools: %w", err)
	}
	for _, pos := range n.Missing {
		warn(fmt.Sprintf("WARNING: the drive at position %d is missing: its data is read through parity and rebuilt onto the other drives; replace it", pos))
	}
	if err := st.CreateTree(ctx, PoolsTree, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("open pools: %w", err)
	}
	recorded, err := readPools(st)
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 && len(recorded) == 0 {
		specs = []PoolSpec{{Name: DefaultPool}}
	}
	records := map[string]poolRecord{}
	for name, r := range recorded {
		records[name] = r
	}
	b := store.NewBatch()
	named := map[string]bool{}
	for _, sp := range specs {
		if named[sp.Name] {
			return nil, fmt.Errorf("open pools: pool %q configured twice", sp.Name)
		}
		named[sp.Name] = true
		want, w, err := n.specRecord(sp)
		if err != nil {
			return nil, fmt.Errorf("open pools: %w", err)
		}
		if have, ok := recorded[sp.Name]; ok {
			if err := agrees(sp, have, want); err != nil {
				return nil, fmt.Errorf("open pools: pool %q: %w", sp.Name, err)
			}
			continue
		}
		if w != "" {
			warn(w)
		}
		records[sp.Name] = want
		b.Put(PoolsTree, []byte(sp.Name), encodePoolRecord(want))
	}
	for name := range recorded {
		if len(specs) > 0 && !named[name] {
			warn(fmt.Sprintf("pool %q exists on this node but the configuration does not list it; it is opened as recorded", name))
		}
	}
	if err := n.disjoint(records); err != nil {
		return nil, fmt.Errorf("open pools: %w", err)
	}
	if b.Len() > 0 {
		if _, err := st.Commit(ctx, b); err != nil {
			return nil, fmt.Errorf("open pools: record the new pools: %w", err)
		}
	}
	return openEach(slices.Sorted(maps.Keys(records)), func(name string) (*pool.Pool, error) {
		r := records[name]
		if r.layout.N == 1 && r.layout.K == 0 {
			if _, wasRecorded := recorded[name]; wasRecorded {
				warn(fmt.Sprintf("WARNING: pool %q keeps a single copy of its data: any drive failure loses it", name))
			}
		}
		return pool.Open(ctx, st, n.poolConfig(name, r, missing), opts)
	})
}

// poolConfig is the configuration of the pool recorded as r: the node's
// drives in it, and the missing ones by their recorded labels.
func (n *Node) poolConfig(name string, r poolRecord, missing map[int]superblock.Label) pool.Config {
	cfg := pool.Config{Name: name, Layout: r.layout}
	for _, d := range n.Drives {
		if r.drives == nil || slices.Contains(r.drives, int(d.Label.Label().Position)) {
			cfg.Drives = append(cfg.Drives, pool.Drive{Dev: d.Dev, Label: d.Label.Label()})
		}
	}
	for pos, l := range missing {
		if r.drives == nil || slices.Contains(r.drives, pos) {
			cfg.Drives = append(cfg.Drives, pool.Drive{Label: l})
		}
	}
	return cfg
}

// readPools reads PoolsTree.
func readPools(st *store.Store) (map[string]poolRecord, error) {
	view, err := st.View(PoolsTree)
	if err != nil {
		return nil, fmt.Errorf("open pools: %w", err)
	}
	defer view.Close()
	it, err := view.Iter(PoolsTree)
	if err != nil {
		return nil, fmt.Errorf("open pools: %w", err)
	}
	out := map[string]poolRecord{}
	for ok := it.First(); ok; ok = it.Next() {
		r, err := decodePoolRecord(it.Value())
		if err != nil {
			return nil, fmt.Errorf("open pools: %q: %w", it.Key(), err)
		}
		out[string(it.Key())] = r
	}
	return out, it.Err()
}

// CheckPoolName: 1-32 characters of a-z, 0-9 and '-', starting with a
// letter.
func CheckPoolName(name string) error {
	ok := len(name) >= 1 && len(name) <= 32 && name[0] >= 'a' && name[0] <= 'z'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return fmt.Errorf("pool name %q: want 1-32 characters of a-z, 0-9 and '-', starting with a letter", name)
	}
	return nil
}

// specRecord is the record a spec asks for, and the warning its layout
// comes with.
func (n *Node) specRecord(sp PoolSpec) (poolRecord, string, error) {
	if err := CheckPoolName(sp.Name); err != nil {
		return poolRecord{}, "", err
	}
	r := poolRecord{layout: sp.Layout}
	count := len(n.Drives)
	if len(sp.Drives) > 0 {
		r.drives = slices.Clone(sp.Drives)
		slices.Sort(r.drives)
		for i, d := range r.drives {
			if d < 0 || d >= n.Formatted {
				return r, "", fmt.Errorf("pool %q: drive position %d: the node has positions 0 to %d", sp.Name, d, n.Formatted-1)
			}
			if i > 0 && d == r.drives[i-1] {
				return r, "", fmt.Errorf("pool %q: drive position %d listed twice", sp.Name, d)
			}
		}
		count = len(r.drives)
	}
	var warning string
	if r.layout.N == 0 {
		l, w, err := DefaultLayout(count)
		if err != nil {
			return r, "", fmt.Errorf("pool %q: %w", sp.Name, err)
		}
		r.layout, warning = l, w
	}
	if r.layout.Unit == 0 {
		r.layout.Unit = DefaultUnit
	}
	if err := r.layout.Validate(); err != nil {
		return r, "", fmt.Errorf("pool %q: %w", sp.Name, err)
	}
	if r.layout.N+r.layout.K > count {
		return r, "", fmt.Errorf("pool %q: layout %d+%d needs %d drives, the pool has %d", sp.Name, r.layout.N, r.layout.K, r.layout.N+r.layout.K, count)
	}
	if r.layout.K == 0 && warning == "" {
		warning = fmt.Sprintf("WARNING: pool %q has no parity: any drive failure loses its data", sp.Name)
	}
	return r, warning, nil
}

// agrees checks a spec against the record of its pool.
func agrees(sp PoolSpec, have, want poolRecord) error {
	if len(sp.Drives) > 0 && !slices.Equal(have.drives, want.drives) {
		return fmt.Errorf("configured with drives %v, created with %v (a pool's drives do not change)", want.drives, drivesString(have.drives))
	}
	if sp.Layout.N != 0 && (have.layout.N != want.layout.N || have.layout.K != want.layout.K) {
		return fmt.Errorf("configured as %d+%d, created as %d+%d (a pool's layout does not change)", want.layout.N, want.layout.K, have.layout.N, have.layout.K)
	}
	if sp.Layout.Unit != 0 && have.layout.Unit != sp.Layout.Unit {
		return fmt.Errorf("configured with stripe unit %d, created with %d", sp.Layout.Unit, have.layout.Unit)
	}
	return nil
}

func drivesString(d []int) string {
	if d == nil {
		return "all"
	}
	return fmt.Sprint(d)
}

// disjoint checks that no drive is in two pools.
func (n *Node) disjoint(records map[string]poolRecord) error {
	owner := map[int]string{}
	names := slices.Sorted(maps.Keys(records))
	for _, name := range names {
		drives := records[name].drives
		if drives == nil {
			drives = make([]int, n.Formatted)
			for i := range drives {
				drives[i] = i
			}
		}
		for _, d := range drives {
			if o, ok := owner[d]; ok {
				return fmt.Errorf("drive %d would be in pools %q and %q: a drive belongs to one pool", d, o, name)
			}
			owner[d] = name
		}
	}
	return nil
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
