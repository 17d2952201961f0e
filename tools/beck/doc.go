// Package beck rebuilds a stopped node's indexes from its data logs:
// `plinth fsck --rebuild-index`, the beck tool's last resort. It works
// when every copy of the metadata is gone: it needs only the drives'
// labels and the data segments, and it resumes after an interruption.
//
// # What it does, phase by phase
//
//  1. drives and labels: the node's drives opened exclusively (a running
//     node holds them: refused, naming the process), their labels read,
//     the old metadata store opened read-only if it can be. A readable
//     store is replaced only with Options.Yes (its pool records, drive
//     labels and clock ceiling are kept); a store holding ProgressTree is
//     an interrupted rebuild, resumed. The pools are the old store's
//     records when they can be read, else Options.Pools (serve's
//     --config), else serve's default (pool "default" on every drive,
//     appliance.DefaultLayout of the node's drive count). A missing
//     drive's label is the recorded one, or one made from a present
//     sibling's geometry.
//  2. member segment headers: the header of every data segment of every
//     present drive (seg.Scan). Segments naming the same set id on one
//     pool's drives are the set's members. A header names set and
//     generation, not the member's place: data members are placed by
//     their block tags (datalog.ProbeDataMember, stripes 0 to 3), the
//     others by trying each way to put them in the open places
//     (parity consistent with the data, datalog.ParityConsistent; each
//     data member missing rebuilt from the others, its generation found
//     by its tags, datalog.RecoverGeneration; the stripe verified whole).
//     A set's stream ends where its zones' write pointers say
//     (datalog.WrittenEnd), or, on conventional drives, after the last
//     stripe whose blocks carry this use's tags (datalog.ProbeEnd). A
//     member that is missing is given a segment of a drive of the pool the
//     set has no member on, a missing drive first. If no set of a pool
//     reads back clean with the pool's layout (every segment in place, the
//     test stripe verified whole: single blocks may check by chance with a
//     wrong N or unit, whole stripes do not), the rebuild stops before it
//     writes (ErrLayout).
//  3. new metadata store: the mirrors' journal rings and metadata segments
//     emptied (zones reset, conventional ranges discarded where the drive
//     can) and a fresh store created there (store.Create), whatever state
//     the old one was in: an index rebuilt from the logs is the whole
//     truth, and mixing it with a damaged store's trees is not. Then, in
//     the first transaction, the drive labels (node/labels), the pools
//     (node/pools) and the progress record; the pools are opened once
//     (their trees created); and each pool's allocator tables are
//     written: every set found open, holding everything it was written
//     with (live bytes = frontier), every other data segment free, with a
//     generation past its header's. A node started on a rebuild that has
//     not finished therefore neither writes over nor cleans away data
//     that is not indexed yet (it sees too few objects, and must not be
//     started: the rebuild is not done until it says so).
//  4. data log scan: every set's stream read from 0 to its end, stripe by
//     stripe, with the data log's sequential reader (every block's tag
//     checked; missing or lying units rebuilt from parity); every record
//     decoded (pool.ScanRecords: data, tombstones, attrs) and put in the
//     pool's staging tree. A stripe that cannot be read whole (more bad
//     units than parity) is counted damaged and salvaged: its good blocks
//     read without parity (datalog SalvageStripe) and searched for record
//     headers (pool.SalvageRecords); the whole records found are staged,
//     and the data records whose header is good and payload is not are
//     staged as damaged, so that their owners are named lost (or restored
//     from another copy), never silently dropped.
//  5. index: each staging tree read in key order, owner by owner, newest
//     version first. The newest version wins, a tombstone winning a tie
//     (as in package pool); a data version wins if its records cover its
//     bytes: [0, size) when its attrs record gives the size, else from 0
//     to the end of its records with no gap. Copies of a record (the
//     cleaner's, perhaps split differently) are deduplicated, the newest
//     set's preferred. A version that does not cover (an interrupted
//     write, or records lost with a stripe) gives way to the next older
//     one, and the report says so; an owner with no version to restore is
//     lost: listed by pool, bucket and key in the report.
//  6. allocator, buckets and clock: each pool's index walked to sum the
//     record bytes each set holds live, and the allocator's tables
//     written again with them; the buckets (objects/buckets) are the
//     distinct buckets of the objects found, each in the pool holding
//     most of its objects, created at the time of the rebuild; the
//     clock's ceiling (node/clock) is the newest version found, so that
//     the node never issues a version older than one it holds. The
//     staging trees are dropped.
//  7. verify: the pools opened as a start opens them (sets with nothing
//     live are released, the others sealed but one, which the next
//     writes go on in), each pool's index checked against its allocator
//     (pool.Check), the key-value indexes restored (below), and the
//     progress tree dropped.
//
// # Key-value indexes
//
// Package kv logs every write of an index in the first pool's data log
// (owners "k/NAME" for the index's marker and "k/NAME/" + incarnation +
// key for its keys; see its package comment), so the index phase restores
// them in the pools' indexes like any owner. Phase 7 then writes the kv
// trees from them: an index whose newest marker is a value is restored
// with the keys of the incarnation it names, values read from the pool
// and tombstones kept (they still beat older writes); one whose marker is
// a tombstone was dropped and is not restored; one with keys and no marker
// is restored from its newest incarnation, with a warning. The keys of
// dropped incarnations are forgotten in the pools' indexes, as the node's
// drop does. A key whose value cannot be read is listed lost by index and
// key.
//
// Each phase shows a progress bar (the fsck package's Progress). The
// time is proportional to the data scanned: phase 4 reads each stream
// once, sequentially; phases 5 and 6 are linear in the records found.
//
// # What it cannot give back
//
//   - Key-value writes made before package kv logged them in the data
//     log (Plinth before 2026-11-22) are not there: such an index comes
//     back (the node logs its marker at its first start since) with only
//     its later writes. The drive states an
//     operator set are lost (every drive is online again), and so are the
//     scrub schedule and a bucket's creation time.
//   - A bucket with no object left (all deleted, or never written) is not
//     found: buckets are known only by their objects.
//   - Objects written before attrs records existed (record format 1), or
//     whose attrs record was lost (its set released while the write's data
//     lay in another set: the cleaner copies an attrs record only when it
//     cleans the set holding it), come back without their attributes
//     (content type, user metadata, ETag, modified time); they are
//     counted.
//   - Deletes whose tombstone record was still pending (a delete in a
//     full pool) are not in the log: those objects come back. So may
//     objects whose tombstone was collected after the tombstone horizon
//     while their data records were not cleaned yet, and writes that
//     reached the log but whose commit failed or never happened.
//   - A stripe damaged beyond parity loses the records in its bad
//     blocks. An owner with a record header in a good block, or another
//     record elsewhere, is reported lost (or restored at an older
//     version, said); one whose every record header was in bad blocks is
//     named nowhere any more (the damaged stripe is reported). The last
//     stripe a set wrote, if destroyed on every data member, cannot be
//     told from one never written.
//   - A missing drive's members are given segments of it chosen by the
//     rebuild, not the ones they were in (unknown without it): if the
//     drive comes back, run the rebuild again with it (--yes) before
//     starting the node, or replace it. Its label, when no copy was
//     readable, is made from a sibling's.
//
// # On-disk progress record
//
// The rebuild keeps its progress in the store it builds, so that it is
// committed in the same transactions as the work it describes: an
// interrupted rebuild resumes from the last commit, redoing nothing but
// what that commit did not cover. The tree is ProgressTree
// ("beck/progress"); its key "progress" holds (integers big endian):
//
//	offset size field
//	     0    1 version (1)
//	     1    1 step: 1 setup, 2 scan, 3 index, 4 tables, 5 verify (the
//	            step under way: those before it are done)
//	     2    2 zero
//	     4    4 scan: the set being scanned, by its number in discovery
//	            order (pools by name, sets by id)
//	     8    8 scan: the stream offset of that set's next stripe to scan
//	    16   32 SHA-256 of what discovery found (each pool's name and
//	            layout, each set's id, end, capacity and members' drive,
//	            segment and generation): a resumed rebuild goes on only over
//	            the same sets (else it stops, or with Options.Yes starts
//	            over)
//	    48    8 start of the first run, Unix nanoseconds
//	    56    8 stream bytes scanned
//	    64    8 records found
//	    72    8 stripes damaged
//	    80    8 owners restored with data
//	    88    8 owners restored deleted (tombstones)
//	    96    8 owners restored without attributes
//	   104    8 owners restored at an older version than the newest found
//	   112    8 owners lost
//	   120    4 index: the pool being indexed, by number (pools by name)
//	   124    2 index: length R of the last owner indexed in it (0: none)
//	   126    R that owner
//
// Its keys "lost/" + pool name + a zero byte + owner list the owners lost
// so far: the newest version found (8), then why (text).
//
// A staging tree ("beck/staging/" + pool name) holds one entry per record
// found. The key orders an owner's records newest version first:
//
//	offset size field
//	     0    2 owner length L
//	     2    L owner
//	   2+L    8 the version, bitwise inverted
//	  10+L    1 rank: 0 tombstone, 1 attrs, 2 data, 3 damaged data (a
//	            header found in a damaged stripe, its payload unreadable)
//	  11+L    8 data: logical offset; attrs: offset in the attrs payload;
//	            tombstone: 0
//	  19+L    4 FNV-32a of the record's set id and stream offset (8 + 8):
//	            copies of one record in several sets are kept apart
//
// and the value is
//
//	offset size field
//	     0    1 version (1)
//	     1    1 the record's format version
//	     2    8 set id
//	    10    8 stream offset of the record
//	    18    4 record length
//	    22    4 payload length P (the record length less its header)
//	    26    8 payload checksum
//	    34    P attrs records only: the payload
//
// The staging trees are dropped once the index is built, and the progress
// tree once the rebuild is verified: the store is then the node's, as a
// start would have left it.
package beck
