package btree

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/plinth-storage/plinth/internal/keyhash"
)

// EncodedSize is the number of bytes Encode produces for n.
func (n *Node) EncodedSize() int {
	size := nodeHeaderSize
	if n.IsLeaf() {
		for _, e := range n.Entries {
			size += uvarintLen(len(e.Key)) + uvarintLen(len(e.Value)) + len(e.Key) + len(e.Value)
		}
		return size
	}
	for _, c := range n.Children {
		size += uvarintLen(len(c.Key)) + len(c.Key) + ptrSize
	}
	return size
}

// Compare orders keys: negative, zero or positive as a sorts before, with
// or after b. Each tree has one; nil means bytes.Compare.
type Compare func(a, b []byte) int

// Encode appends the encoded node to dst and returns the result and the
// node's checksum. It fails on a node the format cannot hold (too many
// entries, too large, keys out of order under cmp), so a bad node never
// reaches a drive.
func (n *Node) Encode(dst []byte, cmp Compare) ([]byte, uint64, error) {
	if err := n.validate(cmp); err != nil {
		return dst, 0, err
	}
	size := n.EncodedSize()
	if size > MaxNode {
		return dst, 0, fmt.Errorf("b-tree node of %d bytes exceeds %d", size, MaxNode)
	}
	start := len(dst)
	dst = append(dst, make([]byte, nodeHeaderSize)...)
	h := dst[start:]
	copy(h, nodeMagic)
	h[4] = nodeVersion
	h[5] = n.Level
	le := binary.LittleEndian
	le.PutUint16(h[6:], uint16(n.count()))
	le.PutUint64(h[8:], n.Tree)
	le.PutUint64(h[16:], n.Gen)
	le.PutUint32(h[24:], uint32(size))
	if n.IsLeaf() {
		for _, e := range n.Entries {
			dst = binary.AppendUvarint(dst, uint64(len(e.Key)))
			dst = binary.AppendUvarint(dst, uint64(len(e.Value)))
			dst = append(dst, e.Key...)
			dst = append(dst, e.Value...)
		}
	} else {
		for _, c := range n.Children {
			dst = binary.AppendUvarint(dst, uint64(len(c.Key)))
			dst = append(dst, c.Key...)
			dst = le.AppendUint32(dst, c.Ptr.Addr.Set)
			dst = le.AppendUint64(dst, c.Ptr.Addr.Off)
			dst = le.AppendUint32(dst, c.Ptr.Addr.Len)
			dst = le.AppendUint64(dst, c.Ptr.Sum)
			dst = le.AppendUint64(dst, c.Ptr.Gen)
		}
	}
	b := dst[start:]
	sum := nodeChecksum(b)
	le.PutUint64(b[32:], sum)
	return dst, sum, nil
}

func (n *Node) count() int {
	if n.IsLeaf() {
		return len(n.Entries)
	}
	return len(n.Children)
}

// validate checks what Encode relies on and Decode enforces.
func (n *Node) validate(cmp Compare) error {
	if cmp == nil {
		cmp = bytes.Compare
	}
	if n.count() > 0xffff {
		return fmt.Errorf("b-tree node with %d entries", n.count())
	}
	if n.IsLeaf() {
		if len(n.Children) > 0 {
			return fmt.Errorf("leaf with child pointers")
		}
		for i, e := range n.Entries {
			if err := CheckEntry(e.Key, e.Value); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			if i > 0 && cmp(n.Entries[i-1].Key, e.Key) >= 0 {
				return fmt.Errorf("leaf keys out of order at entry %d", i)
			}
		}
		return nil
	}
	if len(n.Entries) > 0 || len(n.Children) == 0 {
		return fmt.Errorf("internal node with %d entries and %d children", len(n.Entries), len(n.Children))
	}
	for i, c := range n.Children {
		switch {
		case i == 0 && len(c.Key) != 0:
			return fmt.Errorf("internal node: the first child's key must be empty")
		case i > 0 && len(c.Key) == 0:
			return fmt.Errorf("internal node: child %d has an empty key", i)
		case len(c.Key) > MaxKey:
			return fmt.Errorf("internal node: child %d: %w", i, ErrKeyTooLarge)
		case i > 1 && cmp(n.Children[i-1].Key, c.Key) >= 0:
			return fmt.Errorf("internal node: keys out of order at child %d", i)
		}
	}
	return nil
}

// Expect is what the pointer and the parent say a node must be.
type Expect struct {
	Tree  uint64
	Level uint8
	Sum   uint64 // the checksum in the pointer
	Gen   uint64 // the generation in the pointer
}

