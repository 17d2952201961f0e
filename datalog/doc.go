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
// Stripes are written once, whole: the Writer buffers one stripe; when it
// is full its tags and parity are computed and each member gets one WriteAt
// of its unit (members in parallel). Flush pads a partial stripe with zero
// stream bytes (the padding is part of the stream and is tagged like any
// byte), writes it and flushes every member device; the stream then
// continues at the next stripe.
//
// A member whose write or flush fails is lost: the Writer remembers its
// first error (Writer.Lost, Writer.LostErr) and writes and flushes it no
// more, since what reached its media is unknown. Its units of the stripes
// written from then on are whatever the media holds (zeros, an older use,
// garbage): a reader finds them by their tags, or as missing, like any bad
// unit. The Writer goes on with the others while at most K members are
// lost, since every stripe is then on at least N members and decodable
// from them. Flush returns nil only if every stripe appended since the
// previous Flush was written to, and flushed by, every member not lost,
// at least N of them. A (K+1)-th lost member breaks the Writer (ErrBroken,
// wrapping every lost member's error): stripes could then be on fewer than
// N members. A caller should still report lost members' drives and seal
// the set early: its stripes have less redundancy than the layout's. A
// member that fails while Create starts the set fails Create (a
// *MemberError names it); the caller picks another drive.
//
// Resume continues an existing use of the members at a stripe boundary,
// with no seg.Create and no reset. On conventional members it writes from
// there, over anything beyond (stripes never acknowledged). A sequential
// zone cannot be rewritten, and after a crash its write pointer may be
// anywhere from its last flushed unit to the end of the last stripe
// written to any member: a stripe's units are written in parallel, and
// some may land while others do not. WrittenEnd is the stream offset just
// past the last stripe any zoned member holds (from a write pointer wp,
// ceil((wp - Start - bs) / U) stripes; a full zone counts as all the
// set's stripes). Resume on zoned members fails with ErrSet if a member's
// write pointer is past the resume stripe's unit, so it starts at
// WrittenEnd or later; it writes zero-filled units (not tagged) to every
// member that is behind, up to the resume stripe, so that each stripe's
// units stay at bs + s*U. So the stream bytes between the caller's
// committed frontier and WrittenEnd are garbage: stripes written whole
// but never committed, or whose units hold zeros, a partial write or
// stale data. They read as errors (tags fail) or as stream bytes no
// record references. Whatever scans the stream (a recovery, a cleaner)
// must tolerate them and never trust a stream byte past the committed
// frontier. A zoned member whose zone is empty (Create stopped before its
// header) gets its header first. A member that Resume finds with no
// device, or whose zone cannot be reported or padded, is lost from the
// start.
//
// Writer.Finish flushes one last time and finishes every zoned member's
// zone that is not lost (dev.ZonedDevice.FinishZone), so that a set that
// takes no more stripes holds none of its drives' open or active zone
// resources. The Writer then refuses appends and flushes (ErrFinished).
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
// Reader.NewSequential streams a range with read-ahead: it keeps up to
// SeqOptions.Depth reads in flight (each the blocks one data unit holds of
// the range, in one IO) and at most Window units read but not yet consumed,
// so memory is Window units whatever the range. Every block is checked and
// rebuilt exactly as ReadAt does; an error comes back only after every byte
// before it. A sequential reader keeps all the data members busy, where a
// ReadAt call waits for its own stripes only.
//
// VerifyStripe reads a whole stripe, data and parity, and checks both: the
// data units' tags, and each parity unit against the parity the verified
// data gives. It is how parity corruption is found before a degraded read
// needs that parity (a scrub).
//
// # What never changes
//
// TagKey, the tag's message layout, the 4088+8 block layout and the stream
// block numbering. A change is a new format version.
package datalog
