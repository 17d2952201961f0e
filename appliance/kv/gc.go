package kv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
)

// gcBatch is how many tombstones one commit of CollectTombstones removes.
const gcBatch = 256

// CollectTombstones removes, from every index, the tombstones whose
// version's wall time is before now-horizon, in batches of gcBatch keys per
// commit, and returns how many it removed. A tombstone replaced meanwhile
// is left alone (each is checked again under its key's lock).
//
// The horizon must exceed the longest time a REDO or a retried request can
// be delayed: once a tombstone is gone, a put of an older version arriving
// late is applied as if the key had never been deleted.
func (k *KV) CollectTombstones(ctx context.Context, horizon time.Duration, now time.Time) (int, error) {
	if horizon < 0 {
		return 0, fmt.Errorf("kv collect tombstones: %w: negative horizon %v", ErrInvalid, horizon)
	}
	cutoff := now.Add(-horizon)
	infos, err := k.List()
	if err != nil {
		return 0, fmt.Errorf("kv collect tombstones: %w", err)
	}
	total := 0
	for _, info := range infos {
		n, err := k.collect(ctx, info.Name, cutoff)
		total += n
		if err != nil {
			return total, fmt.Errorf("kv collect tombstones of %q: %w", info.Name, err)
		}
		if err := k.collectLogged(ctx, info.Name, cutoff); err != nil {
			return total, fmt.Errorf("kv collect tombstones of %q in the data log: %w", info.Name, err)
		}
	}
	return total, nil
}

// collect removes the old tombstones of one index.
func (k *KV) collect(ctx context.Context, index string, cutoff time.Time) (int, error) {
	total := 0
	var from []byte
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var old []Entry
		for len(old) < gcBatch {
			ts, next, err := k.scan(index, RangeOptions{From: from, Limit: gcBatch - len(old)}, true)
			if err != nil {
				return total, err
			}
			for _, e := range ts {
				if hlc.Timestamp(e.Version).Time().Before(cutoff) {
					old = append(old, e)
				}
			}
			from = next
			if next == nil {
				break
			}
		}
		n, err := k.remove(ctx, index, old)
		total += n
		if err != nil || from == nil {
			return total, err
		}
	}
}

// remove deletes the tombstones that are still the keys' state.
func (k *KV) remove(ctx context.Context, index string, old []Entry) (int, error) {
	if len(old) == 0 {
		return 0, nil
	}
	k.schema.RLock()
	defer k.schema.RUnlock()
	keys := make([][]byte, len(old))
	for i, e := range old {
		keys[i] = e.Key
	}
	unlock := k.locks.lock(index, keys)
	defer unlock()
	b := store.NewBatch()
	for _, e := range old {
		s, ok, err := k.load(index, e.Key)
		if err != nil {
			return 0, err
		}
		if ok && s.tomb && s.version == e.Version {
			b.Delete(treeName(index), e.Key)
		}
	}
	if b.Len() == 0 {
		return 0, nil
	}
	if _, err := k.st.Commit(ctx, b); err != nil {
		return 0, mapStoreErr(index, err)
	}
	return b.Len(), nil
}

// collectLogged forgets the log's tombstones of an index's keys older than
// the cutoff, as collect does the index's own: the same horizon, so that a
// tombstone the index still holds is kept in the log too (a log tombstone
// collected first would only let a rebuild from the logs miss a delete
// that the horizon already allows to be forgotten).
func (k *KV) collectLogged(ctx context.Context, index string, cutoff time.Time) error {
	if k.opts.Log == nil {
		return nil
	}
	k.schema.RLock()
	inc, err := k.incarnation(index)
	k.schema.RUnlock()
	if errors.Is(err, ErrNoIndex) {
		return nil // dropped meanwhile: its keys are forgotten with it
	}
	if err != nil {
		return err
	}
	_, err = k.opts.Log.CollectTombstones(ctx, KeysPrefix(index, inc), uint64(hlc.Make(cutoff, 0)))
	return err
}
