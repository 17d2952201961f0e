// Package alloc manages a pool's data space: the state of every data
// segment of every drive, the segment sets that stripes span (N+K
// erasure-coded or M-way mirrored members on distinct drives), declustered
// placement of new sets, reserves for the cleaner, live-byte accounting,
// the cleaner's choice of sets (cost-benefit), and the pool's fsstat.
//
// The allocator does no IO on data segments. Its tables are trees of the
// node's metadata store (package btree/store), so every change is a store
// transaction: atomic, durable, replayed after a crash. In memory it keeps
// only per-drive counters and pool totals, which do not grow with the
// number of sets or segments; lists come from iterating the trees.
//
// The metadata ranges of a drive (the journal ring and the metadata
// segments its label names, superblock.Meta) belong to the store and are
// never in the segment table: data can never take metadata's space.
//
// # Trees
//
// A pool named NAME (Pool.Name) has its trees alloc/NAME/segments,
// alloc/NAME/sets and alloc/NAME/meta; the unnamed pool (the node's
// default pool, as the first formats made it) has:
//
//	alloc.segments  key: drive position (4) + segment index (4)   value: segment entry
//	alloc.sets      key: set id (8, never 0)                       value: set entry
//	alloc.meta      key: "alloc"                                   value: allocator record
//
// All integers, in keys and in values, are big endian: keys must sort in
// numeric order, and one rule for the whole package is easier to get right
// than two. Times are Unix nanoseconds, 0 for "none". Every value starts
// with a version byte; decoders accept exactly the encodings below and
// reject anything else (another version, an unknown state or kind, a
// reserved byte that is not zero, a wrong length) with ErrCorrupt.
//
// # Segment entry (version 1, 40 bytes)
//
// One per data segment of every drive of the pool.
//
//	offset size field
//	     0    1 version (1)
//	     1    1 state: 0 free, 1 open, 2 sealed, 3 cleaning, 4 rebuilding
//	     2    6 zero
//	     8    8 generation (>= 1): the segment's current use, or its next
//	            one when free; incremented each time the segment is freed,
//	            so records of an earlier use are recognised (package seg)
//	    16    8 set id: the set the segment is a member of; 0 when free
//	    24    8 live bytes (< 2^63): the member's share of its set's live
//	            bytes (below)
//	    32    8 time of the last state change
//
// A member's share of its set's live bytes L is ceil(L/N) for an N+K set
// (data and parity members alike: a parity unit is as large as a data
// unit) and L for a mirror.
//
// A rebuilding segment's generation is the generation of the member it
// replaces, not its own next one: the data log's block tags carry the
// member's generation and parity covers the tags, so a rebuilt unit must
// be byte for byte the lost one. Its earlier uses were members of other
// sets, whose ids the tags carry too, so nothing stale passes for this
// use; freed, it continues from this generation plus one.
//
// A rebuilding segment (state 4, added with set entry version 2) is the
// target of a pending replacement of the set its set id names: it is
// being written with a reconstructed member (BeginReplace) and is not yet
// a member; its live bytes are 0 until the replacement commits, when it
// takes the set's state and its member's share. Sets are never in state 4.
//
// # Set entry (version 2, 48 + 16*W + 25*R bytes)
//
//	offset size field
//	     0    1 version (2)
//	     1    1 state: 1 open, 2 sealed, 3 cleaning (a released set's entry
//	            is deleted, so 0, free, is never stored)
//	     2    1 layout kind: 1 erasure-coded, 2 mirrored
//	     3    1 erasure-coded: data members N (>= 1); mirrored: copies M (>= 1)
//	     4    1 erasure-coded: parity members K; mirrored: 0
//	     5    1 pending replacements R (0 <= R <= W)
//	     6    2 zero
//	     8    8 creation time
//	    16    8 sealed time (0 while open)
//	    24    8 capacity (< 2^63): bytes the set's logical stream can hold,
//	            N times (mirror: once) the smallest member segment
//	    32    8 frontier (< 2^63): bytes of the stream written
//	    40    8 live bytes (< 2^63) of the stream
//	    48 16*W members in member order, W = N+K or M, 1 <= W <= 64: drive
//	            position (4), segment index (4), the segment's generation
//	            for this use (8, >= 1). Data members come first, then parity.
//	48+16*W 25*R pending replacements in increasing member index, each:
//	          0  1 member index (< W; at most one replacement per member)
//	          1  4 target drive position
//	          5  4 target segment index
//	          9  8 the target's generation for this use (>= 1)
//	         17  8 start time (BeginReplace)
//
// A pending replacement's target is a rebuilding segment of the set; when
// the replacement commits, it takes the member's place in the member list
// and the entry is dropped (AbortReplace drops it and frees the target).
// The members' drives and the targets' drives are all distinct, except
// that a target may share the drive of the member it replaces (a drive
// that came back healthy). An open set has none.
//
// Version 1 (48 + 16*W bytes), written before replacements existed, is
// still read: it is version 2 with R = 0, except that its byte 5 is
// reserved (zero). Entries are always written in version 2, which older
// decoders refuse (as they refuse segment state 4).
//
// The capacity is the allocator's bound; the data log's usable stream is a
// little smaller (segment headers, block tags). Relations between fields
// (live <= frontier <= capacity, distinct drives, a sealed time exactly
// when not open, targets on drives of their own) are checked by Check
// rather than by the decoder, so that fsck can still read an entry that
// breaks them. The decoder does check what makes the entry's shape: R <=
// W, member indices below W in increasing order, generations >= 1.
//
// # Allocator record (version 1, 16 bytes)
//
//	offset size field
//	     0    1 version (1)
//	     1    7 zero
//	     8    8 next set id (>= 1): set ids are never reused, so a stale
//	            pointer to a released set can never name a new one
//
// # Replacing a member
//
// A rebuild replaces the members of a set that its failed drives held,
// one member at a time, in three crash-safe steps: BeginReplace picks a
// target segment (on a spare drive first, never on a faulty or out one,
// never on a drive holding another member or target of the set), makes it
// rebuilding and records the pending replacement in the set's entry; the
// caller writes the reconstructed member into the target; CommitReplace
// switches the membership, frees the old segment with its generation
// incremented and drops the pending entry, or AbortReplace frees the
// target. Each step is one transaction. Replacements lists what a
// restarted node must resume or abort; SetsOn lists the sets on a drive,
// those that lost the most members first. Releasing a set frees its
// pending targets too.
//
// # Staged changes and the counters
//
// Frontier growth (Advance) and live-byte changes (AddLive) are written
// into the caller's store batch, so the data path commits them in the same
// transaction as its index changes. The values put are whole entries, so
// the allocator must know what the caller's commit did: the caller reports
// it with Done(b, err) (err being Commit's result) or Abandon(b) when the
// batch is never committed. Until then the batch holds the sets it staged:
// another batch staging the same set waits (or fails with ErrBusy if it
// already holds sets, which rules out deadlock), and so do Seal and
// Release. That is what keeps two whole-entry puts computed from the same
// state from losing one of the changes, and what lets the pool totals be
// updated exactly once, after the commit. A failed commit may or may not
// have been applied (the store goes read-only when it cannot tell), so the
// allocator then recounts from the trees at the next quiet moment.
package alloc
