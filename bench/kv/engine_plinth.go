// The plinth engine: the metadata store (btree/store) on regular files.

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/btree/store"
)

func init() {
	register("plinth", engineInfo{
		new: func() Engine { return &plinthEngine{} },
		durability: "one store.Commit per batch: the batch goes to the journal on regular files opened with O_DIRECT, " +
			"fdatasynced before Commit returns (one mirror)",
		cache: "node cache of -cache bytes (DirOptions.CacheBytes); O_DIRECT bypasses the OS page cache, " +
			"so this is all the caching it gets",
		budget: func(n int64) string { return fmt.Sprintf("%.0f MiB node cache", mib(n)) },
	})
}

const plinthTree = "bench"

type plinthEngine struct {
	st  *store.Store
	ctx context.Context
}

func (e *plinthEngine) Name() string { return "plinth" }

func (e *plinthEngine) Open(dir string, cacheBytes int64) error {
	e.ctx = context.Background()
	opts := store.DirOptions{}
	opts.CacheBytes = cacheBytes
	st, err := store.OpenDir(dir, opts)
	if err != nil {
		return fmt.Errorf("plinth: open %s: %w", dir, err)
	}
	// "" asks for bytewise key order, the order bbolt and pebble use.
	if err := st.CreateTree(e.ctx, plinthTree, ""); err != nil && !errors.Is(err, store.ErrExists) {
		st.Close()
		return fmt.Errorf("plinth: create tree %q: %w", plinthTree, err)
	}
	e.st = st
	return nil
}

func (e *plinthEngine) PutBatch(keys, values [][]byte) error {
	b := store.NewBatch()
	for i, k := range keys {
		// Put copies k and v (the benchmark reuses its buffers for the next
		// batch) and keeps a bad entry's error for Commit, as the package
		// being written does.
		b.Put(plinthTree, k, values[i])
	}
	if _, err := e.st.Commit(e.ctx, b); err != nil {
		return fmt.Errorf("plinth: commit batch of %d: %w", len(keys), err)
	}
	return nil
}

func (e *plinthEngine) Get(key []byte) ([]byte, bool, error) {
	// The value is immutable and stays valid after the call (the tree is
	// copy-on-write), so unlike bbolt and pebble it is not copied.
	v, ok, err := e.st.Get(plinthTree, key)
	if err != nil {
		return nil, false, fmt.Errorf("plinth: get: %w", err)
	}
	return v, ok, nil
}

func (e *plinthEngine) Scan(start []byte, n int) (int, error) {
	view, err := e.st.View(plinthTree)
	if err != nil {
		return 0, fmt.Errorf("plinth: scan: %w", err)
	}
	defer view.Close()
	it, err := view.Iter(plinthTree)
	if err != nil {
		return 0, fmt.Errorf("plinth: scan: iterator: %w", err)
	}
	// Seek positions the iterator on the first key >= start.
	count := 0
	for ok := it.Seek(start); ok && count < n; ok = it.Next() {
		touch(it.Key(), it.Value())
		count++
	}
	if err := it.Err(); err != nil {
		return count, fmt.Errorf("plinth: scan: %w", err)
	}
	return count, nil
}

func (e *plinthEngine) Close() error {
	if e.st == nil {
		return nil
	}
	err := e.st.Close()
	e.st = nil
	if err != nil {
		return fmt.Errorf("plinth: close: %w", err)
	}
	return nil
}
