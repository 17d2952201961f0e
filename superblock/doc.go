// Package superblock keeps a drive's label — which node it belongs to, its
// identity and position there, the on-disk format and the layout of the
// drive — in two superblock areas that are small logs.
//
// # Areas
//
// A drive has two superblock areas. On a conventional drive they are the
// first two MiB: area 0 at byte 0 and area 1 at byte 1 MiB, 1 MiB each. On a
// zoned drive they are zones 0 and 1 (conventional zones when the drive has
// them, sequential ones otherwise), of which at most the first AreaMax bytes
// (bounded by the zone capacity) are used, so that reading a label never
// reads more than 2 MiB. Segments start after the areas.
//
// Exactly one area is active. An update appends one record to the active
// area and flushes. When the active area is full, the other area is reset
// (zone reset; nothing on a conventional area, see below), the new record is
// written at its start and flushed, and the other area becomes active. The
// record with the highest valid sequence number in either area is the label;
// there is always one, because an update never destroys the area holding the
// newest record.
//
// On sequential zones a record is appended at the write pointer (rounded up
// to the slot size with zero padding if a torn write left it unaligned);
// after each update the zone is closed (unless the record filled it), and a
// full area is finished before the other area is reset, so the label log
// holds at most one active zone and no open one between updates. On conventional areas records go to successive slots; stale
// records from an earlier use of the area are recognised by their lower
// sequence numbers, and mkfs zeroes both areas so that labels of a previous
// format can never win.
//
// # Record format (version 1)
//
// A record occupies one slot of SlotSize (4096) bytes, or the device's
// logical block or zone write granularity if larger; records start on
// 4096-byte boundaries and the scanner steps through the area in 4096-byte
// units. All integers are little endian.
//
//	offset size field
//	     0    8 magic "PLNTHSB1"                      never changes
//	     8    2 format version (1)                    never moves
//	    10    2 header length (32)
//	    12    4 body length L (<= SlotSize-32)
//	    16    8 sequence number (1 at mkfs, +1 per update)
//	    24    8 checksum: HighwayHash-64, key ChecksumKey, over bytes
//	            [0,24) followed by [32, 32+L)
//	    32    L body (the label, below)
//	  32+L    - zero to the end of the slot (not covered, not checked)
//
// # Label body (version 1, 192 bytes)
//
//	offset size field
//	     0   16 node UUID
//	    16   16 drive UUID
//	    32    4 position of the drive in the node (0-based)
//	    36    4 number of drives the node was formatted with
//	    40    8 incompatible features: bits a reader must understand (none in v1)
//	    48    8 creation time, Unix nanoseconds
//	    56    8 device size in bytes
//	    64    4 logical block size
//	    68    4 physical block size
//	    72    1 zone model (0 none, 1 host-aware, 2 host-managed)
//	    73    3 zero
//	    76    4 number of zones (0 when not zoned)
//	    80    8 zone size in bytes (0 when not zoned)
//	    88    8 segment size in bytes
//	    96    8 byte offset of segment 0
//	   104    4 number of segments
//	   108    4 zero
//	   112    8 byte offset of area 0
//	   120    8 byte offset of area 1
//	   128    8 area length used for records, bytes
//	   136    8 checkpoint generation (0: no checkpoint recorded here)
//	   144    8 checkpoint LSN: the journal replays from LSN+1
//	   152    4 checkpoint record: metadata segment (index in the range below)
//	   156    4 checkpoint record: length in bytes
//	   160    8 checkpoint record: offset in its segment
//	   168    8 checkpoint record: checksum (see package btree/store)
//	   176    4 journal ring: first segment index
//	   180    4 journal ring: number of segments (0: no metadata here)
//	   184    4 metadata segments: first segment index
//	   188    4 metadata segments: number of segments
//
// A drive that is one of the node's metadata mirrors has both ranges (they
// may not overlap, and never change after mkfs) and, once the metadata
// store has made its first checkpoint, a checkpoint pointer; an update
// records each new checkpoint on every mirror. The pointer with the
// highest generation among the mirrors is the node's checkpoint.
//
// Later versions may append fields to the body (its length says how many are
// there) and set incompatible-feature bits; a reader refuses a record whose
// version or incompatible features it does not know, with an error that says
// so, rather than misreading it.
//
// The magic, the position and meaning of the version field, the checksum
// algorithm and ChecksumKey may never change: they are how every future
// version recognises a Plinth drive.
package superblock
