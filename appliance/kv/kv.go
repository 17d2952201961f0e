package kv

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/pool"
)

// Clock assigns versions and takes in the versions clients give.
// *hlc.Clock satisfies it.
type Clock interface {
	Now() (hlc.Timestamp, error)
	Update(hlc.Timestamp) error
}

// Limits.
const (
	// MaxValueLimit is the largest value an index can hold: what a B-tree
	// value holds less the state header. Larger values belong in the
	// object store.
	MaxValueLimit = btree.MaxValue - headerSize
	// MaxKeyLimit is the largest key: what a log owner holds (the
	// data log's pool.MaxOwner, 1000 bytes) less the index's name and
	// incarnation, so that every key can be logged (926 bytes).
	MaxKeyLimit = pool.MaxOwner - ownerKeyOverhead
	// DefaultMaxBatch is the default bound on the operations of a batch.
	DefaultMaxBatch = 1000
	// DefaultLimit and MaxLimit bound what a Range returns.
	DefaultLimit = 1000
	MaxLimit     = 10000
)

// Options configures a KV.
type Options struct {
	// Clock is required: it assigns versions to operations that come
	// without one, and takes in the versions clients give.
	Clock Clock
	// MaxKey bounds keys (default and at most MaxKeyLimit, 926 bytes).
	MaxKey int
	// MaxValue bounds values (default and at most MaxValueLimit: the
	// B-tree's value limit, 4096 bytes, less the 10-byte state header; the
	// 64 KiB one might expect does not fit a metadata tree).
	MaxValue int
	// MaxBatch bounds the operations of a batch (default 1000). A batch
	// must also fit one journal transaction: a batch the journal refuses
	// fails with ErrTooLarge.
	MaxBatch int
	// Log, when set, also logs every write, and every index created and
	// dropped, in a pool's data log, committed with the index change (see
	// the package comment), so that an index rebuilt from the logs has
	// them. The node always sets it; without it the indexes live in the
	// metadata store only.
	Log Log
}

// Errors; test with errors.Is.
var (
	// ErrNoIndex: the named index does not exist.
	ErrNoIndex = errors.New("kv: no such index")
	// ErrExists: Create of an index that exists.
	ErrExists = errors.New("kv: index exists")
	// ErrNotFound: the key has no value (absent, or its newest state is a
	// tombstone).
	ErrNotFound = errors.New("kv: key not found")
	// ErrSuperseded: the operation's version is not newer than the key's
	// stored state (see the package comment); nothing changed. Callers that
	// replay operations treat it as success.
	ErrSuperseded = errors.New("kv: superseded by a newer version")
	// ErrInvalid: a bad index name, an empty key, bad options or
	// arguments.
	ErrInvalid = errors.New("kv: invalid argument")
	// ErrTooLarge: a key, value or batch beyond the limits.
	ErrTooLarge = errors.New("kv: too large")
)

// Entry is a key's live value.
type Entry struct {
	Key, Value []byte
	Version    uint64
}

// KV is the node's key-value indexes. Its methods are safe for concurrent
// use.
type KV struct {
	st    *store.Store
	opts  Options
	locks lockTable
	// schema: Create and Drop hold it exclusively, writers shared, so that
	// a write's read-check-write never spans an index dropped and created
	// again.
	schema sync.RWMutex
}

