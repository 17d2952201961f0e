package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/wal"
)

// Value is one owner's new state in PutValues: Bytes as its content, or,
// with Delete, a tombstone.
type Value struct {
	Owner   []byte
	Version uint64
	Delete  bool
	Bytes   []byte
}

// PutValues writes small values to the log, each as a write of its own
// (records as Put and Delete write them), and commits them in one group
// together with the caller's own changes (with, which may be nil): all of
// them become durable and visible at once, or none does. It
// is how a layer that keeps its own index of small values in the metadata
// store (the key-value indexes) also has them in the log, so that an index
// rebuilt from the log gets them back.
//
// The caller owns the versions: a value replaces the owner's state
// whatever its version (the caller has checked it against its own index
// under its own locks), and a version of 0 is refused. A tombstone in a
// pool out of data space is committed pending, as Delete's. Writes are
// refused in write-protect mode unless every value is a delete. A request
// whose index changes and with would not fit one metadata transaction
// fails with an error wrapping wal.ErrTooLarge before anything is written.
func (p *Pool) PutValues(ctx context.Context, vals []Value, with *store.Batch) error {
	if len(vals) == 0 {
		return nil
	}
	puts := false
	size := 0
	if with != nil {
		size = with.Size()
	}
	for i, v := range vals {
		size += opBytes(op{owner: v.Owner}) + 200 // an extent or two, their live bytes
		if err := checkOwner(v.Owner); err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
		if v.Version == 0 {
			return fmt.Errorf("%w: value %d: version 0 (versions start at 1)", ErrInvalid, i)
		}
		if v.Delete && len(v.Bytes) > 0 {
			return fmt.Errorf("%w: value %d: a delete with bytes", ErrInvalid, i)
		}
		puts = puts || !v.Delete
	}
	// (A store that cannot commit has no limit: its commit says why.)
	if limit := p.st.MaxCommit() - 64<<10; p.st.MaxCommit() > 0 && size > limit {
		return fmt.Errorf("%d values: %w: their index changes take up to %d bytes, a metadata transaction at most %d", len(vals), wal.ErrTooLarge, size, limit)
	}
	if p.isClosed() {
		return ErrClosed
	}
	if puts {
		if err := p.writeAllowed(); err != nil {
			return err
		}
	}
	ops := make([]op, 0, len(vals))
	var writes []written
	abandon := func() {
		for _, o := range ops {
			for _, a := range o.exts {
				a.s.pending.Add(-1)
			}
		}
		for _, w := range writes {
			w.decided()
		}
	}
	// One slot for the whole request: its records go to one stream, so
	// that its commit flushes one stream, not one per value.
	slot := int(p.nextSlot.Add(1))
	for _, v := range vals {
		if v.Delete {
			exts, err := p.appendRecords(ctx, false, slot, kindTombstone, v.Owner, v.Version, 0, nil, nil)
			if errors.Is(err, ErrNoSpace) {
				exts, err = nil, nil // pending, as Delete's
			}
			if err != nil {
				for _, a := range exts {
					a.s.pending.Add(-1)
				}
				abandon()
				return fmt.Errorf("delete %q: %w", v.Owner, err)
			}
			ops = append(ops, op{kind: opDelete, force: true, owner: v.Owner, version: v.Version, exts: exts})
			continue
		}
		w, err := p.writeValue(ctx, slot, v.Owner, v.Version, v.Bytes)
		if err != nil {
			abandon()
			return err
		}
		writes = append(writes, w)
		ops = append(ops, op{kind: opPut, force: true, owner: v.Owner, version: v.Version, size: w.size, exts: w.exts})
	}
	if with == nil {
		with = store.NewBatch() // all or nothing all the same
	}
	res, err := p.submitWith(ctx, with, size, ops...)
	for _, w := range writes {
		w.decided()
	}
	if err != nil {
		return fmt.Errorf("write %d values: %w", len(vals), err)
	}
	for i, e := range res {
		if e != nil {
			return fmt.Errorf("write %q: %w", vals[i].Owner, e)
		}
	}
	for _, v := range vals {
		if v.Delete {
			p.stats.deletes.Add(1)
		} else {
			p.stats.puts.Add(1)
			p.stats.bytesWritten.Add(int64(len(v.Bytes)))
		}
	}
	return nil
}

// writeValue appends a small value's records as writeRecords would for a
// source of those bytes (its attrs record, then its data), from the bytes
// themselves: no stripe-sized buffers to fill and clear per value.
func (p *Pool) writeValue(ctx context.Context, slot int, owner []byte, version uint64, b []byte) (written, error) {
	var w written
	var err error
	w.attrExts, err = p.appendAssisted(ctx, slot, kindAttrs, owner, version, 0, encodeAttrsPayload(int64(len(b)), nil), nil)
	if err != nil {
		w.decided()
		return written{}, fmt.Errorf("write %q: attributes: %w", owner, err)
	}
	w.exts, err = p.appendAssisted(ctx, slot, kindData, owner, version, 0, b, nil)
	if err != nil {
		w.decided()
		for _, a := range w.exts {
			a.s.pending.Add(-1)
		}
		return written{}, fmt.Errorf("write %q: %w", owner, err)
	}
	w.size = int64(len(b))
	return w, nil
}

// ForgetPrefix removes every owner under prefix from the index, whatever
// its state (content, tombstone, pending tombstone): its records become
// dead and the cleaner reclaims them. It is for a layer that drops a
// whole namespace at once (a key-value index dropped) and has recorded
// that elsewhere, so that an index rebuilt from the log, which would find
// the records until they are cleaned, knows to ignore them. It returns
// how many owners it removed.
func (p *Pool) ForgetPrefix(ctx context.Context, prefix []byte) (int, error) {
	if len(prefix) == 0 {
		return 0, fmt.Errorf("%w: forget with an empty prefix (every owner)", ErrInvalid)
	}
	if p.isClosed() {
		return 0, ErrClosed
	}
	removed := 0
	for {
		owners, err := p.ownersUnder(prefix, tombstoneBatch)
		if err != nil || len(owners) == 0 {
			return removed, err
		}
		ops := make([]op, len(owners))
		for i, o := range owners {
			ops[i] = op{kind: opForget, force: true, owner: o}
		}
		res, err := p.submit(ctx, ops...)
		if err != nil {
			return removed, fmt.Errorf("forget the owners under %q: %w", prefix, err)
		}
		for i, e := range res {
			if e != nil {
				return removed, fmt.Errorf("forget %q: %w", owners[i], e)
			}
		}
		removed += len(owners)
	}
}

// ownersUnder lists up to n owners under prefix.
func (p *Pool) ownersUnder(prefix []byte, n int) ([][]byte, error) {
	view, err := p.st.View(p.heads)
	if err != nil {
		return nil, err
	}
	defer view.Close()
	it, err := view.Iter(p.heads)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for ok := it.Seek(prefix); ok && bytes.HasPrefix(it.Key(), prefix) && len(out) < n; ok = it.Next() {
		out = append(out, bytes.Clone(it.Key()))
	}
	return out, it.Err()
}
