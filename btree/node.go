package btree

import (
	"errors"
	"fmt"
)

// Limits; see the package comment.
const (
	MaxKey    = 1024
	MaxValue  = 4096
	MaxNode   = 64 << 10
	SplitSize = 16 << 10

	nodeHeaderSize = 40
	ptrSize        = 32
	nodeMagic      = "PLBT"
	nodeVersion    = 1
)

// ChecksumKey keys the HighwayHash of nodes. It is fixed by the format.
var ChecksumKey = []byte("plinth b+tree node checksum v1.!")

// Errors; test with errors.Is.
var (
	// ErrCorrupt: bytes that are not a valid node.
	ErrCorrupt = errors.New("corrupt b-tree node")
	// ErrUnsupported: a node of a format version this binary does not
	// read.
	ErrUnsupported = errors.New("unsupported b-tree node format")
	// ErrMismatch: a valid node that is not the one its pointer names
	// (misdirected, lost or stale write).
	ErrMismatch = errors.New("b-tree node is not the one expected")
	// ErrKeyTooLarge, ErrValueTooLarge, ErrEmptyKey: entries the tree
	// does not hold.
	ErrKeyTooLarge   = fmt.Errorf("key longer than %d bytes", MaxKey)
	ErrValueTooLarge = fmt.Errorf("value longer than %d bytes (large values belong in the data log)", MaxValue)
	ErrEmptyKey      = errors.New("empty key")
)

// Addr is where a node lies: a metadata segment set and an offset in it.
type Addr struct {
	Set uint32
	Off uint64
	Len uint32
}

// Ptr points at a child and says what the child must be.
type Ptr struct {
	Addr Addr
	Sum  uint64 // the child's checksum
	Gen  uint64 // the checkpoint generation that wrote the child
}

// Entry is a leaf entry.
type Entry struct {
	Key, Value []byte
}

// Child is an internal entry: the smallest key of the child's subtree and
// the pointer to it.
type Child struct {
	Key []byte
	Ptr Ptr
}

// Node is a decoded node. A leaf has Entries, an internal node Children.
type Node struct {
	Tree     uint64
	Level    uint8
	Gen      uint64
	Entries  []Entry
	Children []Child
	// decoded is the encoded length of a node Decode returned (its
	// EncodedSize, known without a pass over the entries); 0 otherwise.
	decoded int
}

// IsLeaf reports whether the node is a leaf.
func (n *Node) IsLeaf() bool { return n.Level == 0 }

// CheckEntry validates a key and value against the limits.
func CheckEntry(key, value []byte) error {
	switch {
	case len(key) == 0:
		return ErrEmptyKey
	case len(key) > MaxKey:
		return fmt.Errorf("%w: %d bytes", ErrKeyTooLarge, len(key))
	case len(value) > MaxValue:
		return fmt.Errorf("%w: %d bytes", ErrValueTooLarge, len(value))
	}
	return nil
}