// Open returns the indexes kept in st, creating the catalogue tree on first
// use and reconciling the catalogue with the index trees (a crash between
// the two commits of Create or Drop leaves one without the other).
func Open(ctx context.Context, st *store.Store, o Options) (*KV, error) {
	if st == nil {
		return nil, fmt.Errorf("kv open: %w: no store", ErrInvalid)
	}
	if o.Clock == nil {
		return nil, fmt.Errorf("kv open: %w: Options.Clock is required", ErrInvalid)
	}
	if o.MaxKey == 0 {
		o.MaxKey = MaxKeyLimit
	}
	if o.MaxValue == 0 {
		o.MaxValue = MaxValueLimit
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxKey < 0 || o.MaxKey > MaxKeyLimit {
		return nil, fmt.Errorf("kv open: %w: MaxKey %d, 1 to %d", ErrInvalid, o.MaxKey, MaxKeyLimit)
	}
	if o.MaxValue < 0 || o.MaxValue > MaxValueLimit {
		return nil, fmt.Errorf("kv open: %w: MaxValue %d, 1 to %d (a B-tree value less the state header; large values belong in the object store)", ErrInvalid, o.MaxValue, MaxValueLimit)
	}
	if o.MaxBatch < 0 {
		return nil, fmt.Errorf("kv open: %w: MaxBatch %d", ErrInvalid, o.MaxBatch)
	}
	k := &KV{st: st, opts: o}
	if err := st.CreateTree(ctx, catalogue, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("kv open: %w", err)
	}
	if err := k.reconcile(ctx); err != nil {
		return nil, fmt.Errorf("kv open: %w", err)
	}
	return k, nil
}

// Get returns the live value of key. A key that is absent or whose newest
// state is a tombstone is ErrNotFound (the message gives the tombstone's
// version).
func (k *KV) Get(index string, key []byte) (Entry, error) {
	if err := k.checkKey(key); err != nil {
		return Entry{}, fmt.Errorf("kv get: %w", err)
	}
	if err := checkName(index); err != nil {
		return Entry{}, fmt.Errorf("kv get: %w", err)
	}
	s, ok, err := k.load(index, key)
	if err != nil {
		return Entry{}, fmt.Errorf("kv get: %w", err)
	}
	if !ok {
		return Entry{}, fmt.Errorf("kv get %s/%q: %w", index, key, ErrNotFound)
	}
	if s.tomb {
		return Entry{}, fmt.Errorf("kv get %s/%q: %w: deleted at version %d", index, key, ErrNotFound, s.version)
	}
	return Entry{Key: clone(key), Value: clone(s.value), Version: s.version}, nil
}

// Put sets key to value at version (0: assigned by the clock) and returns
// the version applied. A version not newer than the key's stored state
// changes nothing and fails with ErrSuperseded, returning the version the
// put carried.
func (k *KV) Put(ctx context.Context, index string, key, value []byte, version uint64) (uint64, error) {
	return k.single(ctx, "put", index, Op{Key: key, Value: value, Version: version})
}

// Delete leaves a tombstone of version (0: assigned by the clock) for key,
// whether or not the key has a value, and returns the version applied.
// See the package comment for when it is superseded.
func (k *KV) Delete(ctx context.Context, index string, key []byte, version uint64) (uint64, error) {
	return k.single(ctx, "delete", index, Op{Delete: true, Key: key, Version: version})
}

func (k *KV) single(ctx context.Context, what, index string, op Op) (uint64, error) {
	rs, err := k.apply(ctx, index, []Op{op})
	if err != nil {
		return 0, fmt.Errorf("kv %s: %w", what, err)
	}
	r := rs[0]
	if r.Superseded {
		st := "value"
		if r.storedTomb {
			st = "tombstone"
		}
		return r.Version, fmt.Errorf("kv %s %s/%q version %d: %w: stored %s has version %d", what, index, op.Key, r.Version, ErrSuperseded, st, r.stored)
	}
	return r.Version, nil
}

// load reads a key's stored state.
func (k *KV) load(index string, key []byte) (state, bool, error) {
	b, ok, err := k.st.Get(treeName(index), key)
	if err != nil {
		return state{}, false, mapStoreErr(index, err)
	}
	if !ok {
		return state{}, false, nil
	}
	s, err := decodeState(b)
	if err != nil {
		return state{}, false, fmt.Errorf("%s/%q: %w", index, key, err)
	}
	return s, true, nil
}

// mapStoreErr turns the store's missing tree into ErrNoIndex.
func mapStoreErr(index string, err error) error {
	if errors.Is(err, store.ErrNoTree) {
		return fmt.Errorf("%w: %q", ErrNoIndex, index)
	}
	return err
}

func (k *KV) checkKey(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if len(key) > k.opts.MaxKey {
		return fmt.Errorf("%w: key of %d bytes, at most %d", ErrTooLarge, len(key), k.opts.MaxKey)
	}
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return append([]byte(nil), b...)
}
