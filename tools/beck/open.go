package beck

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/server"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
	"github.com/plinth-storage/plinth/superblock"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// salvaged is what the rebuild keeps of a readable store it replaces
// (Options.Yes), or reads back from the store of a rebuild it resumes.
type salvaged struct {
	pools     map[string]poolRec
	labels    map[int]superblock.Label
	ceiling   uint64 // the clock's persisted ceiling
	kvIndexes int    // key-value indexes the old store had
}

type poolRec struct {
	layout stripe.Layout
	drives []int // nil: every drive
}

// openDrives is phase 1: the node's drives (exclusively: a running node
// holds them), their labels, the old metadata store if it can be read,
// the pools and the labels of missing drives.
func (b *rebuild) openDrives(bar fsck.Bar) (string, error) {
	node, err := appliance.OpenNodeWith(b.o.Drives, appliance.NodeOptions{Open: b.o.Open})
	if err != nil {
		return "", err
	}
	b.node = node
	b.r.Node = node.ID.String()
	b.drives = map[int]*driveInfo{}
	for _, d := range node.Drives {
		l := d.Label.Label()
		b.drives[int(l.Position)] = &driveInfo{pos: int(l.Position), path: d.Path, dev: d.Dev, label: l}
	}
	for _, u := range node.Unreadable {
		b.warn("drive %s is left out: its label cannot be read (%v); its data is read through parity", u.Path, u.Err)
	}
	bar.Update(int64(len(node.Drives)), int64(len(b.o.Drives)))
	if err := b.inspectStore(); err != nil {
		return "", err
	}
	if err := b.planPools(); err != nil {
		return "", err
	}
	if err := b.missingLabels(); err != nil {
		return "", err
	}
	for _, d := range b.drives {
		d.segSize = segmentSize(d)
	}
	names := make([]string, len(b.pools))
	for i, p := range b.pools {
		names[i] = fmt.Sprintf("%s %s", p.name, p.layout)
	}
	return fmt.Sprintf("node %s: %d of %d drives present; metadata store: %s; pools: %s",
		node.ID, len(node.Drives), node.Formatted, b.r.OldStore, strings.Join(names, ", ")), nil
}

// inspectStore opens the old metadata store read-only: a rebuild's store
// to resume, a store to replace (with Options.Yes, keeping what the log
// cannot give back), or one that cannot be read.
func (b *rebuild) inspectStore() error {
	st, err := b.node.OpenStoreReadOnly(store.Options{}, store.ReadOnlyOptions{})
	if err != nil {
		b.r.OldStore = fmt.Sprintf("cannot be read (%v): a fresh one is made", err)
		return nil
	}
	defer st.Close()
	var trees, kv int
	resume := false
	for _, t := range st.Trees() {
		switch {
		case t.Name == ProgressTree:
			resume = true
		case strings.HasPrefix(t.Name, "("):
			continue
		case strings.HasPrefix(t.Name, "kv/") && t.Name != "kv/_indexes":
			kv++
		}
		trees++
	}
	switch {
	case resume:
		b.resume, b.r.Resumed = true, true
		b.r.OldStore = "a rebuild's, interrupted: resumed"
	case trees == 0:
		b.r.OldStore = "readable and empty: replaced"
		return nil
	case !b.o.Yes:
		return fmt.Errorf("%w (%d trees, %d key-value indexes): rebuilding the index replaces it with what the data logs hold (key-value writes made before Plinth logged them are not there); check it with 'plinth fsck' first, and give --yes to rebuild anyway", ErrStoreReadable, trees, kv)
	default:
		b.r.OldStore = fmt.Sprintf("readable (%d trees): replaced, as --yes asks", trees)
	}
	sv, err := readSalvage(st)
	if err != nil {
		if b.resume {
			return fmt.Errorf("resume the rebuild: %w", err)
		}
		b.warn("the old store's node records cannot all be read (%v): the pools come from the configuration", err)
		return nil
	}
	sv.kvIndexes = kv
	b.salvage = sv
	return nil
}

