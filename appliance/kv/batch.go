package kv

import (
	"context"
	"fmt"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/pool"
)

// Op is one operation of a batch: a put of Key and Value, or a delete of
// Key, at Version (0: assigned by the clock).
type Op struct {
	Delete     bool
	Key, Value []byte
	Version    uint64
}

// Result is what became of an Op: the version it carried (assigned or
// given) and whether it was superseded (it changed nothing).
type Result struct {
	Version    uint64
	Superseded bool

	stored     uint64 // the stored version that superseded it
	storedTomb bool
}

// Batch applies ops to an index atomically: all the applied ones are
// committed in one store transaction, or none. A superseded op does not
// fail the batch (its Result says so); invalid input fails the whole batch
// before anything is committed. Ops on the same key apply in order.
func (k *KV) Batch(ctx context.Context, index string, ops []Op) ([]Result, error) {
	rs, err := k.apply(ctx, index, ops)
	if err != nil {
		return nil, fmt.Errorf("kv batch: %w", err)
	}
	return rs, nil
}

// validate checks ops against the limits.
func (k *KV) validate(index string, ops []Op) error {
	if err := checkName(index); err != nil {
		return err
	}
	if len(ops) > k.opts.MaxBatch {
		return fmt.Errorf("%w: batch of %d operations, at most %d", ErrTooLarge, len(ops), k.opts.MaxBatch)
	}
	for i, op := range ops {
		if err := k.checkKey(op.Key); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
		if op.Delete && len(op.Value) > 0 {
			return fmt.Errorf("op %d: %w: a delete with a value", i, ErrInvalid)
		}
		if len(op.Value) > k.opts.MaxValue {
			return fmt.Errorf("op %d: %w: value of %d bytes, at most %d (large values belong in the object store)", i, ErrTooLarge, len(op.Value), k.opts.MaxValue)
		}
	}
	return nil
}

// apply is the read-check-write of Put, Delete and Batch.
func (k *KV) apply(ctx context.Context, index string, ops []Op) ([]Result, error) {
	if err := k.validate(index, ops); err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return []Result{}, nil
	}
	// Take in the clients' versions before anything is locked, so that
	// the versions the clock assigns below are above them.
	for i, op := range ops {
		if op.Version != 0 {
			if err := k.opts.Clock.Update(hlc.Timestamp(op.Version)); err != nil {
				return nil, fmt.Errorf("op %d version %d: %w", i, op.Version, err)
			}
		}
	}
	k.schema.RLock()
	defer k.schema.RUnlock()
	keys := make([][]byte, len(ops))
	for i, op := range ops {
		keys[i] = op.Key
	}
	unlock := k.locks.lock(index, keys)
	defer unlock()

	tree := treeName(index)
	var inc uint64
	if k.opts.Log != nil {
		var err error
		if inc, err = k.incarnation(index); err != nil {
			return nil, mapStoreErr(index, err)
		}
	}
	overlay := map[string]state{} // the keys' states as the batch goes
	b := store.NewBatch()
	var vals []pool.Value
	rs := make([]Result, len(ops))
	for i, op := range ops {
		cur, seen := overlay[string(op.Key)]
		ok := seen
		if !seen {
			var err error
			if cur, ok, err = k.load(index, op.Key); err != nil {
				return nil, err
			}
		}
		v := op.Version
		if v == 0 {
			var err error
			if v, err = k.assign(cur, ok); err != nil {
				return nil, fmt.Errorf("op %d: %w", i, err)
			}
		}
		rs[i].Version = v
		if ok && superseded(op.Delete, v, cur) {
			rs[i].Superseded, rs[i].stored, rs[i].storedTomb = true, cur.version, cur.tomb
			overlay[string(op.Key)] = cur
			continue
		}
		enc := encodeState(op.Delete, v, op.Value)
		b.Put(tree, op.Key, enc)
		if k.opts.Log != nil {
			vals = append(vals, pool.Value{Owner: KeyOwner(index, inc, op.Key), Version: v, Delete: op.Delete, Bytes: op.Value})
		}
		overlay[string(op.Key)] = state{tomb: op.Delete, version: v, value: op.Value}
	}
	if b.Len() > 0 {
		if err := k.commit(ctx, b, vals); err != nil {
			return nil, mapCommitErr(index, err)
		}
	}
	return rs, nil
}

// superseded reports whether an operation of version v changes nothing on
// a key whose stored state is cur.
func superseded(del bool, v uint64, cur state) bool {
	if v > cur.version {
		return false
	}
	// A delete of the same version as a live value wins.
	return !(del && v == cur.version && !cur.tomb)
}

// assign returns a version from the clock newer than the key's state: a
// clock behind the stored version (restarted without its ceiling) takes
// that version in first.
func (k *KV) assign(cur state, ok bool) (uint64, error) {
	ts, err := k.opts.Clock.Now()
	if err != nil {
		return 0, fmt.Errorf("assign a version: %w", err)
	}
	if ok && uint64(ts) <= cur.version {
		if err := k.opts.Clock.Update(hlc.Timestamp(cur.version)); err != nil {
			return 0, fmt.Errorf("assign a version above the stored %d: %w", cur.version, err)
		}
		if ts, err = k.opts.Clock.Now(); err != nil {
			return 0, fmt.Errorf("assign a version: %w", err)
		}
		if uint64(ts) <= cur.version {
			return 0, fmt.Errorf("assign a version: the clock issued %d, not above the stored %d", ts, cur.version)
		}
	}
	return uint64(ts), nil
}
