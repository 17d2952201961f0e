package beck

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/plinth-storage/plinth/appliance/kv"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// maxListed bounds the owners a report names for each kind of note (all
// are counted).
const maxListed = 100

// index is phase 5: each pool's staging tree read in key order, owner by
// owner, newest version first, and each owner's index entries written
// from the version that wins (resolve). The progress record names the
// last owner written, in the same commits.
func (b *rebuild) index(bar fsck.Bar) (string, error) {
	if b.prog.step > stepIndex {
		return "done before the interruption", nil
	}
	var seen int64
	for pi := b.prog.idxPool; pi < len(b.pools); pi++ {
		after := []byte(nil)
		if pi == b.prog.idxPool {
			after = b.prog.idxOwner
		}
		if err := b.indexPool(pi, after, func() {
			seen++
			if seen%64 == 0 {
				bar.Update(seen, b.prog.counters.Records)
			}
		}); err != nil {
			return "", err
		}
	}
	bar.Update(seen, b.prog.counters.Records)
	b.prog.step = stepTables
	if err := b.commitProgress(store.NewBatch()); err != nil {
		return "", err
	}
	c := b.prog.counters
	return fmt.Sprintf("%d owners with data (%d without attributes, %d at an older version), %d deleted, %d lost",
		c.Objects, c.NoAttrs, c.Older, c.Tombstones, c.Lost), nil
}

// indexPool writes the index of pool number pi from its staging tree,
// from the owner after after on.
func (b *rebuild) indexPool(pi int, after []byte, step func()) error {
	p := b.pools[pi]
	tree := stagingTree(p.name)
	view, err := b.st.View(tree)
	if err != nil {
		return fmt.Errorf("pool %s: read the records found: %w", p.name, err)
	}
	defer view.Close()
	it, err := view.Iter(tree)
	if err != nil {
		return fmt.Errorf("pool %s: read the records found: %w", p.name, err)
	}
	ok := it.First()
	if after != nil {
		prefix := ownerPrefix(after)
		for ok = it.Seek(prefix); ok && bytes.HasPrefix(it.Key(), prefix); ok = it.Next() {
		}
	}
	trees := pool.TreesOf(p.name)
	batch := store.NewBatch()
	owners := 0
	var cur []staged
	flush := func(last []byte) error {
		b.prog.idxPool, b.prog.idxOwner = pi, last
		err := b.commitProgress(batch)
		batch, owners = store.NewBatch(), 0
		return err
	}
	finish := func() error {
		if len(cur) == 0 {
			return nil
		}
		owner := cur[0].owner
		if err := b.restore(p, trees, batch, owner, resolve(owner, cur)); err != nil {
			return err
		}
		cur = cur[:0]
		if owners++; owners >= b.o.BatchRecords {
			return flush(owner)
		}
		return nil
	}
	for ; ok; ok = it.Next() {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		s, err := decodeStaged(it.Key(), it.Value())
		if err != nil {
			return fmt.Errorf("pool %s: %w", p.name, err)
		}
		if len(cur) > 0 && !bytes.Equal(s.owner, cur[0].owner) {
			if err := finish(); err != nil {
				return err
			}
		}
		cur = append(cur, s)
		step()
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("pool %s: read the records found: %w", p.name, err)
	}
	if err := finish(); err != nil {
		return err
	}
	b.prog.idxPool, b.prog.idxOwner = pi+1, nil
	return b.commitProgress(batch)
}

// restore stages an owner's outcome in batch and counts it.
func (b *rebuild) restore(p *poolPlan, trees pool.IndexTrees, batch *store.Batch, owner []byte, o outcome) error {
	c := &b.prog.counters
	if o.older && c.Older < maxListed {
		b.note("pool %s: %s restored at version %d: %s", p.name, describeOwner(owner), o.version, o.skipped)
	}
	switch {
	case o.tomb:
		c.Tombstones++
		if o.older {
			c.Older++
		}
		return wrap(p, owner, trees.PutTombstone(batch, owner, o.version, o.tombRec))
	case o.data:
		c.Objects++
		if o.older {
			c.Older++
		}
		if o.noAttrs {
			c.NoAttrs++
		}
		return wrap(p, owner, trees.PutData(batch, owner, o.version, o.size, o.attrs, o.exts))
	}
	c.Lost++
	v := binary.BigEndian.AppendUint64(nil, o.version)
	batch.Put(ProgressTree, lostKey(p.name, owner), append(v, o.skipped...))
	return nil
}

func wrap(p *poolPlan, owner []byte, err error) error {
	if err != nil {
		return fmt.Errorf("pool %s: index entries of %q: %w", p.name, owner, err)
	}
	return nil
}

// describeOwner names an owner as the object store does when it is one.
func describeOwner(owner []byte) string {
	if bk, key, ok := ownerBucket(owner); ok {
		return fmt.Sprintf("object %q in bucket %q", key, bk)
	}
	if index, _, key, marker, ok := kv.ParseOwner(owner); ok {
		if marker {
			return fmt.Sprintf("the marker of key-value index %q", index)
		}
		return fmt.Sprintf("key %q of key-value index %q", key, index)
	}
	return fmt.Sprintf("owner %q", owner)
}

// ownerBucket splits an object store owner "o/BUCKET/KEY" (package
// appliance/objects); ok is false for any other owner.
func ownerBucket(owner []byte) (bucket, key string, ok bool) {
	rest, found := bytes.CutPrefix(owner, []byte("o/"))
	if !found {
		return "", "", false
	}
	bk, k, found := bytes.Cut(rest, []byte("/"))
	if !found || len(bk) == 0 {
		return "", "", false
	}
	return string(bk), string(k), true
}
