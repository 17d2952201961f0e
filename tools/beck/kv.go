package beck

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/appliance/kv"
	"github.com/plinth-storage/plinth/pool"
)

// kvRestoreBatch is how many keys one commit of the key-value restore
// writes.
const kvRestoreBatch = 256

// kvOwner is an owner of the key-value indexes found in a pool's rebuilt
// index.
type kvOwner struct {
	pool    *pool.Pool
	owner   []byte
	key     []byte // nil for a marker
	version uint64
	tomb    bool
	size    int64
}

// restoreKV rebuilds the key-value indexes from the pools' rebuilt
// indexes, part of phase 7 (the pools are open). Package kv logs every
// write of a key as the owner "k/NAME/" + incarnation + key, and every
// index created or dropped as its marker "k/NAME" (a value holding the
// incarnation, or a tombstone). An index whose newest marker is a value
// is restored with the keys of that incarnation, tombstones included; one
// whose marker is a tombstone was dropped and is not; one with keys and
// no marker (its record lost) is restored from its newest incarnation,
// with a warning. The keys of dropped incarnations are forgotten (their
// records' space goes back). It returns the indexes and keys restored.
func (b *rebuild) restoreKV(pools []*pool.Pool) (indexes, keys int, err error) {
	markers := map[string]kvOwner{}
	found := map[string]map[uint64][]kvOwner{}
	for _, p := range pools {
		_, err := pool.WalkIndex(b.ctx, b.st, pool.TreesOf(p.Name()), func(e pool.IndexEntry) error {
			name, inc, key, marker, ok := kv.ParseOwner(e.Owner)
			if !ok {
				return nil
			}
			o := kvOwner{pool: p, owner: bytes.Clone(e.Owner), key: bytes.Clone(key), version: e.Version, tomb: e.Tomb, size: e.Size}
			if marker {
				if m, seen := markers[name]; !seen || o.version > m.version {
					markers[name] = o
				}
				return nil
			}
			if found[name] == nil {
				found[name] = map[uint64][]kvOwner{}
			}
			found[name][inc] = append(found[name][inc], o)
			return nil
		})
		if err != nil {
			return indexes, keys, fmt.Errorf("pool %s: key-value owners: %w", p.Name(), err)
		}
	}
	names := map[string]bool{}
	for n := range markers {
		names[n] = true
	}
	for n := range found {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	for _, name := range sorted {
		incs := found[name]
		m, hasMarker := markers[name]
		inc, ok := uint64(0), false
		switch {
		case hasMarker && m.tomb:
			if n := countKeys(incs); n > 0 {
				b.note("key-value index %q was dropped (at version %d): the %d keys of it still in the log are not restored", name, m.version, n)
			}
			for i := range incs {
				if err := b.forgetKeys(pools, name, i); err != nil {
					return indexes, keys, err
				}
			}
			continue
		case hasMarker:
			if inc, err = b.readMarker(m); err != nil {
				b.warn("key-value index %q: its marker cannot be read (%v): restored from the newest incarnation of its keys", name, err)
			} else {
				ok = true
			}
		default:
			b.warn("key-value index %q: no record of its creation in the log (lost with its stripe): restored from the newest incarnation of its keys", name)
		}
		if !ok {
			for i := range incs {
				inc = max(inc, i)
			}
		}
		for i, ks := range incs {
			if i != inc {
				b.note("key-value index %q: %d keys of an earlier incarnation (dropped and created again) are not restored", name, len(ks))
				if err := b.forgetKeys(pools, name, i); err != nil {
					return indexes, keys, err
				}
			}
		}
		n, err := b.restoreIndex(name, inc, incs[inc])
		keys += n
		if err != nil {
			return indexes, keys, err
		}
		indexes++
	}
	return indexes, keys, nil
}

// forgetKeys removes the keys of a dropped incarnation from the pools'
// indexes, as the node's drop did before the metadata was lost: the
// scan found their records, which only the cleaner removes, and indexed
// them; left there they would hold their space for ever.
func (b *rebuild) forgetKeys(pools []*pool.Pool, name string, inc uint64) error {
	for _, p := range pools {
		if _, err := p.ForgetPrefix(b.ctx, kv.KeysPrefix(name, inc)); err != nil {
			return fmt.Errorf("pool %s: forget the keys of dropped key-value index %q: %w", p.Name(), name, err)
		}
	}
	return nil
}

func countKeys(incs map[uint64][]kvOwner) int {
	n := 0
	for _, ks := range incs {
		n += len(ks)
	}
	return n
}

// readMarker reads an index marker's incarnation.
func (b *rebuild) readMarker(m kvOwner) (uint64, error) {
	buf := make([]byte, m.size)
	if _, _, err := m.pool.ReadAt(b.ctx, m.owner, buf, 0); err != nil {
		return 0, err
	}
	return kv.DecodeMarker(buf)
}

// restoreIndex writes one index's keys, reading each value from its pool;
// a value that cannot be read is reported lost.
func (b *rebuild) restoreIndex(name string, inc uint64, owners []kvOwner) (int, error) {
	restored := 0
	batch := make([]kv.RestoredKey, 0, kvRestoreBatch)
	flush := func() error {
		if err := kv.Restore(b.ctx, b.st, name, inc, batch); err != nil {
			return err
		}
		restored += len(batch)
		batch = batch[:0]
		return nil
	}
	for _, o := range owners {
		k := kv.RestoredKey{Key: o.key, Version: o.version, Tomb: o.tomb}
		if !o.tomb {
			k.Value = make([]byte, o.size)
			if _, _, err := o.pool.ReadAt(b.ctx, o.owner, k.Value, 0); err != nil {
				if cerr := b.ctx.Err(); cerr != nil {
					return restored, cerr
				}
				b.r.Lost = append(b.r.Lost, Lost{Pool: o.pool.Name(), Owner: string(o.owner), Index: name, Key: string(o.key), Version: o.version,
					Why: fmt.Sprintf("its value cannot be read: %v", err)})
				continue
			}
		}
		batch = append(batch, k)
		if len(batch) == kvRestoreBatch {
			if err := flush(); err != nil {
				return restored, err
			}
		}
	}
	return restored, flush() // an index with no key left is restored empty
}
