package console

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// The metadata store: btree list, btree dump TREE [NODE], btree get TREE
// KEY, btree put TREE KEY VALUE, btree del TREE KEY.

// Bytes shows a key or value: always as hex, and as text too when it is
// printable UTF-8.
type Bytes struct {
	Len  int    `json:"len"`
	Text string `json:"text,omitempty"`
	Hex  string `json:"hex"`
}

func showBytes(b []byte) Bytes {
	out := Bytes{Len: len(b), Hex: hex.EncodeToString(b)}
	if printable(b) {
		out.Text = string(b)
	}
	return out
}

func printable(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// TreeInfo is one tree in btree list's result.
type TreeInfo struct {
	Name       string `json:"name"`
	ID         uint64 `json:"id"`
	Comparator string `json:"comparator,omitempty"`
	Height     int    `json:"height"`
	Leaves     uint64 `json:"leaves"`
	Internal   uint64 `json:"internal"`
	Entries    uint64 `json:"entries"`
	Bytes      uint64 `json:"bytes"`
	// Buffered: puts since the last checkpoint into leaves not read
	// yet, counted in Entries and Bytes as new keys (some may replace
	// one): the counts are exact once it is zero (btree.Stats).
	Buffered uint64 `json:"buffered_puts"`
}

// NodeResult is btree dump's result: one node, decoded.
type NodeResult struct {
	Tree   string `json:"tree"`
	TreeID uint64 `json:"tree_id"`
	Path   string `json:"path"` // "root", "root/0/3"
	Level  int    `json:"level"`
	Leaf   bool   `json:"leaf"`
	// OnMedia: the node lies at Addr; otherwise it was built in memory
	// since the last checkpoint (dirty) and has no address yet.
	OnMedia  bool        `json:"on_media"`
	Addr     *NodeAddr   `json:"addr,omitempty"`
	Size     int         `json:"size"`
	Entries  []EntryInfo `json:"entries,omitempty"`
	Children []ChildInfo `json:"children,omitempty"`
}

// NodeAddr is where a node lies: metadata segment, offset, length, and
// what its pointer expects of it.
type NodeAddr struct {
	Segment    uint32 `json:"segment"`
	Offset     uint64 `json:"offset"`
	Length     uint32 `json:"length"`
	Checksum   string `json:"checksum"`
	Generation uint64 `json:"generation"`
}

// EntryInfo is one leaf entry; Decoded is its fields when the console
// knows the tree's format.
type EntryInfo struct {
	Key     Bytes          `json:"key"`
	Value   Bytes          `json:"value"`
	Decoded map[string]any `json:"decoded,omitempty"`
}

// ChildInfo is one child of an internal node.
type ChildInfo struct {
	Index    int       `json:"index"`
	Path     string    `json:"path"`
	Key      Bytes     `json:"key"`
	InMemory bool      `json:"in_memory,omitempty"`
	Addr     *NodeAddr `json:"addr,omitempty"`
}

// GetResult is btree get's result.
type GetResult struct {
	Tree    string         `json:"tree"`
	Key     Bytes          `json:"key"`
	Found   bool           `json:"found"`
	Value   *Bytes         `json:"value,omitempty"`
	Decoded map[string]any `json:"decoded,omitempty"`
}

// EditResult is the result of btree put and del, and the preview their
// "confirm-required" error carries.
type EditResult struct {
	Tree string `json:"tree"`
	Key  Bytes  `json:"key"`
	Op   string `json:"op"` // "put" or "del"
	// Old is the value before (nil: the key was absent), New the value
	// after (nil: a delete).
	Old        *Bytes         `json:"old,omitempty"`
	OldDecoded map[string]any `json:"old_decoded,omitempty"`
	New        *Bytes         `json:"new,omitempty"`
	NewDecoded map[string]any `json:"new_decoded,omitempty"`
	// Expect is what to send back, as "expect", with "confirm": true to
	// make the edit only if the value is still Old ("absent" for none).
	Expect string `json:"expect"`
	// Applied: the edit is committed (one metadata transaction, durable
	// when the reply comes), at journal position LSN.
	Applied bool   `json:"applied"`
	LSN     uint64 `json:"lsn,omitempty"`
}

func treeArg() Arg {
	return Arg{Name: "tree", Type: "string", Positional: true, Required: true, Complete: "tree", Help: "the tree's name (btree list)"}
}

func keyArg() Arg {
	return Arg{Name: "key", Type: "bytes", Positional: true, Required: true, Help: "the key: text, or hex:... or b64:..."}
}

func editArgs() []Arg {
	return []Arg{
		{Name: "expect", Type: "string", Help: "do it only if the value is this (bytes: text, hex:..., b64:...; \"absent\": no value): what the preview's expect says"},
		{Name: "confirm", Type: "bool", Help: "do it (without: a preview and the error confirm-required)"},
	}
}

func init() {
	register(&Command{Name: "btree list", Summary: "the metadata store's trees and their sizes", Result: "[]TreeInfo", run: runBtreeList})
	register(&Command{Name: "btree dump", Summary: "one node of a tree, decoded: the root, or the node a path of child indexes leads to", Result: "NodeResult",
		Args: []Arg{treeArg(), {Name: "node", Type: "string", Positional: true, Help: "the node: root (default) or a path such as root/0/3"}},
		run:  runBtreeDump})
	register(&Command{Name: "btree get", Summary: "a key's value in a tree, decoded when the tree is known", Result: "GetResult",
		Args: []Arg{treeArg(), keyArg()}, run: runBtreeGet})
	register(&Command{Name: "btree put", Summary: "set a key's value: one metadata transaction, confirmed and audited", Mutating: true, Confirm: true, Result: "EditResult",
		Args: append([]Arg{treeArg(), keyArg(), {Name: "value", Type: "bytes", Positional: true, Required: true, Help: "the value: text, or hex:... or b64:..."}}, editArgs()...),
		run:  func(x *call) (any, error) { return runBtreeEdit(x, false) }})
	register(&Command{Name: "btree del", Summary: "delete a key: one metadata transaction, confirmed and audited", Mutating: true, Confirm: true, Result: "EditResult",
		Args: append([]Arg{treeArg(), keyArg()}, editArgs()...),
		run:  func(x *call) (any, error) { return runBtreeEdit(x, true) }})
}

func runBtreeList(x *call) (any, error) {
	if x.node.Store == nil {
		return nil, errUnavailable("metadata store")
	}
	out := []TreeInfo{}
	for _, t := range x.node.Store.Trees() {
		out = append(out, TreeInfo{Name: t.Name, ID: t.ID, Comparator: t.Comparator, Height: t.Stats.Height, Leaves: t.Stats.Leaves,
			Internal: t.Stats.Internal, Entries: t.Stats.Entries, Bytes: t.Stats.Bytes, Buffered: t.Stats.Buffered})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// parsePath reads "root", "root/0/3", "0/3" or "".
func parsePath(s string) ([]int, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "root"), "/")
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, "/") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("node path %q: want root or root/I/J... (child indexes)", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func pathName(p []int) string {
	s := "root"
	for _, i := range p {
		s += "/" + strconv.Itoa(i)
	}
	return s
}

func nodeAddr(p btree.Ptr) *NodeAddr {
	return &NodeAddr{Segment: p.Addr.Set, Offset: p.Addr.Off, Length: p.Addr.Len, Checksum: fmt.Sprintf("%016x", p.Sum), Generation: p.Gen}
}

func runBtreeDump(x *call) (any, error) {
	if x.node.Store == nil {
		return nil, errUnavailable("metadata store")
	}
	tree := x.str("tree")
	path, err := parsePath(x.str("node"))
	if err != nil {
		return nil, withCode(CodeBadArgs, err)
	}
	d, err := x.node.Store.DumpNode(tree, path)
	if err != nil {
		return nil, err
	}
	out := NodeResult{Tree: tree, TreeID: d.Tree, Path: pathName(path), Level: int(d.Level), Leaf: d.Level == 0, OnMedia: d.OnMedia, Size: d.Size}
	if d.OnMedia {
		out.Addr = nodeAddr(d.Ptr)
	}
	for _, e := range d.Entries {
		out.Entries = append(out.Entries, EntryInfo{Key: showBytes(e.Key), Value: showBytes(e.Value), Decoded: x.node.describe(tree, e.Key, e.Value)})
	}
	for i, c := range d.Children {
		ci := ChildInfo{Index: i, Path: pathName(append(append([]int{}, path...), i)), Key: showBytes(c.Key), InMemory: c.InMemory}
		if !c.InMemory {
			ci.Addr = nodeAddr(c.Ptr)
		}
		out.Children = append(out.Children, ci)
	}
	return out, nil
}

// describe decodes an entry of a tree the console knows.
func (n *Node) describe(tree string, key, value []byte) map[string]any {
	if m, ok := pool.DescribeEntry(tree, key, value); ok {
		return m
	}
	if m, ok := objects.DescribeEntry(tree, key, value); ok {
		return m
	}
	if n.Describe != nil {
		if m, ok := n.Describe(tree, key, value); ok {
			return m
		}
	}
	return nil
}

func runBtreeGet(x *call) (any, error) {
	if x.node.Store == nil {
		return nil, errUnavailable("metadata store")
	}
	tree := x.str("tree")
	key, err := x.bytes("key")
	if err != nil {
		return nil, err
	}
	v, ok, err := x.node.Store.Get(tree, key)
	if err != nil {
		return nil, err
	}
	out := GetResult{Tree: tree, Key: showBytes(key), Found: ok}
	if ok {
		b := showBytes(v)
		out.Value, out.Decoded = &b, x.node.describe(tree, key, v)
	}
	return out, nil
}

// runBtreeEdit puts or deletes a key: without confirm it previews the
// edit (error confirm-required); with confirm it commits it in one
// transaction, after checking, with every other commit held off, that
// the value is still what "expect" says.
func runBtreeEdit(x *call, del bool) (any, error) {
	if x.node.Store == nil {
		return nil, errUnavailable("metadata store")
	}
	tree := x.str("tree")
	key, err := x.bytes("key")
	if err != nil {
		return nil, err
	}
	if err := btree.CheckEntry(key, nil); err != nil {
		return nil, withCode(CodeBadArgs, fmt.Errorf("key: %w", err))
	}
	var val []byte
	res := EditResult{Tree: tree, Key: showBytes(key), Op: "put"}
	if del {
		res.Op = "del"
	} else {
		if val, err = x.bytes("value"); err != nil {
			return nil, err
		}
		if err := btree.CheckEntry(key, val); err != nil {
			return nil, withCode(CodeBadArgs, fmt.Errorf("value: %w", err))
		}
		nb := showBytes(val)
		res.New, res.NewDecoded = &nb, x.node.describe(tree, key, val)
	}
	old, found, err := x.node.Store.Get(tree, key)
	if err != nil {
		return nil, err
	}
	setOld := func(old []byte, found bool) {
		res.Old, res.OldDecoded, res.Expect = nil, nil, "absent"
		if found {
			ob := showBytes(old)
			res.Old, res.OldDecoded, res.Expect = &ob, x.node.describe(tree, key, old), "hex:"+ob.Hex
		}
	}
	setOld(old, found)
	confirm, err := x.boolean("confirm")
	if err != nil {
		return nil, err
	}
	if !confirm {
		return nil, &codeError{code: CodeConfirmRequired, preview: res,
			err: fmt.Errorf("btree %s %s %q: nothing done: check the preview and send it again with confirm (and expect=%s)", res.Op, tree, key, res.Expect)}
	}
	var expect []byte
	expectAbsent, haveExpect := false, x.has("expect")
	if haveExpect {
		if x.str("expect") == "absent" {
			expectAbsent = true
		} else if expect, err = x.bytes("expect"); err != nil {
			return nil, err
		}
	}
	b := store.NewBatch()
	if del {
		b.Delete(tree, key)
	} else {
		b.Put(tree, key, val)
	}
	var now []byte
	var nowFound bool
	lsn, err := x.node.Store.CommitIf(x.ctx, b, func(get func(string, []byte) ([]byte, bool, error)) error {
		v, ok, err := get(tree, key)
		if err != nil {
			return err
		}
		now, nowFound = bytes.Clone(v), ok
		switch {
		case !haveExpect:
		case expectAbsent && ok:
			return errorf(CodeConflict, "btree %s %s %q: the key has a value now (%d bytes), not none as expected: nothing done", res.Op, tree, key, len(v))
		case !expectAbsent && (!ok || !bytes.Equal(v, expect)):
			return errorf(CodeConflict, "btree %s %s %q: the value changed since the preview: nothing done (preview again)", res.Op, tree, key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	setOld(now, nowFound)
	res.Applied, res.LSN = true, uint64(lsn)
	return res, nil
}
