package store

import (
	"encoding/binary"
	"fmt"

	"github.com/plinth-storage/plinth/btree"
)

// catalogueID is the tree id of the catalogue; named trees get ids from
// firstTreeID on.
const (
	catalogueID = 1
	firstTreeID = 16
)

// MaxName bounds a tree's name (a catalogue key).
const MaxName = 255

// treeInfo is what the catalogue says about one tree.
type treeInfo struct {
	ID   uint64
	Cmp  string // comparator name; "" is bytewise
	Root btree.Root
}

func (ti treeInfo) encode() []byte {
	b := make([]byte, 0, 8+binary.MaxVarintLen64+len(ti.Cmp)+rootSize)
	b = binary.LittleEndian.AppendUint64(b, ti.ID)
	b = binary.AppendUvarint(b, uint64(len(ti.Cmp)))
	b = append(b, ti.Cmp...)
	var r [rootSize]byte
	putRoot(r[:], ti.Root)
	return append(b, r[:]...)
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

func decodeTreeInfo(b []byte) (treeInfo, error) {
	var ti treeInfo
	if len(b) < 9 {
		return ti, fmt.Errorf("%w: catalogue entry of %d bytes", ErrCorrupt, len(b))
	}
	ti.ID = binary.LittleEndian.Uint64(b)
	n, k := binary.Uvarint(b[8:])
	if k <= 0 || k != uvarintLen(n) || n > MaxName || uint64(len(b)-8-k) != n+rootSize || !rootPadZero(b[len(b)-rootSize:]) {
		return ti, fmt.Errorf("%w: catalogue entry of %d bytes", ErrCorrupt, len(b))
	}
	p := 8 + k
	ti.Cmp = string(b[p : p+int(n)])
	ti.Root = getRoot(b[p+int(n):])
	if ti.ID < firstTreeID {
		return ti, fmt.Errorf("%w: catalogue entry with tree id %d", ErrCorrupt, ti.ID)
	}
	return ti, nil
}
