package objects

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/pool"
)

// Errors. Pool errors (pool.ErrNoSpace, pool.ErrWriteProtected,
// stripe.ErrUnrecoverable, ...) come through wrapped as they are.
var (
	ErrNoBucket       = errors.New("no such bucket")
	ErrBucketExists   = errors.New("bucket already exists")
	ErrBucketNotEmpty = errors.New("bucket not empty")
	ErrNotFound       = errors.New("no such object")
	// ErrSuperseded: the object has a version at least as new (or a
	// tombstone that wins); the operation changed nothing. A replayed
	// operation gets it: callers that replay treat it as done.
	ErrSuperseded = errors.New("a newer version exists")
	ErrInvalid    = errors.New("invalid argument")
	ErrTooLarge   = errors.New("too large")
	// ErrIncomplete: the body ended before the size the client declared.
	ErrIncomplete = errors.New("body shorter than declared")
	// ErrChanged: the object was overwritten or deleted while it was read.
	ErrChanged = errors.New("object changed while it was read")
)

// Clock assigns versions (*hlc.Clock is one).
type Clock interface {
	Now() (hlc.Timestamp, error)
	Update(hlc.Timestamp) error
}

// Selection policies for the pool of a new bucket.
const (
	RoundRobin = "round-robin"
	MostFree   = "most-free"
	Healthiest = "healthiest"
)

// Options configure the object store. Zero values mean the defaults.
type Options struct {
	Clock Clock // required
	// Pools the buckets live in (at least one).
	Pools []*pool.Pool
	// Selection picks the pool of a new bucket: RoundRobin (default),
	// MostFree or Healthiest.
	Selection string
	// MaxObjectSize bounds a PUT (default 5 TiB).
	MaxObjectSize int64
	// MaxKey bounds a key in bytes (default and most MaxKey).
	MaxKey int
	// MaxMetadata bounds the content type and user metadata together
	// (default 2 KiB; at most MaxMetadata).
	MaxMetadata int
	// ReadAhead is how many chunks of ReadChunk bytes a reader keeps in
	// flight (default 3 of 2 MiB: each spans several stripes, read in parallel).
	ReadAhead int
	ReadChunk int
	// Now is the wall clock (time.Now).
	Now func() time.Time
}

// Limits.
const (
	MaxKey      = 900
	MaxMetadata = 3000
)

// BucketsTree is the metadata tree of the buckets.
const BucketsTree = "objects/buckets"

// Store is the object store. Its methods are safe for concurrent use.
type Store struct {
	st    *store.Store
	opts  Options
	pools map[string]*pool.Pool
	order []*pool.Pool

	mu      sync.Mutex
	buckets map[string]*bucket
	rr      int // round-robin position
}

// bucket is a bucket's state in memory.
type bucket struct {
	info     BucketInfo
	pool     *pool.Pool
	inflight int  // writes under way
	deleting bool // DeleteBucket is checking it is empty
}

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name    string    `json:"name"`
	Pool    string    `json:"pool"`
	Created time.Time `json:"created"`
}

// Open opens the object store on the metadata store st, creating its tree
// on first use, and loads the buckets.
func Open(ctx context.Context, st *store.Store, o Options) (*Store, error) {
	if o.Clock == nil {
		return nil, fmt.Errorf("%w: objects: no clock", ErrInvalid)
	}
	if len(o.Pools) == 0 {
		return nil, fmt.Errorf("%w: objects: no pool", ErrInvalid)
	}
	switch o.Selection {
	case "":
		o.Selection = RoundRobin
	case RoundRobin, MostFree, Healthiest:
	default:
		return nil, fmt.Errorf("%w: pool selection %q (want %s, %s or %s)", ErrInvalid, o.Selection, RoundRobin, MostFree, Healthiest)
	}
	if o.MaxObjectSize <= 0 {
		o.MaxObjectSize = 5 << 40
	}
	if o.MaxKey <= 0 || o.MaxKey > MaxKey {
		o.MaxKey = MaxKey
	}
	if o.MaxMetadata <= 0 || o.MaxMetadata > MaxMetadata {
		o.MaxMetadata = 2 << 10
	}
	if o.ReadAhead <= 0 {
		o.ReadAhead = 3
	}
	if o.ReadChunk <= 0 {
		o.ReadChunk = 2 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{st: st, opts: o, pools: map[string]*pool.Pool{}, buckets: map[string]*bucket{}}
	for _, p := range o.Pools {
		if s.pools[p.Name()] != nil {
			return nil, fmt.Errorf("%w: objects: pool %q given twice", ErrInvalid, p.Name())
		}
		s.pools[p.Name()] = p
		s.order = append(s.order, p)
	}
	if err := st.CreateTree(ctx, BucketsTree, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("objects: %w", err)
	}
	if err := s.loadBuckets(); err != nil {
		return nil, err
	}
	return s, nil
}

// pool returns the named pool.
func (s *Store) pool(name string) (*pool.Pool, error) {
	p := s.pools[name]
	if p == nil {
		return nil, fmt.Errorf("%w: a bucket lives in pool %q, which this node does not have", store.ErrCorrupt, name)
	}
	return p, nil
}

// ownerOf is the pool owner of an object.
func ownerOf(bucket, key string) []byte {
	b := make([]byte, 0, 3+len(bucket)+len(key))
	b = append(b, "o/"...)
	b = append(b, bucket...)
	b = append(b, '/')
	return append(b, key...)
}

// bucketPrefix is the owner prefix of a bucket's objects.
func bucketPrefix(bucket string) []byte { return ownerOf(bucket, "") }

// version returns the version an operation applies: the client's (which
// the clock takes in) or a new one.
func (s *Store) version(v uint64) (uint64, error) {
	if v == 0 {
		ts, err := s.opts.Clock.Now()
		if err != nil {
			return 0, fmt.Errorf("assign a version: %w", err)
		}
		return uint64(ts), nil
	}
	if err := s.opts.Clock.Update(hlc.Timestamp(v)); err != nil {
		return 0, fmt.Errorf("%w: version %d: %w", ErrInvalid, v, err)
	}
	return v, nil
}

// mapErr turns the pool's version and lookup errors into this package's.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pool.ErrSuperseded):
		return fmt.Errorf("%w: %w", ErrSuperseded, err)
	case errors.Is(err, pool.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