// readSalvage reads the node records of a store: its pools, the drive
// labels and the clock's ceiling.
func readSalvage(st *store.Store) (salvaged, error) {
	sv := salvaged{pools: map[string]poolRec{}, labels: map[int]superblock.Label{}}
	each := func(tree string, fn func(k, v []byte) error) error {
		view, err := st.View(tree)
		if err != nil {
			return err
		}
		defer view.Close()
		it, err := view.Iter(tree)
		if err != nil {
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			if err := fn(it.Key(), it.Value()); err != nil {
				return err
			}
		}
		return it.Err()
	}
	err := each(appliance.PoolsTree, func(k, v []byte) error {
		l, drives, err := appliance.DecodePoolRecord(v)
		if err != nil {
			return fmt.Errorf("pool %q: %w", k, err)
		}
		sv.pools[string(k)] = poolRec{layout: l, drives: drives}
		return nil
	})
	if err != nil && !isNoTree(err) {
		return sv, fmt.Errorf("pools: %w", err)
	}
	err = each(appliance.LabelsTree, func(k, v []byte) error {
		var l superblock.Label
		if len(k) != 4 || json.Unmarshal(v, &l) != nil || l.Position != binary.BigEndian.Uint32(k) {
			return fmt.Errorf("label %x: not a recorded label", k)
		}
		sv.labels[int(l.Position)] = l
		return nil
	})
	if err != nil && !isNoTree(err) {
		return sv, fmt.Errorf("labels: %w", err)
	}
	if v, ok, err := st.Get(server.ClockTree, server.ClockKey); err == nil && ok && len(v) == 8 {
		sv.ceiling = binary.BigEndian.Uint64(v)
	}
	return sv, nil
}

func isNoTree(err error) bool { return errors.Is(err, store.ErrNoTree) }

// planPools decides the pools: as the old store (or the rebuild being
// resumed) recorded them, else as the configuration says, else serve's
// default, the pool "default" on every drive.
func (b *rebuild) planPools() error {
	formatted := b.node.Formatted
	all := make([]int, formatted)
	for i := range all {
		all[i] = i
	}
	add := func(name string, l stripe.Layout, drives []int) error {
		if err := appliance.CheckPoolName(name); err != nil {
			return err
		}
		p := &poolPlan{name: name, layout: l, drives: drives, all: drives == nil}
		if p.all {
			p.drives = all
		}
		for _, d := range p.drives {
			if d < 0 || d >= formatted {
				return fmt.Errorf("pool %q: drive %d: the node has positions 0 to %d", name, d, formatted-1)
			}
		}
		if err := l.Validate(); err != nil {
			return fmt.Errorf("pool %q: %w", name, err)
		}
		if l.N+l.K > len(p.drives) {
			return fmt.Errorf("pool %q: layout %d+%d needs %d drives, the pool has %d", name, l.N, l.K, l.N+l.K, len(p.drives))
		}
		b.pools = append(b.pools, p)
		return nil
	}
	switch {
	case len(b.salvage.pools) > 0:
		for _, name := range sortedKeys(b.salvage.pools) {
			r := b.salvage.pools[name]
			if err := add(name, r.layout, r.drives); err != nil {
				return fmt.Errorf("recorded %w", err)
			}
		}
	case b.resume:
		return fmt.Errorf("resume the rebuild: its store records no pool")
	case len(b.o.Pools) > 0:
		for _, sp := range b.o.Pools {
			l := sp.Layout
			n := formatted
			var drives []int
			if len(sp.Drives) > 0 {
				drives = slices.Sorted(slices.Values(sp.Drives))
				n = len(drives)
			}
			if l.N == 0 {
				dl, _, err := appliance.DefaultLayout(n)
				if err != nil {
					return fmt.Errorf("pool %q: %w", sp.Name, err)
				}
				l.N, l.K = dl.N, dl.K
			}
			if l.Unit == 0 {
				l.Unit = appliance.DefaultUnit
			}
			if err := add(sp.Name, l, drives); err != nil {
				return fmt.Errorf("configured %w", err)
			}
		}
		b.note("pool layouts from the configuration (the old store's records could not be read)")
	default:
		l, _, err := appliance.DefaultLayout(formatted)
		if err != nil {
			return err
		}
		if err := add(appliance.DefaultPool, l, nil); err != nil {
			return err
		}
		b.note("the old store's pool records could not be read and no configuration was given: assuming serve's default, pool %q on every drive, %s (a layout that does not match the data stops the rebuild before it writes)", appliance.DefaultPool, l)
	}
	owner := map[int]string{}
	for _, p := range b.pools {
		for _, d := range p.drives {
			if o, dup := owner[d]; dup {
				return fmt.Errorf("drive %d would be in pools %q and %q", d, o, p.name)
			}
			owner[d] = p.name
		}
	}
	return nil
}

