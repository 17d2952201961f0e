package kv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

const (
	treePrefix = "kv/"
	catalogue  = "kv/_indexes"
	// MaxName bounds an index name.
	MaxName = 63
)

// IndexInfo describes an index.
type IndexInfo struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Keys counts the index tree's entries: live keys and tombstones. A
	// key written again since the last metadata checkpoint into a part
	// of the tree not read since may count twice until the next one
	// (btree.Stats.Buffered): an upper bound until then, exact after.
	Keys int64 `json:"keys"`
}

func treeName(index string) string { return treePrefix + index }

// checkName validates an index name.
func checkName(name string) error {
	ok := len(name) >= 1 && len(name) <= MaxName
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		ok = alnum || i > 0 && (c == '.' || c == '_' || c == '-')
	}
	if !ok {
		return fmt.Errorf("%w: index name %q: 1 to %d characters of [a-z0-9._-], starting with a letter or a digit", ErrInvalid, name, MaxName)
	}
	return nil
}

// Create creates an empty index.
func (k *KV) Create(ctx context.Context, index string) error {
	if err := checkName(index); err != nil {
		return fmt.Errorf("kv create: %w", err)
	}
	k.schema.Lock()
	defer k.schema.Unlock()
	if err := k.st.CreateTree(ctx, treeName(index), ""); err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("kv create: %w: %q", ErrExists, index)
		}
		return fmt.Errorf("kv create %q: %w", index, err)
	}
	created := time.Now()
	vals, err := k.markerValue(index, created, false)
	if err != nil {
		return fmt.Errorf("kv create %q: %w", index, err)
	}
	b := store.NewBatch()
	b.Put(catalogue, []byte(index), encodeRecord(created))
	if err := k.commit(ctx, b, vals); err != nil {
		return fmt.Errorf("kv create %q: catalogue: %w", index, err)
	}
	return nil
}

// Drop deletes an index and everything in it.
func (k *KV) Drop(ctx context.Context, index string) error {
	if err := checkName(index); err != nil {
		return fmt.Errorf("kv drop: %w", err)
	}
	k.schema.Lock()
	defer k.schema.Unlock()
	inc, incErr := k.incarnation(index)
	vals, err := k.markerValue(index, time.Time{}, true)
	if err != nil {
		return fmt.Errorf("kv drop %q: %w", index, err)
	}
	if err := k.st.DropTree(ctx, treeName(index)); err != nil {
		return fmt.Errorf("kv drop: %w", mapStoreErr(index, err))
	}
	b := store.NewBatch()
	b.Delete(catalogue, []byte(index))
	if err := k.commit(ctx, b, vals); err != nil {
		return fmt.Errorf("kv drop %q: catalogue: %w", index, err)
	}
	if k.opts.Log != nil && incErr == nil {
		// The marker's tombstone tells a rebuild from the logs that the
		// keys are gone; forgetting them lets the cleaner take their
		// records' space.
		if _, err := k.opts.Log.ForgetPrefix(ctx, KeysPrefix(index, inc)); err != nil {
			return fmt.Errorf("kv drop %q: the index is dropped, but its keys' records in the data log could not be released (their space stays used): %w", index, err)
		}
	}
	return nil
}

// List returns the indexes in name order.
func (k *KV) List() ([]IndexInfo, error) {
	var out []IndexInfo
	for _, ti := range k.st.Trees() {
		name, ok := strings.CutPrefix(ti.Name, treePrefix)
		if !ok || ti.Name == catalogue {
			continue
		}
		info := IndexInfo{Name: name, Keys: int64(ti.Stats.Entries)}
		b, found, err := k.st.Get(catalogue, []byte(name))
		if err != nil {
			return nil, fmt.Errorf("kv list: %w", err)
		}
		if found {
			if info.Created, err = decodeRecord(b); err != nil {
				return nil, fmt.Errorf("kv list: index %q: %w", name, err)
			}
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b IndexInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// reconcile adds the catalogue records a crash left out (their creation
// time is then the time of this Open) and removes those whose tree is gone.
func (k *KV) reconcile(ctx context.Context) error {
	trees := map[string]bool{}
	for _, ti := range k.st.Trees() {
		if name, ok := strings.CutPrefix(ti.Name, treePrefix); ok && ti.Name != catalogue {
			trees[name] = true
		}
	}
	v, err := k.st.View(catalogue)
	if err != nil {
		return err
	}
	it, err := v.Iter(catalogue)
	if err != nil {
		v.Close()
		return err
	}
	b := store.NewBatch()
	var vals []pool.Value
	for ok := it.First(); ok; ok = it.Next() {
		name := string(it.Key())
		if !trees[name] {
			b.Delete(catalogue, it.Key())
			m, err := k.markerValue(name, time.Time{}, true)
			if err != nil {
				v.Close()
				return err
			}
			vals = append(vals, m...)
		} else if m, err := k.missingMarker(name, it.Value()); err != nil {
			v.Close()
			return err
		} else {
			vals = append(vals, m...)
		}
		delete(trees, name)
	}
	err = it.Err()
	v.Close()
	if err != nil {
		return err
	}
	for name := range trees {
		created := time.Now()
		b.Put(catalogue, []byte(name), encodeRecord(created))
		m, err := k.markerValue(name, created, false)
		if err != nil {
			return err
		}
		vals = append(vals, m...)
	}
	if b.Len() > 0 || len(vals) > 0 {
		if err := k.commit(ctx, b, vals); err != nil {
			return err
		}
	}
	return nil
}

// missingMarker is the marker value of an index whose marker is not in
// the log: an index created before the indexes were logged gets one at
// its first Open since, so that a rebuild from the logs knows it.
func (k *KV) missingMarker(name string, record []byte) ([]pool.Value, error) {
	if k.opts.Log == nil {
		return nil, nil
	}
	if _, err := k.opts.Log.Stat(MarkerOwner(name)); !errors.Is(err, pool.ErrNotFound) {
		return nil, err // there (nil), or an error to report
	}
	created, err := decodeRecord(record)
	if err != nil {
		return nil, fmt.Errorf("index %q: %w", name, err)
	}
	return k.markerValue(name, created, false)
}
