// Package pool is the data path of one pool of drives: it stores the bytes of
// owners (an object, an index key: whatever the layer above names) as
// self-describing records in the erasure-coded data log (package datalog) of
// segment sets that the allocator (package alloc) places, keeps an index from
// each owner to its extents in the metadata store (package btree/store), and
// reclaims the space of dead records with a cleaner.
//
// The rules it keeps:
//
//   - Data is flushed before the metadata commit that references it: an
//     owner's extents are committed only after every record they name is on
//     stable media, so nothing ever points at bytes that may not be there.
//   - Every byte read is verified (the data log's block tags bind each 4 KiB
//     block to its set, member use and stream position). A bad or missing
//     unit is rebuilt from parity, reported as an event and queued for
//     repair; more than K bad units is an error, never wrong data.
//   - Versions: a write carries a version; a write whose version is not newer
//     than the owner's current one changes nothing (ErrSuperseded), and a
//     delete leaves a tombstone that beats a write of the same or an older
//     version. Tombstones are records in the log too, so that an index rebuilt
//     from the logs never resurrects deleted data.
//   - Small values with someone else's index: PutValues writes values and
//     tombstones for owners whose versions the caller keeps (the key-value
//     indexes), and commits them in one metadata transaction with the
//     caller's own changes, all or nothing; ForgetPrefix drops a whole
//     namespace of owners (a dropped index). Commit groups are bounded by
//     the bytes their requests add to a transaction, so that a group
//     always fits the journal.
//   - Out of data space is ErrNoSpace; out of metadata space puts the pool in
//     write-protect mode (ErrWriteProtected): reads go on, deletes go on (they
//     are how space comes back), writes are refused with the reason.
//
// # Records (format version 2)
//
// A set's stream (package datalog) is a sequence of records. A record never
// crosses a stripe boundary: a write larger than what is left of the stripe
// is split into several records, each naming the logical offset of its
// payload; when what is left of a stripe cannot hold a record header, the
// owner and one payload byte, it is padded with zero bytes. A record is
//
//	offset size field
//	     0    1 kind: 1 data, 2 tombstone, 3 attrs (format 2). A zero
//	            byte where a record would start is padding: the rest of
//	            the stripe holds none.
//	     1    1 format version: 1 for data and tombstone records (their
//	            bytes are unchanged since version 1, which is what is
//	            written), 2 for attrs records; a reader takes data and
//	            tombstones of either version, attrs of version 2 only
//	     2    2 owner length L, 1..MaxOwner
//	     4    4 payload length P (tombstone: 0)
//	     8    8 version of the write (or delete)
//	    16    8 data: logical offset of the payload in the owner's bytes;
//	            attrs: offset of the payload in the write's attrs payload
//	            (below); tombstone: 0
//	    24    8 payload checksum: HighwayHash-64 keyed with RecordKey of
//	            the payload
//	    32    8 header checksum: HighwayHash-64 keyed with RecordKey of
//	            bytes 0..31 and the owner
//	    40    L owner
//	  40+L    P payload
//
// Integers are big endian. An owner of size zero is written as one data
// record of payload length 0, so the log names every write.
//
// Every write (Put, PutWith) also writes its attrs payload, once the
// source is read to its end and just before its last data record:
//
//	offset size field
//	     0    8 size of the owner's bytes the write gives
//	     8    2 attribute length A (0: the write gave none)
//	    10    A the attributes (PutOptions.Attrs), opaque to the pool
//
// as attrs records (kind 3) of the write's owner and version, split at
// stripe boundaries like data, each record's offset field naming where
// its payload lies in the attrs payload (a record may hold none of it).
// Nothing in the index references them: they are dead bytes for the
// accounting and the cleaner does not move them. They let an index
// rebuilt from the log (the beck tool) know a write's size (so that an
// interrupted write, whose attrs record or last records are missing, is
// told from a whole one) and its attributes. Coming before the last data
// record, they are made durable by the write's commit, which flushes the
// streams of its data records and every retired stream. A set cleaned
// since the write was made no longer holds them (the cleaner moves only
// what the index references): a rebuilt index then has that owner's
// bytes without its attributes. Version 1 logs have no attrs records and
// read as such.
//
// The block tags verify what a range read reads; the payload checksum
// verifies a whole record end to end (the cleaner, the checker's deep mode).
//
// # Index trees (in the metadata store)
//
// Tree names start with "pool/" and the pool's name:
//
//	pool/NAME/heads    key: owner                        value: head
//	pool/NAME/extents  key: L (2) + owner + offset (8)   value: extent
//	pool/NAME/repair   key: set id (8) + stripe (8)      value: repair
//	pool/NAME/pending  key: owner                        value: version (8)
//
// The pool's allocator (package alloc) keeps its trees under
// alloc/NAME/; the pool named "default" (LegacyAllocPool) keeps the
// unnamed allocator trees the first formats gave the node's only pool.
//
// A head (version 1, 38 bytes; version 2 when a data head carries
// attributes: the 38 bytes, then their length (2) and the attributes, 1 to
// MaxAttrs bytes the writer gave, opaque to the pool):
//
//	offset size field
//	     0    1 version (1, or 2 with attributes)
//	     1    1 state: 1 data, 2 tombstone
//	     2    8 version of the write or delete
//	    10    8 size of the owner's bytes (tombstone: 0)
//	    18    8 tombstone: set id of its record (data: 0)
//	    26    8 tombstone: stream offset of its record (data: 0)
//	    34    4 tombstone: record length (data: 0)
//	    38    2 version 2: attribute length A
//	    40    A version 2: attributes
//
// The attributes are the index's (the object layer keeps its content
// type, user metadata and ETag there); the data log has a copy in the
// write's attrs records for an index rebuilt from the log (above).
//
// A tombstone older than a horizon is collected (CollectTombstones): its
// head goes, and its record becomes dead. A write of an older version that
// arrives after that is accepted, which is why the horizon must outlast
// every replay.
//
// A tombstone whose record is not written yet (set, offset and length 0)
// is pending: a delete in a pool out of data space commits the tombstone
// in the index at once and lists the owner in the pending tree; its record
// is written, and the head pointed at it, as soon as a set has room (the
// cleaner's loop does it after making room). Deletes therefore never need
// data space, so they can always empty a full pool; the cost is that a log
// rebuilt index would not see a delete whose record was still pending.
//
// An extent (version 1, 41 bytes) is one data record an owner's bytes
// [offset, offset+payload length) live in:
//
//	offset size field
//	     0    1 version (1)
//	     1    8 set id
//	     9    8 stream offset of the record
//	    17    4 record length (40 + L + P)
//	    21    4 payload length P
//	    25    8 version of the write
//	    33    8 payload checksum
//
// A data head's extents cover [0, size) without gaps or overlaps, each of
// the head's version. A repair entry (version 1, 17 bytes: version, members
// found bad as a bit mask (8), time queued (8)) names a stripe that a read
// found damaged; the repair rewrites its live records elsewhere.
//
// # Live bytes
//
// A set's live bytes (alloc) are the record lengths of the extents and the
// tombstones that point into it. Padding, records of superseded writes and
// records whose commit never happened are dead and come back when the set
// is cleaned or, once nothing in it is live, released.
package pool
