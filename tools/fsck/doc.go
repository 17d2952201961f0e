// Package fsck checks a stopped Plinth node offline: `plinth fsck`, the
// beck tool's check. It reads every drive and writes none.
//
// # Offline and read-only
//
// Check opens every drive exclusively (flock on files, O_EXCL on block
// devices), so a drive a running node owns is refused with a dev.BusyError
// naming the process that holds it (from /proc/locks for files, /proc/*/fd
// for block devices). Every drive is then wrapped in a guard that refuses
// writes, discards and zone commands, and the layers below are opened in
// their read-only modes: the metadata store with store.OpenReadOnly (the
// journal replayed into memory only: no mirror caught up, no segment
// sealed, no checkpoint), the pools with appliance.Node.OpenPoolsReadOnly
// (no tree created, no open set resumed, no cleaner, nothing queued for
// repair). A write the guard refuses would be a bug and is reported.
//
// # Phases, in order
//
//  1. labels and superblocks: both superblock areas of every drive; a
//     damaged record, an unreadable label, a missing position, a metadata
//     mirror whose label names an older checkpoint. Drives of another
//     node, or two drives at one position, stop the check.
//  2. journal: the newest checkpoint opened and the journal after it
//     replayed read-only; damaged journal copies, failed or lagging
//     mirrors; a torn tail (the last write before a crash, which the
//     store's rules expect) is a note, not an error.
//  3. B-trees: every tree of the checkpoint (structure, checksums, key
//     order, levels, reachability, no node reached twice), every mirror's
//     copy of every node and of the checkpoint record, the metadata
//     segments' live bytes, the trees in memory after the replay
//     (store.Inspect).
//  4. cross-checks: per pool, the allocator's checks and the index against
//     them (pool.Check without Deep: every extent inside an existing set
//     below its frontier, live-byte accounting, set membership, no record
//     referenced twice), every member segment's header, orphaned space
//     (sealed sets with nothing live).
//  5. with Deep: every written stripe read whole, data units checked
//     against their tags and parity units against the verified data
//     (pool.VerifySets), and every live record read back against the
//     index (pool.Check with Deep).
//
// A phase that needs what an earlier one could not open (the store, the
// pools) is skipped, saying why.
//
// # Findings and exit status
//
// A Finding has a phase, a severity (error, warning, info), what was
// found, where (drive path and position, superblock area, journal or
// metadata segment, tree, pool, set, member, segment, stripe, owner,
// bucket and key, as far as known) and what to do. The exit statuses are
// e2fsck's: ExitClean (0) when no finding is an error, ExitErrors (4) when
// one is (this check corrects nothing: --repair comes later), and
// ExitOperational (8) when Check returns an error: bad arguments, a drive
// that cannot be opened or is in use, drives that are not one node.
package fsck
