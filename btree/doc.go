// Package btree is Plinth's B+tree: the index of every piece of metadata
// (objects, extents, segment sets, segments, key-value indexes). Keys and
// values are variable-size byte strings; nodes are checksummed and identify
// themselves; a pointer to a child carries the child's address, checksum
// and generation, so a misdirected, lost or stale node write is caught when
// the child is read.
//
// The package holds the node format, its encoder and its fuzzed decoder;
// the tree itself (Tree), in memory and copy-on-write, with lock-free
// snapshots and iterators, bulk loading and a checker (Check); Flush, or
// Cut then Write then Drop, which write the nodes changed since the last
// flush through a NodeWriter and read them back through a Loader (Open
// reopens a flushed tree); what a store of nodes needs to account its
// space: the nodes on the media each flush stops referencing
// (Written.Freed, each reported by exactly one completed flush), every
// node on the media a snapshot reaches (Snapshot.Walk), and Redirty,
// which copies the nodes at chosen addresses into memory for the next
// flush to write elsewhere; and the node cache (Cache), a Loader bounded
// in bytes shared by every tree, reading nodes through a NodeReader.
// Package btree/store builds the durable store of named trees on these:
// metadata segments, checkpoints, journal replay and the catalogue.
//
// A put into a leaf on the media does not read it: the puts are kept
// beside the leaf's pointer (a buffered leaf) and merged into it by the
// flush that writes it (buffered.go). Stats.Buffered counts the puts
// whose keys the tree has not read yet.
//
// The cache keeps decoded nodes keyed by address and checksum — a node
// never changes once written, so a hit is neither re-read nor re-hashed,
// though it must still match what the Load expects — and evicts the least
// recently used once their accounted size (the encoded bytes, the decoded
// entry slice and a fixed overhead) would pass the limit. Nothing else in
// it grows with the trees, and nothing is mapped into memory.
//
// # Limits
//
// A key is 1..MaxKey bytes, a value 0..MaxValue bytes; larger values belong
// in the data log, with their address stored here. An encoded node is at
// most MaxNode bytes; the tree splits nodes that grow past SplitSize.
//
// # Node format (version 1)
//
// All integers are little endian; uv is an unsigned LEB128 varint
// (encoding/binary.PutUvarint).
//
//	offset size field
//	     0    4 magic "PLBT"                           never changes
//	     4    1 format version (1)                     never moves
//	     5    1 level: 0 for a leaf, the height above the leaves otherwise
//	     6    2 entry count n (at least 1 in an internal node)
//	     8    8 tree id
//	    16    8 checkpoint generation that wrote the node
//	    24    4 encoded length L of the whole node, header included
//	    28    4 flags (none in version 1: zero)
//	    32    8 checksum: HighwayHash-64 (ChecksumKey) of bytes [0,32)
//	            followed by bytes [40,L)
//	    40      n entries, in strictly increasing key order
//
// A leaf entry:
//
//	uv key length k, uv value length v, k key bytes, v value bytes
//
// An internal entry: the smallest key the child's subtree may hold (the
// first entry's key is empty: it stands for every key below the second
// entry's), then the child pointer:
//
//	uv key length k, k key bytes,
//	4 set: the metadata segment set holding the child
//	8 offset of the child within the set
//	4 encoded length of the child
//	8 the child's checksum
//	8 the checkpoint generation that wrote the child
//
// A reader checks, before trusting a node, that its checksum matches both
// the bytes and the pointer it was reached through, and that its tree id,
// level and generation are the ones the pointer and the parent imply.
//
// The magic, the position of the version field, the checksum algorithm and
// ChecksumKey never change.
package btree