// missingLabels gives every missing position a label: the recorded one
// when a store had it, else one made from a present sibling's geometry
// (the node's drives are assumed to be of one model; the drive's own
// UUID is unknown, and recorded again when it comes back).
func (b *rebuild) missingLabels() error {
	for pos := 0; pos < b.node.Formatted; pos++ {
		if b.drives[pos] != nil {
			continue
		}
		if l, ok := b.salvage.labels[pos]; ok && l.Node == b.node.ID {
			b.drives[pos] = &driveInfo{pos: pos, label: l}
			b.warn("drive %d is missing: its data is read through parity (its label comes from the metadata); replace it, then let the node rebuild it", pos)
			continue
		}
		sib := b.sibling(pos)
		if sib == nil {
			return fmt.Errorf("drive %d is missing and no present drive can stand for its geometry", pos)
		}
		l := sib.label
		l.Drive = uuid.NewSHA1(b.node.ID, binary.BigEndian.AppendUint32([]byte("beck: missing drive "), uint32(pos)))
		l.Position = uint32(pos)
		l.Checkpoint = superblock.Checkpoint{}
		if pos >= appliance.MetadataMirrors {
			l.Meta = superblock.Meta{}
		}
		b.drives[pos] = &driveInfo{pos: pos, label: l, synthesized: true}
		b.warn("drive %d is missing and its label could not be read anywhere: its geometry is taken from drive %d's (same model assumed); its data is read through parity; replace it, then let the node rebuild it", pos, sib.pos)
	}
	return nil
}

// sibling is the present drive whose label best stands for the missing
// position pos: a metadata mirror for a mirror's position, a data drive
// otherwise, the nearest position first.
func (b *rebuild) sibling(pos int) *driveInfo {
	var best *driveInfo
	for _, d := range b.drives {
		if d.dev == nil {
			continue
		}
		sameRole := d.label.Meta.Holds() == (pos < appliance.MetadataMirrors)
		bestRole := best != nil && best.label.Meta.Holds() == (pos < appliance.MetadataMirrors)
		switch {
		case best == nil, sameRole && !bestRole:
			best = d
		case sameRole == bestRole && abs(d.pos-pos) < abs(best.pos-pos):
			best = d
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// segmentSize is what a data segment of d holds, as the allocator counts
// it (alloc.DriveFromLabel, lowered to the zone capacity on ZNS drives as
// pool.Open does).
func segmentSize(d *driveInfo) int64 {
	g := dev.Geometry{}
	if d.dev != nil {
		g = d.dev.Geometry()
	}
	ad := alloc.DriveFromLabel(d.label, g, alloc.Online)
	if ad.Zoned && d.dev != nil {
		l, err := seg.Locate(d.dev, d.label.Layout, d.label.Meta.SegFirst+d.label.Meta.SegCount)
		if err == nil && l.Capacity < ad.SegmentSize {
			ad.SegmentSize = l.Capacity
		}
	}
	return ad.SegmentSize
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
