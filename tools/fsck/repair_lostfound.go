package fsck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/btree/store"
)

// LostFoundTree is the metadata tree of the lost+found listing: the data a
// repair could not recover, keyed by pool name, a zero byte and the
// owner; the value is a LostEntry as JSON. Every check lists it; a repair
// with ClearLostFound (plinth fsck --repair --clear-lost-found) drops the
// tree.
const LostFoundTree = "lostfound"

// LostEntry is one owner whose data a repair could not recover: the
// object (its bucket and key) as the index described it when it was
// taken out of the pool's index.
type LostEntry struct {
	Pool    string    `json:"pool"`
	Owner   string    `json:"owner"`
	Bucket  string    `json:"bucket,omitempty"`
	Key     string    `json:"key,omitempty"`
	Version uint64    `json:"version"`
	Size    int64     `json:"size"`
	Lost    time.Time `json:"lost"`
	Why     string    `json:"why"`
}

// maxWhy bounds an entry's reason: the value must fit a B-tree value.
const maxWhy = 1500

func newLostEntry(poolName string, owner []byte, version uint64, size int64, why string, now time.Time) LostEntry {
	e := LostEntry{Pool: poolName, Owner: string(owner), Version: version, Size: size, Lost: now, Why: why}
	if rest, ok := strings.CutPrefix(e.Owner, "o/"); ok {
		if b, k, ok := strings.Cut(rest, "/"); ok {
			e.Bucket, e.Key = b, k
		}
	}
	if len(e.Why) > maxWhy {
		e.Why = e.Why[:maxWhy] + "…"
	}
	return e
}

func (e LostEntry) name() string {
	if e.Bucket != "" {
		return fmt.Sprintf("bucket %q key %q", e.Bucket, e.Key)
	}
	return fmt.Sprintf("owner %q", e.Owner)
}

func lostKey(poolName, owner string) []byte {
	return []byte(poolName + "\x00" + owner)
}

// ensureLostFound creates the lost+found tree if it is not there.
func ensureLostFound(ctx context.Context, st *store.Store) error {
	if err := st.CreateTree(ctx, LostFoundTree, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("lost+found: %w", err)
	}
	return nil
}

// putLost adds an entry to b. An entry too large for a B-tree value (an
// owner of many escaped bytes) keeps a shorter reason, then leaves the
// owner, bucket and key to the tree's key (readLostFound derives them).
func putLost(b *store.Batch, e LostEntry) error {
	key := lostKey(e.Pool, e.Owner)
	var v []byte
	for attempt := 0; ; attempt++ {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("lost+found entry of %s: %w", e.name(), err)
		}
		v = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		switch {
		case len(v) <= btree.MaxValue:
		case attempt == 0:
			e.Why = e.Why[:min(len(e.Why), 200)]
			continue
		case attempt == 1:
			e.Owner, e.Bucket, e.Key = "", "", ""
			continue
		default:
			return fmt.Errorf("lost+found entry of %s: %d bytes, more than a B-tree value holds", e.name(), len(v))
		}
		break
	}
	b.Put(LostFoundTree, key, v)
	return nil
}

// hasLostFound reports whether the store has the lost+found tree.
func hasLostFound(st *store.Store) bool {
	return slices.ContainsFunc(st.Trees(), func(t store.TreeInfo) bool { return t.Name == LostFoundTree })
}

// readLostFound lists the lost+found tree (nil when there is none).
func readLostFound(st *store.Store) ([]LostEntry, error) {
	if !hasLostFound(st) {
		return nil, nil
	}
	v, err := st.View(LostFoundTree)
	if err != nil {
		return nil, fmt.Errorf("lost+found: %w", err)
	}
	defer v.Close()
	it, err := v.Iter(LostFoundTree)
	if err != nil {
		return nil, fmt.Errorf("lost+found: %w", err)
	}
	var out []LostEntry
	for ok := it.First(); ok; ok = it.Next() {
		var e LostEntry
		if err := json.Unmarshal(it.Value(), &e); err != nil {
			return out, fmt.Errorf("lost+found entry %q: %w", it.Key(), err)
		}
		if e.Owner == "" { // left to the key (putLost)
			_, owner, _ := strings.Cut(string(it.Key()), "\x00")
			d := newLostEntry(e.Pool, []byte(owner), 0, 0, "", e.Lost)
			e.Owner, e.Bucket, e.Key = d.Owner, d.Bucket, d.Key
		}
		out = append(out, e)
	}
	return out, it.Err()
}

// clearLostFound drops the lost+found tree; it returns how many entries
// it held.
func clearLostFound(ctx context.Context, st *store.Store) (int, error) {
	entries, err := readLostFound(st)
	if err != nil {
		return 0, err
	}
	if !hasLostFound(st) {
		return 0, nil
	}
	if err := st.DropTree(ctx, LostFoundTree); err != nil {
		return 0, fmt.Errorf("lost+found: %w", err)
	}
	return len(entries), nil
}

// listLostFound puts the lost+found listing in the report (every check
// prints it until it is cleared).
func (c *checker) listLostFound() {
	if c.st == nil {
		return
	}
	entries, err := readLostFound(c.st)
	c.r.LostFound = entries
	if err != nil {
		c.add(Finding{Phase: PhaseTrees, Severity: SevWarning, Where: Where{Tree: LostFoundTree},
			What: fmt.Sprintf("the lost+found listing cannot be read whole: %v", err),
			Fix:  "fsck --repair --clear-lost-found drops it (what it listed is lost either way)"})
	}
}
