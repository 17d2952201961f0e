// Package fsck checks a stopped Plinth node offline: `plinth fsck`, the
// beck tool's check. Check reads every drive and writes none; Repair
// (`plinth fsck --repair`, below) then repairs what is safe.
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
// one is (Check corrects nothing), ExitCorrected (1) when Repair fixed
// every error it found, and ExitOperational (8) when Check or Repair
// returns an error: bad arguments, a drive that cannot be opened or is in
// use, drives that are not one node.
//
// Every check also lists the lost+found tree (Report.LostFound): the
// objects a repair could not recover, by pool, bucket and key, with their
// version, size, when and why. It is listed until a repair with
// ClearLostFound (plinth fsck --repair --clear-lost-found) drops it.
//
// # Repair
//
// Repair (plinth fsck --repair) runs the check, plans the repairs from
// what it found with the store and pools still open read-only, asks about
// each (RepairOptions.Confirm: "fix? [y/N]"; Yes answers yes; with nobody
// to ask every repair is declined, saying to pass --yes; DryRun only says
// what each would do), then opens the stopped node read and write — the
// drives exclusively, so it is still offline — and repairs through the
// layers' own write paths:
//
//   - a drive given whose label cannot be read at all (both areas lost):
//     written again from the node's record of the drive at a missing
//     position (appliance.LabelsTree), once the drive proves to be that
//     one (its geometry gives the recorded layout and one of its segment
//     headers names the recorded node and drive); a drive that does not
//     is left alone;
//   - a drive's label areas holding damaged records: rewritten from the
//     newest valid record (superblock.Log.Rewrite: the other area erased
//     and written, then the old one erased; the newest durable record is
//     never destroyed first); on a metadata mirror a checkpoint then
//     brings its checkpoint pointer up to date;
//   - damaged copies of metadata nodes or of the checkpoint record on one
//     mirror, up to a mirror's zeroed metadata segments: every live node
//     of the segments concerned is re-dirtied and a checkpoint writes it
//     afresh on every mirror (store.Store.Rewrite; reads take the copy
//     that verifies); the segments are then freed. This rewrites the
//     nodes elsewhere instead of patching bytes in place, which zoned
//     metadata segments could not take, and never writes beside the
//     layers' record framing;
//   - wrong live counts of metadata segments: recounted from the trees and
//     recorded by a checkpoint (store.Store.Recount);
//   - a torn journal tail, a mirror that missed the last write, damaged
//     journal copies, a mirror's label naming an older checkpoint: the
//     store opened read and write as a start opens it; a mirror whose
//     label names an older checkpoint is rebuilt from the others
//     (store.Store.Resilver: every live node it may lack is rewritten
//     onto every mirror); then a checkpoint (store.Store.ForceCheckpoint)
//     recorded in every mirror's label;
//   - a set's live bytes, or its members' shares, that disagree with the
//     index: recounted from the index (pool.Pool.Recount, alloc
//     Allocator.SetLive), first, so that the moves after it start from
//     counts that agree;
//   - a record two index entries point at: the record describes itself
//     (owner, kind, version, offset in its header), so the entries it does
//     not describe are dropped; their owners' data is lost (a tombstone's
//     owner stays deleted);
//   - live stripes with more damaged units than parity covers: the
//     objects with records there are lost;
//   - a corrupt data or parity unit (or one that cannot be read on a drive
//     that is present) in a live stripe: the stripe is queued in the
//     pool's repair tree and the queue worked (pool.Pool.RepairStripes):
//     its live records are read back through parity and rewritten in the
//     cleaner's set, the index switched to the copies; the damaged units
//     then hold nothing live (a note of the deep check) until their set is
//     cleaned or released;
//   - sealed sets with nothing live (orphaned space): released through
//     the allocator, zones reset, as a start would; sets the repairs
//     emptied are released too.
//
// Lost owners are taken out of the pool's index and written to the
// lost+found tree in one transaction (pool.Pool.DropOwners), with the
// live bytes of their sets recounted, so nothing is silently dropped and
// the rest of the pool is untouched. The pools are opened by
// appliance.Node.OpenPoolsForRepair (pool.OpenForRepair: the committer
// runs, but no set is resumed and nothing is released unasked), so a
// declined repair stays undone.
//
// Each repair is one store transaction or one checkpoint, so a repair
// that fails leaves what a durable state names as it was; the store and
// pool repairs inspect what they touched afterwards, and once all have
// run the whole node is checked again. Every finding of the first check
// gets a Status — fixed (the re-check no longer finds it), not fixed,
// failed, declined, would fix, cannot fix (what to do instead: a missing
// drive is rebuilt by plinth serve, or replaced with plinth
// replace-drive) — and the re-check's findings that were not there before
// are listed (RepairSummary.New: the dead damaged units, typically). The
// exit status is ExitCorrected when the re-check finds no error and
// something was fixed, ExitErrors when errors are left; a dry run, or one
// whose every repair was declined, keeps the check's. Not repaired: a
// tree that fails its check on every copy (fsck --rebuild-index), the
// allocator's tables beyond live bytes, extents without a head, a failed
// or lagging metadata mirror's journal, a missing drive (the rebuild's).
package fsck
