package pool

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
)

// ownerState is an owner's head and extents as a commit group sees them:
// the view's, with the group's earlier ops applied.
type ownerState struct {
	exists bool
	head   head
	exts   []extent
}

// txn applies ops to the index in a batch, keeping the group's own changes
// visible to its later ops and the live-byte changes per set.
type txn struct {
	p      *Pool
	view   *store.View
	b      *store.Batch
	owners map[string]*ownerState
	delta  map[alloc.SetID]int64
	// whole: an op of an all-or-nothing request failed to apply; the
	// group's batch must not be committed.
	whole error
}

// load returns an owner's state.
func (t *txn) load(owner []byte) (*ownerState, error) {
	if o, ok := t.owners[string(owner)]; ok {
		return o, nil
	}
	o, err := t.p.readOwner(t.view, owner)
	if err != nil {
		return nil, err
	}
	t.owners[string(owner)] = o
	return o, nil
}

// readOwner reads an owner's head and (for data) extents from a view.
func (p *Pool) readOwner(v *store.View, owner []byte) (*ownerState, error) {
	o := &ownerState{}
	hv, ok, err := v.Get(p.heads, owner)
	if err != nil {
		return nil, fmt.Errorf("read head of %q: %w", owner, err)
	}
	if !ok {
		return o, nil
	}
	if o.head, err = decodeHead(hv); err != nil {
		return nil, fmt.Errorf("head of %q: %w", owner, err)
	}
	o.exists = true
	if o.head.state != stateData {
		return o, nil
	}
	it, err := v.Iter(p.extents)
	if err != nil {
		return nil, err
	}
	prefix := extentPrefix(owner)
	for ok := it.Seek(prefix); ok && bytes.HasPrefix(it.Key(), prefix); ok = it.Next() {
		_, off, err := parseExtentKey(it.Key())
		if err != nil {
			return nil, fmt.Errorf("extents of %q: %w", owner, err)
		}
		e, err := decodeExtent(it.Value(), off)
		if err != nil {
			return nil, fmt.Errorf("extent of %q at %d: %w", owner, off, err)
		}
		o.exts = append(o.exts, e)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("extents of %q: %w", owner, err)
	}
	return o, nil
}

// drop removes the owner's current bytes or tombstone from the index.
func (t *txn) drop(owner []byte, o *ownerState) {
	if !o.exists {
		return
	}
	switch o.head.state {
	case stateData:
		for _, e := range o.exts {
			t.b.Delete(t.p.extents, extentKey(owner, e.offset))
			t.delta[e.rec.set] -= e.rec.len
		}
	case stateTombstone:
		if o.head.tomb.set == 0 {
			t.b.Delete(t.p.pending, owner)
		} else {
			t.delta[o.head.tomb.set] -= o.head.tomb.len
		}
	}
	o.exts = nil
}

