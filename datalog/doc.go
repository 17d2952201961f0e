// Package datalog is the stripe IO of Plinth's data log: one segment set,
// N+K member segments on distinct drives, written as full Reed-Solomon
// stripes (Writer) and read back range by range with per-block checks and,
// when a member fails or lies, reconstruction from the rest (Reader).
//
// This package has no allocator and no records yet: it moves the set's
// logical stream, a sequence of bytes, to and from the members.
//
// # Where stripes live
//
// Member i of a set is a seg segment of kind data (seg.KindData) whose header
// names the set (Header.Set = Set.ID) and the member's generation. Let bs be
// the segment's block size (dev.Geometry.WriteUnit(4096), what seg uses) and
// U the layout's unit. Stripe s occupies bytes [bs + s*U, bs + (s+1)*U) of
// every member segment (offsets relative to Location.Start); unit i of the
// stripe is on member i: data units 0..N-1, then parity units N..N+K-1.
// A set has as many stripes as the smallest member holds:
// min over members of (Capacity - bs) / U. Nothing is reserved at the end of
// a member (data segments are not sealed with a seg footer).
//
// # Data unit blocks (format version 1)
//
// A data unit is U/4096 blocks of 4096 bytes. Block j of data unit d of
// stripe s carries stream block number
//
//	b = (s*N + d) * (U/4096) + j
//
// which is stream bytes [b*4088, (b+1)*4088). The block is
//
//	offset size field
//	     0 4088 stream bytes [b*4088, (b+1)*4088)
//	  4088    8 tag, little endian
//
// and the tag is HighwayHash-64, keyed with TagKey (the 32 ASCII bytes
// "plinth data log block tag v1...!"), of the 4112-byte message
//
//	offset size field
//	     0    8 set ID, little endian
//	     8    8 generation of the member segment the block is in, little endian
//	    16    8 stream block number b, little endian
//	    24 4088 the block's stream bytes
//
// So a block checks only in the set, member use and position it was written
// for: bit rot, a misdirected block and a block left from an earlier
// generation of the segment (stale) all fail their tag. A stripe therefore
// holds N * (U/4096) * 4088 bytes of the stream (StripeBytes).
//
// # Parity units
//
// Parity units are the plain Reed-Solomon parity (stripe.Codec.Encode, the
// code of the stripe package, format version 1) computed over the N whole
// data units, tags included. They carry no tags of their own; a bad parity
// unit is found by elimination: data rebuilt with it fails its tags.
//
// # Writing
//
// Stripes are written once, whole: the Writer buffers one stripe; when it is
// full its tags and parity are computed and each member gets one WriteAt of
// its unit (members in parallel). Flush pads a partial stripe with zero
// stream bytes (the padding is part of the stream and is tagged like any
// byte), writes it and flushes every member device; the stream then
// continues at the next stripe. A failed write or flush breaks the Writer
// (ErrBroken): what reached the media is unknown.
//
// # Reading
//
// Reader.ReadAt reads only the blocks of the data units a range covers and
// checks every tag. On an IO error, a missing member (nil device) or a tag
// mismatch it reads the whole stripe, keeps the data units whose every
// block checks and the parity units that could be read, and rebuilds the
// missing data units from N of them, trying each choice of parity units
// until the rebuilt blocks check (at most MaxAttempts choices). The Report
// names the members that were missing (IO error, no device), corrupt (tag
// mismatch, or a parity unit that does not match the verified data) and
// rebuilt. With more than K bad units the read fails with an error wrapping
// stripe.ErrUnrecoverable, never with wrong data.
//
// # What never changes
//
// TagKey, the tag's message layout, the 4088+8 block layout and the stream
// block numbering. A change is a new format version.
package datalog
