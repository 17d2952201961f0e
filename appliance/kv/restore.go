package kv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
)

// RestoredKey is a key's state found in the data log by a rebuild.
type RestoredKey struct {
	Key     []byte
	Version uint64
	Tomb    bool
	Value   []byte
}

// Restore writes keys found in the data log into an index of st, creating
// the index (tree and catalogue record) when it does not exist, with the
// incarnation the log's owners name, so that the keys logged from then on
// carry the same owners. A key's state is written as found, whatever the
// index holds (a rebuild writes each key once). It is the beck tool's
// (tools/beck): the node does not run on st meanwhile.
func Restore(ctx context.Context, st *store.Store, index string, incarnation uint64, keys []RestoredKey) error {
	if err := checkName(index); err != nil {
		return fmt.Errorf("kv restore: %w", err)
	}
	if err := st.CreateTree(ctx, catalogue, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("kv restore: %w", err)
	}
	b := store.NewBatch()
	switch err := st.CreateTree(ctx, treeName(index), ""); {
	case err == nil:
		b.Put(catalogue, []byte(index), encodeRecord(time.Unix(0, int64(incarnation))))
	case !errors.Is(err, store.ErrExists):
		return fmt.Errorf("kv restore %q: %w", index, err)
	}
	for _, k := range keys {
		if len(k.Key) == 0 || len(k.Key) > MaxKeyLimit || len(k.Value) > MaxValueLimit || k.Version == 0 || k.Tomb && len(k.Value) > 0 {
			return fmt.Errorf("kv restore %q: %w: key %q (%d bytes, value of %d, version %d)", index, ErrInvalid, k.Key, len(k.Key), len(k.Value), k.Version)
		}
		b.Put(treeName(index), k.Key, encodeState(k.Tomb, k.Version, k.Value))
	}
	if _, err := st.Commit(ctx, b); err != nil {
		return fmt.Errorf("kv restore %q: %w", index, mapCommitErr(index, err))
	}
	return nil
}
