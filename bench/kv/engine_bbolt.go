package main

import (
	"bytes"
	"fmt"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

func init() {
	register("bbolt", engineInfo{
		new: func() Engine { return &bboltEngine{} },
		durability: "one db.Update per batch with NoSync=false: the commit writes the dirty pages and the freelist, " +
			"fdatasyncs, writes the meta page and fdatasyncs again before Update returns",
		cache: "none of its own: bbolt reads through a read-only mmap of the file, so its cache is the OS page cache, " +
			"bounded by RAM and not by -cache (its resident pages show as file-backed RSS)",
		budget: func(int64) string { return "none (mmap, page cache)" },
	})
}

var bboltBucket = []byte("bench")

// bboltInitialMmap is address space, not memory: mapping 4 GiB up front spares
// a 10M-key fill the remaps (each waits for every reader and rebuilds the page
// tables) that growing the map 1 GiB at a time would cost.
const bboltInitialMmap = 4 << 30

type bboltEngine struct{ db *bolt.DB }

func (e *bboltEngine) Name() string { return "bbolt" }

// Open ignores cacheBytes: bbolt has no cache to size (see the engineInfo).
func (e *bboltEngine) Open(dir string, cacheBytes int64) error {
	path := filepath.Join(dir, "bbolt.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		NoSync:          false, // the default, spelled out: the benchmark is about durable commits
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: bboltInitialMmap,
	})
	if err != nil {
		return fmt.Errorf("bbolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bboltBucket)
		return err
	})
	if err != nil {
		db.Close()
		return fmt.Errorf("bbolt: create bucket: %w", err)
	}
	e.db = db
	return nil
}

func (e *bboltEngine) PutBatch(keys, values [][]byte) error {
	err := e.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bboltBucket)
		for i, k := range keys {
			if err := b.Put(k, values[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bbolt: commit batch of %d: %w", len(keys), err)
	}
	return nil
}

func (e *bboltEngine) Get(key []byte) ([]byte, bool, error) {
	var v []byte
	err := e.db.View(func(tx *bolt.Tx) error {
		// The slice points into the mmap and is valid only inside the
		// transaction, so it has to be copied out.
		if got := tx.Bucket(bboltBucket).Get(key); got != nil {
			v = bytes.Clone(got)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("bbolt: get: %w", err)
	}
	return v, v != nil, nil
}

func (e *bboltEngine) Scan(start []byte, n int) (int, error) {
	count := 0
	err := e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bboltBucket).Cursor()
		for k, v := c.Seek(start); k != nil && count < n; k, v = c.Next() {
			touch(k, v)
			count++
		}
		return nil
	})
	if err != nil {
		return count, fmt.Errorf("bbolt: scan: %w", err)
	}
	return count, nil
}

func (e *bboltEngine) Close() error {
	if e.db == nil {
		return nil
	}
	err := e.db.Close()
	e.db = nil
	if err != nil {
		return fmt.Errorf("bbolt: close: %w", err)
	}
	return nil
}