// apply stages one op.
func (t *txn) apply(x op) error {
	switch x.kind {
	case opPut, opDelete, opRelocate, opRelocateTomb, opTombWritten, opForget, opRelocateAttrs:
	case opRepairQueue:
		k := repairKey(x.set, x.stripe)
		members := x.members
		if v, ok, err := t.view.Get(t.p.repairs, k); err == nil && ok {
			if m, _, err := decodeRepair(v); err == nil {
				members |= m
			}
		}
		t.b.Put(t.p.repairs, k, encodeRepair(members, t.p.opts.Now().UnixNano()))
		return nil
	case opRepairDone:
		t.b.Delete(t.p.repairs, repairKey(x.set, x.stripe))
		return nil
	default:
		return fmt.Errorf("%w: op %d", ErrInvalid, x.kind)
	}
	o, err := t.load(x.owner)
	if err != nil {
		return err
	}
	switch x.kind {
	case opPut:
		if !x.force && o.exists && o.head.version >= x.version {
			return fmt.Errorf("write %q version %d: %w (%d)", x.owner, x.version, ErrSuperseded, o.head.version)
		}
		t.drop(x.owner, o)
		for _, a := range x.exts {
			t.b.Put(t.p.extents, extentKey(x.owner, a.ext.offset), encodeExtent(a.ext))
			t.delta[a.ext.rec.set] += a.ext.rec.len
			o.exts = append(o.exts, a.ext)
		}
		o.exists, o.head = true, head{state: stateData, version: x.version, size: x.size, attrs: x.attrs}
		t.b.Put(t.p.heads, x.owner, encodeHead(o.head))
	case opDelete:
		if !x.force && o.exists && (o.head.version > x.version || o.head.state == stateTombstone && o.head.version == x.version) {
			return fmt.Errorf("delete %q version %d: %w (%d)", x.owner, x.version, ErrSuperseded, o.head.version)
		}
		t.drop(x.owner, o)
		o.exists, o.head = true, head{state: stateTombstone, version: x.version}
		if len(x.exts) == 0 {
			// Pending: no data space for its record yet.
			t.b.Put(t.p.pending, x.owner, binary.BigEndian.AppendUint64(nil, x.version))
		} else {
			a := x.exts[0]
			o.head.tomb = a.ext.rec
			t.delta[a.ext.rec.set] += a.ext.rec.len
		}
		t.b.Put(t.p.heads, x.owner, encodeHead(o.head))
	case opTombWritten:
		t.b.Delete(t.p.pending, x.owner)
		if !o.exists || o.head.state != stateTombstone || o.head.version != x.version || o.head.tomb.set != 0 {
			return errMoved
		}
		n := x.exts[0].ext.rec
		o.head.tomb = n
		t.b.Put(t.p.heads, x.owner, encodeHead(o.head))
		t.delta[n.set] += n.len
	case opRelocate:
		if !o.exists || o.head.state != stateData {
			return errMoved
		}
		for i, e := range o.exts {
			if e.offset != x.offset || e.rec != x.old {
				continue
			}
			// The copy may have been split at a stripe boundary: its
			// extents must cover exactly what the old one did.
			var repl []extent
			at := e.offset
			for _, a := range x.exts {
				n := a.ext
				if n.offset != at || n.version != e.version {
					return fmt.Errorf("%w: relocated record of %q at %d does not match its extent", ErrCorrupt, x.owner, x.offset)
				}
				at += n.payload
				repl = append(repl, n)
			}
			if at != e.offset+e.payload || len(repl) == 1 && repl[0].checksum != e.checksum {
				return fmt.Errorf("%w: relocated record of %q at %d does not match its extent", ErrCorrupt, x.owner, x.offset)
			}
			t.delta[e.rec.set] -= e.rec.len
			for _, n := range repl {
				t.b.Put(t.p.extents, extentKey(x.owner, n.offset), encodeExtent(n))
				t.delta[n.rec.set] += n.rec.len
			}
			o.exts = append(o.exts[:i:i], append(repl, o.exts[i+1:]...)...)
			return nil
		}
		return errMoved
	case opForget:
		if !x.force && (!o.exists || o.head.state != stateTombstone || o.head.version != x.version) {
			return errMoved
		}
		if !o.exists {
			return nil
		}
		t.drop(x.owner, o)
		o.exists, o.head = false, head{}
		t.b.Delete(t.p.heads, x.owner)
	case opRelocateAttrs:
		if !o.exists || o.head.state != stateData || o.head.version != x.version {
			return errMoved
		}
	case opRelocateTomb:
		if !o.exists || o.head.state != stateTombstone || o.head.tomb != x.old || o.head.version != x.version {
			return errMoved
		}
		n := x.exts[0].ext.rec
		o.head.tomb = n
		t.b.Put(t.p.heads, x.owner, encodeHead(o.head))
		t.delta[x.old.set] -= x.old.len
		t.delta[n.set] += n.len
	}
	return nil
}
