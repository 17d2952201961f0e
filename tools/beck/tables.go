package beck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/appliance/server"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// tables is phase 6: each pool's index walked to sum the record bytes it
// references in each set (the allocator's live bytes, written with the
// rest of its tables), the buckets (the distinct buckets of the objects
// found) and the clock's ceiling (the newest version found); then the
// staging trees are dropped.
func (b *rebuild) tables(bar fsck.Bar) (string, error) {
	if b.prog.step > stepTables {
		return "done before the interruption", nil
	}
	ceiling := b.salvage.ceiling
	buckets := map[string]map[string]int{} // bucket: pool: objects
	for i, p := range b.pools {
		live, err := pool.WalkIndex(b.ctx, b.st, pool.TreesOf(p.name), func(e pool.IndexEntry) error {
			ceiling = max(ceiling, e.Version)
			if e.Tomb {
				return nil
			}
			if bk, _, ok := ownerBucket(e.Owner); ok {
				if buckets[bk] == nil {
					buckets[bk] = map[string]int{}
				}
				buckets[bk][p.name]++
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("pool %s: %w", p.name, err)
		}
		if err := b.writeAlloc(p, live); err != nil {
			return "", err
		}
		for _, fs := range p.sets {
			b.poolReport(p).LiveBytes += live[fs.id]
		}
		bar.Update(int64(i+1), int64(len(b.pools)))
	}
	for _, t := range []string{objects.BucketsTree, server.ClockTree} {
		if err := b.createTree(t); err != nil {
			return "", err
		}
	}
	batch := store.NewBatch()
	now := b.o.Now()
	for _, name := range sortedKeys(buckets) {
		in := buckets[name]
		pools := sortedKeys(in)
		home := pools[0]
		for _, pn := range pools[1:] {
			if in[pn] > in[home] {
				home = pn
			}
		}
		if len(pools) > 1 {
			b.warn("bucket %q has objects in pools %s: it is recreated in pool %s (%d objects); the objects of the others are in the index but not reachable through the bucket", name, strings.Join(pools, ", "), home, in[home])
		}
		batch.Put(objects.BucketsTree, []byte(name), objects.EncodeBucket(objects.BucketInfo{Name: name, Created: now, Pool: home}))
		for _, p := range b.pools {
			if p.name == home {
				b.poolReport(p).Buckets++
			}
		}
	}
	batch.Put(server.ClockTree, server.ClockKey, binary.BigEndian.AppendUint64(nil, ceiling))
	if err := b.commit(batch, "the buckets and the clock"); err != nil {
		return "", err
	}
	for _, p := range b.pools {
		if err := b.st.DropTree(b.ctx, stagingTree(p.name)); err != nil && !errors.Is(err, store.ErrNoTree) {
			return "", fmt.Errorf("drop the records found in pool %s: %w", p.name, err)
		}
	}
	b.prog.step = stepVerify
	if err := b.commitProgress(store.NewBatch()); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d sets' live bytes, %d buckets (objects' distinct buckets), clock ceiling %d", len(b.sets), len(buckets), ceiling), nil
}

// poolReport is p's entry of the report.
func (b *rebuild) poolReport(p *poolPlan) *PoolReport {
	for i := range b.r.Pools {
		if b.r.Pools[i].Name == p.name {
			return &b.r.Pools[i]
		}
	}
	pr := PoolReport{Name: p.name, Layout: p.layout.String(), Drives: slices.Clone(p.drives)}
	for _, fs := range p.sets {
		pr.Sets++
		pr.StreamBytes += fs.end
		if len(fs.missing) > 0 {
			pr.SetsDegraded++
		}
	}
	b.r.Pools = append(b.r.Pools, pr)
	return &b.r.Pools[len(b.r.Pools)-1]
}
