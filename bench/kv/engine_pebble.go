package main

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

func init() {
	register("pebble", engineInfo{
		new: func() Engine { return &pebbleEngine{} },
		durability: "one batch per commit, batch.Commit(pebble.Sync): the batch is appended to the WAL, " +
			"which is fdatasynced before Commit returns (WAL files are recycled, so most syncs overwrite preallocated blocks)",
		cache: "block cache of -cache bytes (pebble.NewCache), allocated outside the Go heap when built with cgo; " +
			"on top of it up to 2 memtables of 4 MiB (MemTableSize default) and the OS page cache, since pebble reads its tables through it",
		budget: func(n int64) string { return fmt.Sprintf("%.0f MiB block cache", mib(n)) },
	})
}

// pebbleNewestFormat is set by -pebble-newest. Pebble's default on-disk format
// is the oldest it supports (row-based sstables, readable by pebble v1); the
// newest format has columnar blocks. The default is what a user gets without
// tuning, so it stays the default here; the flag shows what the format is worth.
var pebbleNewestFormat bool

type pebbleEngine struct{ db *pebble.DB }

func (e *pebbleEngine) Name() string { return "pebble" }

func (e *pebbleEngine) Open(dir string, cacheBytes int64) error {
	cache := pebble.NewCache(cacheBytes)
	// Open takes its own reference on the cache; dropping ours now means the
	// cache is freed when the DB closes.
	defer cache.Unref()
	opts := &pebble.Options{Cache: cache, Logger: pebbleLogger{}}
	if pebbleNewestFormat {
		opts.FormatMajorVersion = pebble.FormatNewest
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return fmt.Errorf("pebble: open %s: %w", dir, err)
	}
	e.db = db
	return nil
}

func (e *pebbleEngine) PutBatch(keys, values [][]byte) error {
	b := e.db.NewBatch()
	defer b.Close()
	for i, k := range keys {
		// Set copies key and value into the batch.
		if err := b.Set(k, values[i], nil); err != nil {
			return fmt.Errorf("pebble: batch set: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("pebble: commit batch of %d: %w", len(keys), err)
	}
	return nil
}

func (e *pebbleEngine) Get(key []byte) ([]byte, bool, error) {
	v, closer, err := e.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("pebble: get: %w", err)
	}
	// v is valid only until closer.Close, so it has to be copied out.
	v = bytes.Clone(v)
	if err := closer.Close(); err != nil {
		return nil, false, fmt.Errorf("pebble: get: release: %w", err)
	}
	return v, true, nil
}

func (e *pebbleEngine) Scan(start []byte, n int) (int, error) {
	it, err := e.db.NewIter(nil)
	if err != nil {
		return 0, fmt.Errorf("pebble: new iterator: %w", err)
	}
	count := 0
	for ok := it.SeekGE(start); ok && count < n; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return count, fmt.Errorf("pebble: scan: value: %w", err)
		}
		touch(it.Key(), v)
		count++
	}
	if err := it.Close(); err != nil {
		return count, fmt.Errorf("pebble: scan: %w", err)
	}
	return count, nil
}

// MemNote reports pebble's own account of its memory outside the Go heap
// (block cache, memtables: allocated with malloc when built with cgo), which
// is most of its RSS and invisible to the Go heap figure.
func (e *pebbleEngine) MemNote() string {
	m := e.db.Metrics()
	// Read amplification (sublevels of L0 plus non-empty levels: the tables a
	// get may have to consult) is not memory, but it explains the get figures.
	note := fmt.Sprintf("block cache %.1f MiB in %d blocks (hit rate %.0f%%), memtables %.1f MiB in %d, "+
		"read amplification %d",
		mib(m.BlockCache.Size), m.BlockCache.Count,
		100*float64(m.BlockCache.Hits)/float64(max(1, m.BlockCache.Hits+m.BlockCache.Misses)),
		mib(int64(m.MemTable.Size)), m.MemTable.Count, m.ReadAmp())
	// The manual (cgo) allocation totals are printed only by String.
	for line := range strings.Lines(m.String()) {
		if strings.HasPrefix(line, "Cgo memory usage:") {
			note += "; " + strings.Join(strings.Fields(line), " ")
		}
	}
	return note
}

// pebbleLogger drops pebble's informational lines (WAL replay on every open),
// which would bury the benchmark's progress, and keeps its errors.
type pebbleLogger struct{}

func (pebbleLogger) Infof(string, ...any) {}
func (pebbleLogger) Errorf(format string, args ...any) {
	log.Printf("pebble: "+format, args...)
}
func (pebbleLogger) Fatalf(format string, args ...any) {
	log.Fatalf("pebble: "+format, args...)
}

func (e *pebbleEngine) Close() error {
	if e.db == nil {
		return nil
	}
	err := e.db.Close()
	e.db = nil
	if err != nil {
		return fmt.Errorf("pebble: close: %w", err)
	}
	return nil
}
