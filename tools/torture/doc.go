// Package torture is the whole-node torture harness: the proof that the
// assembled node never loses an acknowledged byte and never serves a wrong
// one, modelled on FoundationDB's simulator, TigerBeetle's VOPR and
// Pebble's metamorphic test.
//
// # A run
//
// A run is one seed. From the seed it draws, before anything runs, a list
// of operations and the drives faults may damage (the victims). It then
// formats a node of eight in-memory drives (1 MiB segments, one pool of
// 4+2 with 16 KiB stripe units, metadata mirrored on drives 0-2), opens
// it with appliance/server exactly as plinth serve does (without the HTTP
// listener serving and without the background loops: the harness says
// when cleaning, checkpoints, scrubs and rebuilds happen), and runs the
// operations one after another against the node and a model of what must
// be true:
//
//   - objects: PUT of every size class (empty, a few bytes, around a
//     stripe unit, several stripes, megabytes), GET of a range checked
//     byte for byte, DELETE, LIST paged through continuation tokens,
//     bucket creation and deletion;
//   - versions: a replay of a key's last acknowledged write (same version:
//     it must change nothing), a write with an older version (superseded),
//     a delete at the version of the live value (the tombstone wins);
//   - key-value indexes: creation and drop, atomic batches of puts and
//     deletes (values up to the 4086-byte limit), GET, paged ranges,
//     replays;
//   - background work, now: checkpoint, clean, scrub and repair, health
//     check and rebuild, a clean stop and start.
//
// # Faults
//
// Each kind is switchable and has a rate (the chance, per operation, that
// one is injected before it). Every drive sits behind an io/faultdev
// injector, and all of them on one power rail:
//
//   - powercut: a cut armed on the rail strikes at a random IO of the
//     operations that follow (in the middle of a write, a commit, a
//     checkpoint, a rebuild or a stop) and takes every drive down at once;
//     each drive drops or tears what no flush covered;
//   - loss: a victim fails every IO from then on (and is left out at the
//     next start, as a pulled drive is);
//   - eio: a victim fails reads and writes at a rate;
//   - latency: a drive answers slowly until healed;
//   - bitflip: bits of a victim's media flip at rest, wherever they fall
//     (labels, journal, B-tree nodes, data, parity, free space);
//   - misdirect: a victim writes to the wrong place at a rate.
//
// Within the layout's promise there are two victims, at most one of them a
// metadata mirror: 4+2 survives any two drives, the three-way mirror any
// one (two are needed to accept writes). With Exceed there are three, two
// of them mirrors: the node may then lose data, but it must fail cleanly,
// with errors, never wrong bytes and never a panic.
//
// # What is checked
//
// Every read during the run is compared with the model. A write that
// failed (a power cut struck, a drive failed it) may or may not have been
// applied: the model keeps it as a candidate until a restart shows which.
// After every power cut and every clean restart the node is opened again
// and checked whole: every bucket, object (all its bytes), index and key
// against the model, the listings, the metadata store's checker and every
// pool's deep checker (each record read back). A run fails when an
// acknowledged write is lost, a read returns bytes that were never written
// there (or stale ones), a checker fails, a read within the promise
// fails, the node does not start, or it panics.
//
// # Reproducing a failure
//
// A failing run reports its seed, the position of the failing operation,
// and a shortened reproduction: Shrink drops operations (halves, then
// quarters, down to single ones) while the run still fails the same way,
// and Reproduction prints the command that runs only those:
//
//	plinth torture --seed 17 --ops 100 --faults ... --keep 3-5,9,40-41 -v
//
// The operations and faults are a function of the seed; the node's own
// goroutines (parallel member writes, the committer) are not, so the IO at
// which an armed power cut strikes can differ from run to run. A failure
// that depends on such timing may need a few reruns of its seed, and
// shrinks less.
package torture
