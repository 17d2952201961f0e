// Package seg is Plinth's segment log: segments (a zone of a zoned drive, a
// fixed-size slice of a conventional one) holding checksummed records, with
// a scanner that verifies every record and tells a torn tail from
// corruption.
//
// # Segment layout
//
//	+--------+---------------------+---------------------+-----+--------+----------+
//	| header | write 1             | write 2             | ... | footer | (footer  |
//	| block  | W r r r r ... pad   | W r r ... pad       |     | write  |  copy)   |
//	+--------+---------------------+---------------------+-----+--------+----------+
//	0        bs                                                          cap-bs
//
// bs is the segment's block size (4096, or the drive's logical block or
// zone write granularity if larger). Every physical write covers whole
// blocks. A write begins with a write record (W) and holds records packed
// back to back on 8-byte boundaries; the rest of its last block is zeros
// (a partial block at a flush is padded, never rewritten). A segment has at
// most one write that is not flushed. Sealing appends a footer write; on a
// conventional segment a copy of that block also goes to the segment's
// last block (cap-bs), which records never use, so a reader can find the
// footer without scanning. On a zoned drive the write pointer bounds every
// scan, and sealing finishes the zone.
//
// # Segment header (block 0, version 1)
//
// All integers are little endian.
//
//	offset size field
//	     0    8 magic "PLNTHSEG"                         never changes
//	     8    2 header version (1)                       never moves
//	    10    2 header length (128)
//	    12    4 block size bs
//	    16   16 node UUID
//	    32   16 drive UUID
//	    48    4 segment index on the drive
//	    52    1 kind (1 data, 2 metadata, 3 journal)
//	    53    3 zero
//	    56    8 generation: incremented at every reuse of the segment
//	    64    8 segment set ID (0: none)
//	    72    8 sequence number of the first record
//	    80    8 creation time, Unix nanoseconds
//	    88    8 capacity: bytes of the segment that may be written
//	    96   24 zero
//	   120    8 HighwayHash-64 (ChecksumKey) of bytes [0,120)
//
// The rest of the block is zero.
//
// # Record (version 1)
//
//	offset size field
//	     0    4 magic "PLRC"                             never changes
//	     4    1 record version (1)                       never moves
//	     5    1 type: 1 write, 2 footer, 16-255 the layers above
//	     6    2 flags (the layers above define them)
//	     8    4 payload length n (<= MaxPayload)
//	    12    4 segment generation, low 32 bits
//	    16    8 sequence number (0 for write and footer records)
//	    24    8 checksum: HighwayHash-64 (ChecksumKey) of the salt, then
//	            bytes [0,24), then the payload
//	    32    n payload
//	  32+n    - zeros to the next multiple of 8
//
// The salt is the drive UUID (16 bytes), the segment index (4) and the
// generation (8): a record checksums correctly only in the segment use it
// was written for, so data left from an earlier use of the zone or slice,
// or written to the wrong place, is never read as current. User records in
// a segment carry consecutive sequence numbers from the header's first
// sequence number.
//
// Write record payload (16 bytes): the write's length in bytes including
// padding (4), the number of records after the write record (4), and the
// segment offset where the previous valid data ended (8). That offset
// equals the write's own offset, except for the first write after a
// recovery from a torn tail, where it names the torn offset.
//
// Footer record payload (40 bytes): number of user records (8), first and
// last sequence numbers (8 + 8), the offset of the footer's write, where
// records end (8), and a HighwayHash-64 chain over every user record's
// checksum (8: h = HH64(h_prev || checksum), h_0 = 0).
//
// # Scanning: torn tail or corruption
//
// The scanner expects a write record at every write boundary and each
// write's records inside it. When it meets anything else at offset p, the
// segment's valid data ends at p, or p is corruption. It looks at the block
// boundaries after p, up to MaxWrite plus a block (a torn write is at most
// one write, since a segment never has two unflushed), for a valid write
// record of this segment use:
//
//   - none: p is the tail. Zeros or records of an earlier generation there
//     are a clean end; anything else is a torn tail (tolerated, reported
//     with its position).
//   - one naming p as the previous valid end: a recovery resumed after a
//     torn tail at p; the scan steps over the damage.
//   - any other: the log went on after p, so p is corruption before the
//     tail: an error naming the segment and the offset.
//
// On a sequential zone nothing past the write pointer is read: those bytes
// are zeros to the scan. A power failure can leave the write pointer inside
// a write; the scan reads that write as torn, its tail is the write's end,
// and a recovery pads the zone with zeros up to it, so every later scan
// sees the bytes the first one saw.
//
// # Constants that never change
//
// The magics, the position of the version fields, the checksum algorithm,
// ChecksumKey and the salt's composition. MaxWrite may only grow together
// with the scanner's look-ahead.
package seg
