package beck

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree/store"
)

// commitBatch bounds the operations of one commit of the node records
// and the allocator's tables.
const commitBatch = 4096

// commit commits b, saying what it was for.
func (b *rebuild) commit(batch *store.Batch, what string) error {
	if batch.Len() == 0 {
		return nil
	}
	if _, err := b.st.Commit(b.ctx, batch); err != nil {
		return fmt.Errorf("commit %s: %w", what, err)
	}
	return nil
}

// commitProgress commits batch with the progress record as it stands.
func (b *rebuild) commitProgress(batch *store.Batch) error {
	batch.Put(ProgressTree, progressKey, b.prog.encode())
	return b.commit(batch, "the rebuild's progress")
}

// createTree creates a tree unless it exists.
func (b *rebuild) createTree(name string) error {
	if err := b.st.CreateTree(b.ctx, name, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("create tree %s: %w", name, err)
	}
	return nil
}

// nodeRecords writes the drive labels and the pool records, with the
// progress record, in one transaction.
func (b *rebuild) nodeRecords() error {
	trees := []string{appliance.LabelsTree, appliance.PoolsTree, ProgressTree}
	for _, p := range b.pools {
		trees = append(trees, stagingTree(p.name))
	}
	for _, t := range trees {
		if err := b.createTree(t); err != nil {
			return err
		}
	}
	batch := store.NewBatch()
	for _, pos := range slices.Sorted(maps.Keys(b.drives)) {
		l := b.drives[pos].label
		l.Position = uint32(pos)
		k, v, err := appliance.LabelRecord(l)
		if err != nil {
			return err
		}
		batch.Put(appliance.LabelsTree, k, v)
	}
	for _, p := range b.pools {
		var drives []int
		if !p.all {
			drives = p.drives
		}
		batch.Put(appliance.PoolsTree, []byte(p.name), appliance.EncodePoolRecord(p.layout, drives))
	}
	return b.commitProgress(batch)
}

// writeAlloc writes pool p's allocator tables: every found set open with
// the live bytes live gives it (nil: all it was written with, so that
// nothing of it is reclaimable yet), its members' segments in it with
// their shares, every other data segment of the pool's drives free with
// a generation past the one its header names, and the next set id past
// every id the headers name.
func (b *rebuild) writeAlloc(p *poolPlan, live map[uint64]int64) error {
	segsTree, setsTree, metaTree := allocTrees(p.name)
	now := b.o.Now()
	type use struct {
		set, gen uint64
		share    int64
	}
	uses := map[[2]int]use{}
	batch := store.NewBatch()
	step := func() error {
		if batch.Len() < commitBatch {
			return nil
		}
		err := b.commit(batch, "the allocator's tables of pool "+p.name)
		batch = store.NewBatch()
		return err
	}
	for _, fs := range p.sets {
		l := fs.end
		if live != nil {
			l = live[fs.id]
		}
		batch.Put(setsTree, setKey(fs.id), setEntry(fs, p.layout, l))
		for _, m := range fs.members {
			uses[[2]int{m.pos, int(m.seg)}] = use{set: fs.id, gen: m.gen, share: share(l, p.layout.N)}
		}
		if err := step(); err != nil {
			return err
		}
	}
	for _, pos := range p.drives {
		d := b.drives[pos]
		for i := uint32(0); i < d.label.NrSegments; i++ {
			if d.isMeta(i) {
				continue
			}
			if u, ok := uses[[2]int{pos, int(i)}]; ok {
				batch.Put(segsTree, segKey(pos, i), segEntry(allocOpen, u.gen, u.set, u.share, now))
			} else {
				gen := uint64(1)
				if h, ok := d.headers[i]; ok && h.bad == nil {
					gen = h.gen + 1
				}
				batch.Put(segsTree, segKey(pos, i), segEntry(allocFree, gen, 0, 0, now))
			}
			if err := step(); err != nil {
				return err
			}
		}
	}
	batch.Put(metaTree, []byte("alloc"), allocMeta(p.maxSet+1))
	return b.commit(batch, "the allocator's tables of pool "+p.name)
}
