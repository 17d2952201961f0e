package kv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/wal"
)

// Log is where the indexes' writes are logged besides the metadata store:
// a pool's data log, so that an index rebuilt from the logs (the beck
// tool) gets them back. *pool.Pool satisfies it.
type Log interface {
	// PutValues writes the values to the log and commits them with the
	// batch, all or nothing (pool.Pool.PutValues).
	PutValues(ctx context.Context, vals []pool.Value, with *store.Batch) error
	// CollectTombstones forgets the tombstones under prefix older than
	// before.
	CollectTombstones(ctx context.Context, prefix []byte, before uint64) (int, error)
	// ForgetPrefix forgets every owner under prefix.
	ForgetPrefix(ctx context.Context, prefix []byte) (int, error)
	// Stat says what the log holds of an owner (pool.ErrNotFound: nothing,
	// or a tombstone).
	Stat(owner []byte) (pool.Info, error)
}

// Owners in the log (see the package comment): an index's marker is
// "k/NAME", its keys "k/NAME/" + incarnation (8 bytes, big endian) + key.
const (
	ownerPrefix = "k/"
	// ownerKeyOverhead is what an owner adds to a key at most.
	ownerKeyOverhead = len(ownerPrefix) + MaxName + 1 + 8
)

// MarkerOwner is the log owner of an index's marker: a value holding its
// incarnation while the index exists, a tombstone once it is dropped.
func MarkerOwner(index string) []byte { return []byte(ownerPrefix + index) }

// KeysPrefix is the log owner prefix of the keys of one incarnation of an
// index.
func KeysPrefix(index string, incarnation uint64) []byte {
	b := make([]byte, 0, len(ownerPrefix)+len(index)+1+8)
	b = append(b, ownerPrefix...)
	b = append(b, index...)
	b = append(b, '/')
	return binary.BigEndian.AppendUint64(b, incarnation)
}

// KeyOwner is the log owner of a key.
func KeyOwner(index string, incarnation uint64, key []byte) []byte {
	return append(KeysPrefix(index, incarnation), key...)
}

// ParseOwner tells a log owner of the indexes apart: a marker (key nil,
// marker true) or a key of an incarnation. ok is false for any other
// owner (an object's, "o/...").
func ParseOwner(owner []byte) (index string, incarnation uint64, key []byte, marker, ok bool) {
	rest, found := bytes.CutPrefix(owner, []byte(ownerPrefix))
	if !found {
		return "", 0, nil, false, false
	}
	name, tail, hasKey := bytes.Cut(rest, []byte("/"))
	if checkName(string(name)) != nil {
		return "", 0, nil, false, false
	}
	if !hasKey {
		return string(name), 0, nil, true, true
	}
	if len(tail) < 9 { // an incarnation and a key of at least a byte
		return "", 0, nil, false, false
	}
	return string(name), binary.BigEndian.Uint64(tail), tail[8:], false, true
}

// EncodeMarker is a marker's value: the index's incarnation.
func EncodeMarker(incarnation uint64) []byte { return binary.BigEndian.AppendUint64(nil, incarnation) }

// DecodeMarker decodes a marker's value.
func DecodeMarker(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("kv: %w: index marker of %d bytes, want 8", store.ErrCorrupt, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// incarnation is the incarnation of an index: its creation time in Unix
// nanoseconds, from its catalogue record (which exists while the tree does:
// Open reconciles them, and writers hold the schema lock shared).
func (k *KV) incarnation(index string) (uint64, error) {
	b, ok, err := k.st.Get(catalogue, []byte(index))
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrNoIndex, index)
	}
	created, err := decodeRecord(b)
	if err != nil {
		return 0, fmt.Errorf("index %q: %w", index, err)
	}
	return uint64(created.UnixNano()), nil
}

// commit makes b durable with the values logged, when the indexes have a
// log; without one, b alone.
func (k *KV) commit(ctx context.Context, b *store.Batch, vals []pool.Value) error {
	if k.opts.Log == nil || len(vals) == 0 {
		_, err := k.st.Commit(ctx, b)
		return err
	}
	return k.opts.Log.PutValues(ctx, vals, b)
}

// markerValue is the log value that records an index created (its
// incarnation) or dropped, at a version from the clock.
func (k *KV) markerValue(index string, created time.Time, dropped bool) ([]pool.Value, error) {
	if k.opts.Log == nil {
		return nil, nil
	}
	v, err := k.opts.Clock.Now()
	if err != nil {
		return nil, fmt.Errorf("version of the index marker: %w", err)
	}
	m := pool.Value{Owner: MarkerOwner(index), Version: uint64(v), Delete: dropped}
	if !dropped {
		m.Bytes = EncodeMarker(uint64(created.UnixNano()))
	}
	return []pool.Value{m}, nil
}

// mapCommitErr maps a commit's errors to the package's.
func mapCommitErr(index string, err error) error {
	if errors.Is(err, wal.ErrTooLarge) {
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return mapStoreErr(index, err)
}
