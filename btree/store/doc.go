// Package store keeps many named B-trees durable on a node's metadata
// mirrors: every change is a logical operation committed to the journal
// (package wal) and applied to the trees in memory; checkpoints write the
// changed nodes copy-on-write into metadata segments on every mirror and
// record the new roots, so recovery is the last checkpoint plus a replay
// of the journal after it.
//
// # Space
//
// Each metadata mirror is a drive whose label (package superblock) names
// two ranges of its segments: the journal ring and the metadata segments.
// Metadata segment i is the i-th segment of the range on every mirror;
// the mirrors receive the same records in the same order, so a node lies
// at the same offset on each, and its address (btree.Addr) is the pair
// (i, offset of the node in the segment). Segments hold seg records (see
// package seg; kind metadata):
//
//	type 16  a B-tree node (the payload is the encoded node, btree format)
//	type 17  a checkpoint record (below)
//
// A segment is free, open (being appended to) or full. The store counts
// the live bytes of every segment: the nodes the last checkpoint's trees
// reach, and its checkpoint record. A segment whose live count falls to
// zero is free once that checkpoint is durable and no reader that started
// before it is still running; it is then reused (reset, with a new
// generation in its header). Segments that are mostly dead are cleaned:
// their live nodes are re-dirtied, so the next checkpoint writes them
// elsewhere.
//
// # Checkpoint record (version 1)
//
// All integers little endian; Root is 72 bytes: pointer (metadata segment
// 4, offset 8, length 4, checksum 8, generation 8) then stats (height 4,
// zero 4, leaves 8, internal nodes 8, entries 8, key and value bytes 8).
//
//	offset size field
//	     0    4 magic "PLCK"
//	     4    1 version (1)
//	     5    3 zero
//	     8    8 checkpoint generation G (1 at creation, +1 per checkpoint)
//	    16    8 LSN: every journal transaction up to it is in the trees
//	    24    8 next tree id
//	    32   72 the catalogue tree's Root
//	   104    4 number of metadata segments S
//	   108    4 zero
//	   112 32*S one entry per segment:
//	              state (1: 0 free, 1 open, 2 full), 7 zero,
//	              segment generation (8), live bytes (8),
//	              the checkpoint generation that freed it (8; 0 if never)
//	112+32S   8 checksum: HighwayHash-64 (CheckpointKey) of [0, 112+32S)
//
// The newest checkpoint is found through the labels of the mirrors: each
// holds a superblock.Checkpoint (generation, LSN, segment, offset, length,
// checksum); the highest generation wins, and its record is read from any
// mirror whose copy matches the checksum. A label's checkpoint also says
// that its mirror holds everything that checkpoint reaches: a mirror whose
// label names an older one (a new drive, or one that was out) is partial,
// read only where it was written since Open, and given checkpoints in its
// label again only once Resilver has rewritten onto it every live node it
// may lack (see resilver.go).
//
// # Catalogue
//
// Tree 1 is the catalogue: a key is a tree's name, a value its
//
//	8 tree id, uv comparator name length c, c bytes name, 72 Root
//
// The catalogue is written only by checkpoints (from the schema the
// checkpoint's cut saw), so it always describes exactly the trees of its
// checkpoint.
//
// # Journal transaction (version 1)
//
// A transaction is one byte of version (1), then operations back to back;
// uv is an unsigned LEB128 varint:
//
//	1 put:          uv tree id, uv key length, key, uv value length, value
//	2 delete:       uv tree id, uv key length, key
//	3 create tree:  uv tree id, uv name length, name, uv comparator length, comparator
//	4 drop tree:    uv tree id
//	5 checkpoint:   uv generation, uv LSN, uv segment, uv offset, uv length, 8 checksum
//
// Operations are applied in LSN order, deterministically, so a replay
// rebuilds exactly the state before a crash. A checkpoint operation is a
// marker for people and tools reading the journal; replay skips it.
package store
