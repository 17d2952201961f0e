package pool

import (
	"context"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
)

// This file is the index side of an index rebuilt from the data log (the
// beck tool, tools/beck): index entries written from records found in the
// log, into a fresh store, with no Pool open, and the walk that sums what
// the written index references in each set.

// IndexTrees are the names of a pool's index trees in the metadata store.
type IndexTrees struct {
	Heads, Extents, Repairs, Pending string
}

// TreesOf returns the index tree names of the pool called name.
func TreesOf(name string) IndexTrees {
	p := "pool/" + name + "/"
	return IndexTrees{Heads: p + "heads", Extents: p + "extents", Repairs: p + "repair", Pending: p + "pending"}
}

// RecordLoc is where a record lies: its set, stream offset and length.
type RecordLoc struct {
	Set uint64
	At  int64
	Len int64
}

// RestoredExtent is one data record of an owner's bytes, as found in the
// log.
type RestoredExtent struct {
	Offset   int64 // logical offset of the payload
	Rec      RecordLoc
	Payload  int64
	Checksum uint64
}

// PutData stages, in b, owner's index entries for a data version: its
// head (version, size, attributes) and its extents, which must cover
// [0, size) in order, without gaps or overlaps, each record as long as
// its header and payload (a size of 0 has one extent of no payload).
// Anything else is ErrInvalid, so that a rebuilt index passes Check.
// The owner must have no entries already (a fresh index).
func (t IndexTrees) PutData(b *store.Batch, owner []byte, version uint64, size int64, attrs []byte, exts []RestoredExtent) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	if len(attrs) > MaxAttrs {
		return fmt.Errorf("%w: %q: %d bytes of attributes", ErrInvalid, owner, len(attrs))
	}
	if len(exts) == 0 || version == 0 || size < 0 {
		return fmt.Errorf("%w: %q: version %d of %d bytes with %d extents", ErrInvalid, owner, version, size, len(exts))
	}
	at := int64(0)
	for _, e := range exts {
		switch {
		case e.Offset != at:
			return fmt.Errorf("%w: %q: extent at %d, want one at %d", ErrInvalid, owner, e.Offset, at)
		case e.Rec.Set == 0 || e.Rec.At < 0 || e.Payload < 0 || e.Rec.Len != headerLen(len(owner))+e.Payload:
			return fmt.Errorf("%w: %q: extent at %d: record %+v holding %d bytes", ErrInvalid, owner, e.Offset, e.Rec, e.Payload)
		case e.Payload == 0 && size != 0:
			return fmt.Errorf("%w: %q: empty extent in %d bytes", ErrInvalid, owner, size)
		}
		at += e.Payload
	}
	if at != size || size == 0 && len(exts) != 1 {
		return fmt.Errorf("%w: %q: extents cover %d bytes of %d", ErrInvalid, owner, at, size)
	}
	if len(attrs) == 0 {
		attrs = nil
	}
	b.Put(t.Heads, owner, encodeHead(head{state: stateData, version: version, size: size, attrs: attrs}))
	for _, e := range exts {
		b.Put(t.Extents, extentKey(owner, e.Offset), encodeExtent(extent{
			offset: e.Offset, rec: loc{set: alloc.SetID(e.Rec.Set), off: e.Rec.At, len: e.Rec.Len},
			payload: e.Payload, version: version, checksum: e.Checksum}))
	}
	return nil
}

// PutTombstone stages, in b, owner's head as a tombstone of version whose
// record is rec.
func (t IndexTrees) PutTombstone(b *store.Batch, owner []byte, version uint64, rec RecordLoc) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	if version == 0 || rec.Set == 0 || rec.At < 0 || rec.Len != headerLen(len(owner)) {
		return fmt.Errorf("%w: %q: tombstone of version %d, record %+v", ErrInvalid, owner, version, rec)
	}
	b.Put(t.Heads, owner, encodeHead(head{state: stateTombstone, version: version,
		tomb: loc{set: alloc.SetID(rec.Set), off: rec.At, len: rec.Len}}))
	return nil
}

// IndexEntry is an owner's head as WalkIndex reports it.
type IndexEntry struct {
	Owner   []byte // aliases the store's key: copy to keep
	Version uint64
	Tomb    bool
	Size    int64
	Attrs   []byte // aliases the store's value: copy to keep
}

// WalkIndex walks the index of the pool whose trees are t in the
// metadata store st, in owner order, calling fn (when not nil) for every
// head, and returns each set's live bytes: the lengths of the records
// the extents and tombstones reference, as the allocator must count them.
func WalkIndex(ctx context.Context, st *store.Store, t IndexTrees, fn func(IndexEntry) error) (map[uint64]int64, error) {
	view, err := st.View(t.Heads, t.Extents)
	if err != nil {
		return nil, fmt.Errorf("walk the index: %w", err)
	}
	defer view.Close()
	live := map[uint64]int64{}
	hit, err := view.Iter(t.Heads)
	if err != nil {
		return nil, fmt.Errorf("walk the index: %w", err)
	}
	for ok := hit.First(); ok; ok = hit.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := decodeHead(hit.Value())
		if err != nil {
			return nil, fmt.Errorf("walk the index: head of %q: %w", hit.Key(), err)
		}
		if h.state == stateTombstone {
			if h.tomb.set != 0 {
				live[uint64(h.tomb.set)] += h.tomb.len
			}
		}
		if fn != nil {
			if err := fn(IndexEntry{Owner: hit.Key(), Version: h.version, Tomb: h.state == stateTombstone, Size: h.size, Attrs: h.attrs}); err != nil {
				return nil, err
			}
		}
	}
	if err := hit.Err(); err != nil {
		return nil, fmt.Errorf("walk the index: %w", err)
	}
	eit, err := view.Iter(t.Extents)
	if err != nil {
		return nil, fmt.Errorf("walk the index: %w", err)
	}
	for ok := eit.First(); ok; ok = eit.Next() {
		owner, off, err := parseExtentKey(eit.Key())
		if err != nil {
			return nil, fmt.Errorf("walk the index: %w", err)
		}
		e, err := decodeExtent(eit.Value(), off)
		if err != nil {
			return nil, fmt.Errorf("walk the index: extent of %q at %d: %w", owner, off, err)
		}
		live[uint64(e.rec.set)] += e.rec.len
	}
	if err := eit.Err(); err != nil {
		return nil, fmt.Errorf("walk the index: %w", err)
	}
	return live, nil
}
