package store

import (
	"encoding/binary"
	"fmt"

	"github.com/plinth-storage/plinth/btree"
)

const txnVersion = 1

type opKind uint8

const (
	opPut        opKind = 1
	opDelete     opKind = 2
	opCreate     opKind = 3
	opDrop       opKind = 4
	opCheckpoint opKind = 5
)

// op is one logical operation of a transaction.
type op struct {
	kind       opKind
	tree       string // the name, as the caller gave it (not journaled for put and delete)
	id         uint64
	key, value []byte
	cmp        string           // create
	ckpt       checkpointMarker // checkpoint
}

type checkpointMarker struct {
	Gen, LSN uint64
	Set      uint32
	Off      uint64
	Len      uint32
	Sum      uint64
}

// Batch is a set of operations committed atomically: after a crash either
// all of them are in the trees or none, and readers never see a part.
// Keys and values are copied.
type Batch struct {
	ops []op
	err error
}

// NewBatch returns an empty batch.
func NewBatch() *Batch { return &Batch{} }

// Put sets key to value in the named tree.
func (b *Batch) Put(tree string, key, value []byte) {
	if err := btree.CheckEntry(key, value); err != nil && b.err == nil {
		b.err = fmt.Errorf("put into %q: %w", tree, err)
	}
	b.ops = append(b.ops, op{kind: opPut, tree: tree, key: clone(key), value: clone(value)})
}

// Delete removes key from the named tree (nothing if it is absent).
func (b *Batch) Delete(tree string, key []byte) {
	if err := btree.CheckEntry(key, nil); err != nil && b.err == nil {
		b.err = fmt.Errorf("delete from %q: %w", tree, err)
	}
	b.ops = append(b.ops, op{kind: opDelete, tree: tree, key: clone(key)})
}

// Len is the number of operations.
func (b *Batch) Len() int { return len(b.ops) }

// Append adds o's operations after b's (o is not changed).
func (b *Batch) Append(o *Batch) {
	if o.err != nil && b.err == nil {
		b.err = o.err
	}
	b.ops = append(b.ops, o.ops...)
}

// Size is an upper bound of the bytes the batch's operations take in a
// journal transaction (Store.MaxCommit bounds those).
func (b *Batch) Size() int {
	n := 1
	for _, o := range b.ops {
		n += 1 + 4*binary.MaxVarintLen64 + len(o.key) + len(o.value) + len(o.tree) + len(o.cmp) + 8
	}
	return n
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() { b.ops, b.err = b.ops[:0], nil }

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// encodeTxn encodes resolved operations.
func encodeTxn(ops []op) []byte {
	n := (&Batch{ops: ops}).Size()
	b := make([]byte, 0, n)
	b = append(b, txnVersion)
	for _, o := range ops {
		b = append(b, byte(o.kind))
		switch o.kind {
		case opPut:
			b = binary.AppendUvarint(b, o.id)
			b = appendBytes(b, o.key)
			b = appendBytes(b, o.value)
		case opDelete:
			b = binary.AppendUvarint(b, o.id)
			b = appendBytes(b, o.key)
		case opCreate:
			b = binary.AppendUvarint(b, o.id)
			b = appendBytes(b, []byte(o.tree))
			b = appendBytes(b, []byte(o.cmp))
		case opDrop:
			b = binary.AppendUvarint(b, o.id)
		case opCheckpoint:
			c := o.ckpt
			for _, v := range []uint64{c.Gen, c.LSN, uint64(c.Set), c.Off, uint64(c.Len)} {
				b = binary.AppendUvarint(b, v)
			}
			b = binary.LittleEndian.AppendUint64(b, c.Sum)
		}
	}
	return b
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// decodeTxn decodes a journal transaction. Keys and values alias b.
func decodeTxn(b []byte) ([]op, error) {
	if len(b) == 0 || b[0] != txnVersion {
		return nil, fmt.Errorf("%w: journal transaction of version %v", ErrUnsupported, first(b))
	}
	d := txnDecoder{b: b[1:]}
	var ops []op
	for len(d.b) > 0 && d.err == nil {
		o := op{kind: opKind(d.b[0])}
		d.b = d.b[1:]
		switch o.kind {
		case opPut:
			o.id, o.key, o.value = d.uv(), d.bytes(btree.MaxKey), d.bytes(btree.MaxValue)
		case opDelete:
			o.id, o.key = d.uv(), d.bytes(btree.MaxKey)
		case opCreate:
			o.id, o.tree, o.cmp = d.uv(), string(d.bytes(MaxName)), string(d.bytes(MaxName))
		case opDrop:
			o.id = d.uv()
		case opCheckpoint:
			c := &o.ckpt
			c.Gen, c.LSN, c.Set, c.Off, c.Len = d.uv(), d.uv(), uint32(d.uv()), d.uv(), uint32(d.uv())
			c.Sum = d.u64()
		default:
			return nil, fmt.Errorf("%w: journal operation %d", ErrCorrupt, o.kind)
		}
		ops = append(ops, o)
	}
	if d.err != nil {
		return nil, d.err
	}
	return ops, nil
}

func first(b []byte) any {
	if len(b) == 0 {
		return "(empty)"
	}
	return b[0]
}

type txnDecoder struct {
	b   []byte
	err error
}

func (d *txnDecoder) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: truncated journal operation", ErrCorrupt)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *txnDecoder) bytes(limit int) []byte {
	n := d.uv()
	if d.err != nil {
		return nil
	}
	if n > uint64(limit) || n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: journal operation with a %d-byte field", ErrCorrupt, n)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *txnDecoder) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = fmt.Errorf("%w: truncated journal operation", ErrCorrupt)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}
