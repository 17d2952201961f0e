// Package kv is the node's key-value indexes: named, ordered maps from keys
// to small values, kept in the metadata store (package btree/store), with
// DTM0 versions.
//
// # Versions
//
// Every write carries a version, a uint64: the client's, or one the node's
// hybrid logical clock (package hlc) assigns when the client gives none
// (version 0). A client's version goes through Clock.Update first, so the
// clock never later assigns a version at or below one it has seen; one too
// far ahead of the node's clock is refused (hlc.ErrDrift, wrapped). The
// rules, for a key whose stored state (a value or a tombstone) has version S:
//
//   - a put of version V is applied when V > S, otherwise it changes nothing
//     and is superseded;
//   - a delete of version V leaves a tombstone of version V when V > S, or
//     when V == S and the stored state is a value (a delete beats a put of the
//     same version); otherwise it is superseded (V == S on a tombstone is a
//     replay);
//   - a delete of a key that has no state leaves a tombstone all the same,
//     so that a put of an older version arriving later (a REDO from a peer
//     that recovers) cannot resurrect it.
//
// Replaying an operation therefore changes nothing and reports ErrSuperseded
// (or Result.Superseded in a batch), which callers that replay treat as
// success. A put that asks the clock for its version is never superseded:
// should the stored version be ahead of the clock (a clock that restarted
// without its persisted ceiling), the clock takes it in and issues again.
//
// Tombstones are kept until CollectTombstones removes those whose version's
// wall time (hlc.Timestamp(V).Time()) is older than a horizon. After that a
// late put of an older version would be applied as if the key had never been
// deleted: the horizon must exceed the longest time a REDO or a retried
// request can be delayed.
//
// Each read-check-write runs under the lock of the key's stripe (256 stripes
// by a hash of the index name and the key); a batch takes the stripes of its
// keys in ascending order. Writers of different keys share nothing but the
// store's group commit.
//
// # Trees
//
// An index NAME (1 to 63 bytes of [a-z0-9._-], starting with a letter or a
// digit) is the metadata tree
//
//	kv/NAME    key: the client's key (1..MaxKey bytes)   value: a state (below)
//
// and the catalogue tree "kv/_indexes" (a name no index can have) maps each
// NAME to its record. An index exists when its tree does: Create creates the
// tree, then the record; Drop drops the tree, then the record; Open adds the
// records a crash left out and removes those whose tree is gone.
//
// # The data log copy
//
// The trees are where reads go; with Options.Log set (the node sets the
// first pool) every write is also a value in that pool's data log
// (pool.Pool.PutValues), committed in the same metadata transaction as the
// tree change, all or nothing, and flushed to the drives before it: so an
// index rebuilt from the logs when every metadata copy is lost (the beck
// tool, tools/beck) has every acknowledged write. The log owners are
//
//	k/NAME                        the index's marker: a value, the index's
//	                              incarnation (8 bytes, big endian), while
//	                              it exists; a tombstone once dropped
//	k/NAME/ + incarnation (8) + key   a key: its value as the owner's bytes,
//	                              or a tombstone, at the operation's version
//
// where the incarnation is the index's creation time in Unix nanoseconds,
// its catalogue record's. It sets apart the keys of an index dropped and
// created again under the same name: Drop writes the marker's tombstone
// and then forgets the old incarnation's owners in the pool (their records
// die and the cleaner takes them); a rebuild restores only the keys of the
// incarnation the newest marker names. Open writes the marker of an
// index that has none in the log (one created before the indexes were
// logged: only its later writes are in the log). A key is therefore at most
// pool.MaxOwner less 74 bytes (MaxKeyLimit, 926). The log's tombstones are
// collected with the index's, by the same horizon. A write the log
// refuses (out of data space, write-protect mode) fails and changes
// nothing; its cost is one data flush beside the journal's commit, as a
// small object's.
//
// # Catalogue record (version 1)
//
// Integers big endian.
//
//	offset size field
//	     0    1 format version (1)
//	     1    8 creation time, Unix nanoseconds
//
// # State (version 1)
//
// The value of a key in kv/NAME. Integers big endian.
//
//	offset size field
//	     0    1 format version (1)
//	     1    1 state: 1 live value, 2 tombstone
//	     2    8 version of the put or delete (never 0)
//	    10    n the value (live: 0..MaxValue bytes; tombstone: none)
//
// Decoders reject anything else (short, another format version, another
// state, a tombstone with bytes after its version, version 0) with an error
// wrapping store.ErrCorrupt; they never panic. A value is therefore at most
// btree.MaxValue-10 bytes: larger values belong in the object store.
package kv
