package beck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/plinth-storage/plinth/appliance/kv"
	"sync"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// verify is phase 7: the pools opened as a start opens them (the sets
// that hold nothing live are released, the others sealed but the one
// the next writes go on in), each pool's index checked against its
// allocator (pool.Check), the key-value indexes restored from the
// pools' indexes (restoreKV), and the rebuild's progress tree dropped:
// the store is the node's.
func (b *rebuild) verify(bar fsck.Bar) (string, error) {
	var mu sync.Mutex
	released := map[string]int{}
	events := func(e pool.Event) {
		if e.Kind == pool.EventSetReleased {
			mu.Lock()
			released[e.Pool]++
			mu.Unlock()
		}
	}
	pools, err := b.node.OpenPools(b.ctx, b.st, pool.Options{Cleaner: pool.CleanerOptions{Manual: true}, Events: events},
		func(w string) { b.note("%s", w) })
	if err != nil {
		return "", fmt.Errorf("open the rebuilt pools: %w", err)
	}
	var errs []error
	checked := 0
	for i, p := range pools {
		if err := p.Check(b.ctx, pool.CheckOptions{MaxProblems: 50}); err != nil {
			if cerr := b.ctx.Err(); cerr != nil {
				errs = append(errs, cerr)
				break
			}
			b.r.CheckProblems++
			b.warn("pool %s: the rebuilt index does not check against its allocator (a bug of the rebuild: report it): %v", p.Name(), err)
		} else {
			checked++
		}
		bar.Update(int64(i+1), int64(len(pools)))
	}
	if len(errs) == 0 {
		var err error
		if b.r.KV.Indexes, b.r.KV.Keys, err = b.restoreKV(pools); err != nil {
			errs = append(errs, fmt.Errorf("key-value indexes: %w", err))
		}
	}
	for _, p := range pools {
		errs = append(errs, p.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	mu.Lock()
	for _, p := range b.pools {
		b.poolReport(p).SetsReleased = released[p.name]
	}
	mu.Unlock()
	if err := b.readLost(); err != nil {
		return "", err
	}
	b.r.Counters = b.prog.counters
	if err := b.st.DropTree(b.ctx, ProgressTree); err != nil && !errors.Is(err, store.ErrNoTree) {
		return "", fmt.Errorf("drop the rebuild's progress: %w", err)
	}
	return fmt.Sprintf("%d of %d pools check clean; %d sets with nothing live released; %d key-value indexes restored with %d keys",
		checked, len(pools), sum(released), b.r.KV.Indexes, b.r.KV.Keys), nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// readLost lists the owners the index phase found lost, from the
// progress tree (they are listed there as they are found, so a resumed
// rebuild reports those of the runs before too).
func (b *rebuild) readLost() error {
	view, err := b.st.View(ProgressTree)
	if err != nil {
		return fmt.Errorf("read the lost owners: %w", err)
	}
	defer view.Close()
	it, err := view.Iter(ProgressTree)
	if err != nil {
		return fmt.Errorf("read the lost owners: %w", err)
	}
	for ok := it.Seek(lostPrefix); ok; ok = it.Next() {
		name, owner, found := parseLostKey(it.Key())
		if !found {
			break
		}
		v := it.Value()
		if len(v) < 8 {
			return fmt.Errorf("read the lost owners: entry of %d bytes", len(v))
		}
		l := Lost{Pool: name, Owner: string(owner), Version: binary.BigEndian.Uint64(v), Why: string(v[8:])}
		if bk, key, ok := ownerBucket(owner); ok {
			l.Bucket, l.Key = bk, key
		} else if index, _, key, marker, ok := kv.ParseOwner(owner); ok && !marker {
			l.Index, l.Key = index, string(key)
		}
		b.r.Lost = append(b.r.Lost, l)
	}
	return it.Err()
}
