package objects

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// EncodeBucket is a BucketsTree value (the index rebuild writes them too).
func EncodeBucket(b BucketInfo) []byte { return encodeBucket(b) }

func encodeBucket(b BucketInfo) []byte {
	v := []byte{1}
	v = binary.BigEndian.AppendUint64(v, uint64(b.Created.UnixNano()))
	v = append(v, byte(len(b.Pool)))
	return append(v, b.Pool...)
}

func decodeBucket(name string, v []byte) (BucketInfo, error) {
	if len(v) < 11 || v[0] != 1 || int(v[9]) != len(v)-10 {
		return BucketInfo{}, fmt.Errorf("%w: bucket %q: record of %d bytes, version %d", store.ErrCorrupt, name, len(v), firstByte(v))
	}
	return BucketInfo{Name: name, Created: time.Unix(0, int64(binary.BigEndian.Uint64(v[1:]))).UTC(), Pool: string(v[10:])}, nil
}

// loadBuckets reads the buckets tree.
func (s *Store) loadBuckets() error {
	view, err := s.st.View(BucketsTree)
	if err != nil {
		return fmt.Errorf("objects: %w", err)
	}
	defer view.Close()
	it, err := view.Iter(BucketsTree)
	if err != nil {
		return fmt.Errorf("objects: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		bi, err := decodeBucket(string(it.Key()), it.Value())
		if err != nil {
			return fmt.Errorf("objects: %w", err)
		}
		p, err := s.pool(bi.Pool)
		if err != nil {
			return fmt.Errorf("objects: bucket %q: %w", bi.Name, err)
		}
		s.buckets[bi.Name] = &bucket{info: bi, pool: p}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("objects: read the buckets: %w", err)
	}
	return nil
}

// CreateBucket creates a bucket in the pool the selection policy picks.
func (s *Store) CreateBucket(ctx context.Context, name string) (BucketInfo, error) {
	if err := CheckBucketName(name); err != nil {
		return BucketInfo{}, err
	}
	s.mu.Lock()
	if s.buckets[name] != nil {
		s.mu.Unlock()
		return BucketInfo{}, fmt.Errorf("%w: %q", ErrBucketExists, name)
	}
	p := s.selectPool()
	b := &bucket{info: BucketInfo{Name: name, Pool: p.Name(), Created: s.opts.Now().UTC()}, pool: p, deleting: true}
	s.buckets[name] = b // reserved (deleting: no writes) until committed
	s.mu.Unlock()
	// Tombstones of an earlier bucket of this name are gone with it
	// (DeleteBucket collects them); a crash in between may have left
	// some, and they would refuse new writes of older versions only.
	batch := store.NewBatch()
	batch.Put(BucketsTree, []byte(name), encodeBucket(b.info))
	_, err := s.st.Commit(ctx, batch)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.buckets, name)
		return BucketInfo{}, fmt.Errorf("create bucket %q: %w", name, err)
	}
	b.deleting = false
	return b.info, nil
}

// DeleteBucket deletes an empty bucket: ErrBucketNotEmpty when it holds an
// object or a write to it is under way.
func (s *Store) DeleteBucket(ctx context.Context, name string) error {
	s.mu.Lock()
	b := s.buckets[name]
	switch {
	case b == nil || b.deleting:
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNoBucket, name)
	case b.inflight > 0:
		s.mu.Unlock()
		return fmt.Errorf("%w: %q has %d writes under way", ErrBucketNotEmpty, name, b.inflight)
	}
	b.deleting = true // no new writes while it is checked
	s.mu.Unlock()
	fail := func(err error) error {
		s.mu.Lock()
		b.deleting = false
		s.mu.Unlock()
		return err
	}
	var found string
	err := b.pool.List(ctx, bucketPrefix(name), nil, func(e pool.Entry) (bool, error) {
		found = string(e.Owner[len(bucketPrefix(name)):])
		return false, nil
	})
	if err != nil {
		return fail(fmt.Errorf("delete bucket %q: %w", name, err))
	}
	if found != "" {
		return fail(fmt.Errorf("%w: %q holds objects (%q, ...)", ErrBucketNotEmpty, name, found))
	}
	batch := store.NewBatch()
	batch.Delete(BucketsTree, []byte(name))
	if _, err := s.st.Commit(ctx, batch); err != nil {
		return fail(fmt.Errorf("delete bucket %q: %w", name, err))
	}
	s.mu.Lock()
	delete(s.buckets, name)
	s.mu.Unlock()
	// The deleted objects' tombstones go with the bucket: a new bucket of
	// the name starts clean. (Failing here leaves them for the horizon.)
	if _, err := b.pool.CollectTombstones(ctx, bucketPrefix(name), math.MaxUint64); err != nil {
		return fmt.Errorf("bucket %q deleted; collecting its tombstones failed (they go after the horizon): %w", name, err)
	}
	return nil
}

// Buckets lists the buckets by name.
func (s *Store) Buckets() []BucketInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BucketInfo, 0, len(s.buckets))
	for _, b := range s.buckets {
		if !b.deleting {
			out = append(out, b.info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Bucket describes one bucket.
func (s *Store) Bucket(name string) (BucketInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil || b.deleting {
		return BucketInfo{}, fmt.Errorf("%w: %q", ErrNoBucket, name)
	}
	return b.info, nil
}

// lookup returns a bucket's pool for a read.
func (s *Store) lookup(name string) (*pool.Pool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoBucket, name)
	}
	return b.pool, nil
}

// begin registers a write to a bucket; end must follow.
func (s *Store) begin(name string) (*bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil || b.deleting {
		return nil, fmt.Errorf("%w: %q", ErrNoBucket, name)
	}
	b.inflight++
	return b, nil
}

func (s *Store) end(b *bucket) {
	s.mu.Lock()
	b.inflight--
	s.mu.Unlock()
}

// selectPool picks the pool of a new bucket (s.mu held).
func (s *Store) selectPool() *pool.Pool {
	switch s.opts.Selection {
	case MostFree:
		return s.best(func(p *pool.Pool) float64 { return float64(p.FSStat().Data.FreeUsableBytes) })
	case Healthiest:
		return s.best(func(p *pool.Pool) float64 { return health(p) })
	}
	p := s.order[s.rr%len(s.order)]
	s.rr++
	return p
}

// best returns the pool scoring highest (the first of equals).
func (s *Store) best(score func(*pool.Pool) float64) *pool.Pool {
	best, bestScore := s.order[0], score(s.order[0])
	for _, p := range s.order[1:] {
		if sc := score(p); sc > bestScore {
			best, bestScore = p, sc
		}
	}
	return best
}

// health scores a pool: write-protected is worst, then each drive not online, then the reads that needed parity; free space breaks ties.
func health(p *pool.Pool) float64 {
	f := p.FSStat()
	st := p.Stats()
	unhealthy := 0
	for _, d := range p.Allocator().Drives() {
		if d.Health != alloc.Online {
			unhealthy++
		}
	}
	score := -float64(st.DegradedReads) - 1e6*float64(unhealthy)
	if f.WriteProtected != "" {
		score -= 1e12
	}
	return score + float64(f.Data.FreeUsableBytes)/float64(max(f.Data.UsableBytes, 1))
}