// Decode decodes and verifies a node of a tree ordered by cmp. The returned
// node's keys and values alias b. It never panics, never returns a node
// whose checksum does not match its bytes, and fails with ErrMismatch when
// a valid node is not the one expect describes.
func Decode(b []byte, expect Expect, cmp Compare) (*Node, error) {
	if len(b) < nodeHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a node header", ErrCorrupt, len(b))
	}
	if string(b[:4]) != nodeMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[:4])
	}
	if b[4] != nodeVersion {
		return nil, fmt.Errorf("%w: node format version %d, this binary reads %d", ErrUnsupported, b[4], nodeVersion)
	}
	le := binary.LittleEndian
	size := int(le.Uint32(b[24:]))
	if size < nodeHeaderSize || size > MaxNode || size > len(b) {
		return nil, fmt.Errorf("%w: node length %d (%d bytes present)", ErrCorrupt, size, len(b))
	}
	b = b[:size]
	sum := le.Uint64(b[32:])
	if got := nodeChecksum(b); got != sum {
		return nil, fmt.Errorf("%w: checksum %#016x, computed %#016x", ErrCorrupt, sum, got)
	}
	n := &Node{Level: b[5], Tree: le.Uint64(b[8:]), Gen: le.Uint64(b[16:])}
	switch {
	case sum != expect.Sum:
		return nil, fmt.Errorf("%w: checksum %#016x, the pointer says %#016x (a misdirected, lost or stale write)", ErrMismatch, sum, expect.Sum)
	case n.Tree != expect.Tree:
		return nil, fmt.Errorf("%w: node of tree %d, want tree %d", ErrMismatch, n.Tree, expect.Tree)
	case n.Level != expect.Level:
		return nil, fmt.Errorf("%w: node at level %d, want %d", ErrMismatch, n.Level, expect.Level)
	case n.Gen != expect.Gen:
		return nil, fmt.Errorf("%w: node of generation %d, the pointer says %d", ErrMismatch, n.Gen, expect.Gen)
	case le.Uint32(b[28:]) != 0:
		return nil, fmt.Errorf("%w: unknown flags %#x", ErrCorrupt, le.Uint32(b[28:]))
	}
	count := int(le.Uint16(b[6:]))
	body := b[nodeHeaderSize:]
	var err error
	if n.IsLeaf() {
		n.Entries, body, err = decodeLeaf(body, count)
	} else {
		n.Children, body, err = decodeInternal(body, count)
	}
	if err != nil {
		return nil, err
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last entry", ErrCorrupt, len(body))
	}
	if err := n.validate(cmp); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	// Canonical varints and no trailing bytes: the node re-encodes to
	// exactly size bytes.
	n.decoded = size
	return n, nil
}

func decodeLeaf(b []byte, count int) ([]Entry, []byte, error) {
	entries := make([]Entry, 0, min(count, len(b)/3+1))
	for i := 0; i < count; i++ {
		k, rest, ok := uvarint(b)
		if !ok {
			return nil, nil, fmt.Errorf("%w: entry %d: bad key length", ErrCorrupt, i)
		}
		v, rest, ok := uvarint(rest)
		if !ok || k > MaxKey || v > MaxValue || k+v > uint64(len(rest)) {
			return nil, nil, fmt.Errorf("%w: entry %d: bad lengths (key %d, value %d, %d bytes left)", ErrCorrupt, i, k, v, len(rest))
		}
		entries = append(entries, Entry{Key: rest[:k:k], Value: rest[k : k+v : k+v]})
		b = rest[k+v:]
	}
	return entries, b, nil
}

func decodeInternal(b []byte, count int) ([]Child, []byte, error) {
	le := binary.LittleEndian
	children := make([]Child, 0, min(count, len(b)/ptrSize+1))
	for i := 0; i < count; i++ {
		k, rest, ok := uvarint(b)
		if !ok || k > MaxKey || k+ptrSize > uint64(len(rest)) {
			return nil, nil, fmt.Errorf("%w: child %d: bad key length", ErrCorrupt, i)
		}
		p := rest[k:]
		children = append(children, Child{Key: rest[:k:k], Ptr: Ptr{
			Addr: Addr{Set: le.Uint32(p[0:]), Off: le.Uint64(p[4:]), Len: le.Uint32(p[12:])},
			Sum:  le.Uint64(p[16:]),
			Gen:  le.Uint64(p[24:]),
		}})
		b = p[ptrSize:]
	}
	return children, b, nil
}

// uvarint decodes a varint, refusing non-canonical encodings (a number
// written in more bytes than it needs) so that every accepted node
// re-encodes to exactly its own bytes.
func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n != uvarintLen(v) {
		return 0, nil, false
	}
	return v, b[n:], true
}

func uvarintLen[T int | uint64](v T) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

var nodeHash = keyhash.New64(ChecksumKey)

// Verify reports whether b holds an encoded node whose stored checksum is
// sum and matches its bytes: the cheap test a reader with several copies
// of a node uses to choose one (Decode still verifies everything else).
func Verify(b []byte, sum uint64) bool {
	if len(b) < nodeHeaderSize || string(b[:4]) != nodeMagic {
		return false
	}
	n := binary.LittleEndian.Uint32(b[24:])
	if n < nodeHeaderSize || int64(n) > int64(len(b)) || binary.LittleEndian.Uint64(b[32:]) != sum {
		return false
	}
	return nodeChecksum(b[:n]) == sum
}

// nodeChecksum hashes an encoded node, skipping its checksum field.
func nodeChecksum(b []byte) uint64 {
	return nodeHash.Sum64(b[:32], b[nodeHeaderSize:])
}
