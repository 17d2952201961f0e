package kv

import (
	"bytes"
	"fmt"

	"github.com/plinth-storage/plinth/btree"
)

// RangeOptions selects the keys of a Range.
type RangeOptions struct {
	// From is where to start, inclusive (the upper end with Reverse).
	From []byte
	// Prefix restricts the range to keys that start with it.
	Prefix []byte
	// Limit bounds the entries returned (default DefaultLimit, at most
	// MaxLimit).
	Limit int
	// Reverse walks down from From (or the last key of Prefix).
	Reverse bool
}

// scanBudget bounds the tree entries one Range call looks at, tombstones
// included, so that a range over many tombstones stays bounded: the call
// then returns what it found (maybe nothing) and a next key to go on from.
const scanBudget = 4 * MaxLimit

// Range returns the live entries of an index in key order (descending with
// Reverse), read from one consistent view, and the key to continue from
// (From of the next call), nil when the range is done. Tombstones are never
// returned; a call that passes many of them may return fewer than Limit
// entries (even none) with a next key.
func (k *KV) Range(index string, o RangeOptions) ([]Entry, []byte, error) {
	es, next, err := k.scan(index, o, false)
	if err != nil {
		return nil, nil, fmt.Errorf("kv range: %w", err)
	}
	return es, next, nil
}

// Tombstones is Range for the tombstones of an index: each Entry has the
// key and the version of its delete, and no value. It is for tests, the
// console and support staff.
func (k *KV) Tombstones(index string, o RangeOptions) ([]Entry, []byte, error) {
	es, next, err := k.scan(index, o, true)
	if err != nil {
		return nil, nil, fmt.Errorf("kv tombstones: %w", err)
	}
	return es, next, nil
}

func (k *KV) scan(index string, o RangeOptions, tombs bool) ([]Entry, []byte, error) {
	if err := checkName(index); err != nil {
		return nil, nil, err
	}
	limit := o.Limit
	switch {
	case limit < 0:
		return nil, nil, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	v, err := k.st.View(treeName(index))
	if err != nil {
		return nil, nil, mapStoreErr(index, err)
	}
	defer v.Close()
	it, err := v.Iter(treeName(index))
	if err != nil {
		return nil, nil, mapStoreErr(index, err)
	}
	ok := k.position(it, o)
	step := it.Next
	if o.Reverse {
		step = it.Prev
	}
	var out []Entry
	for budget := scanBudget; ok; ok = step() {
		key := it.Key()
		if !bytes.HasPrefix(key, o.Prefix) {
			break
		}
		if budget == 0 {
			return out, clone(key), nil
		}
		budget--
		s, err := decodeState(it.Value())
		if err != nil {
			return nil, nil, fmt.Errorf("%s/%q: %w", index, key, err)
		}
		if s.tomb != tombs {
			continue
		}
		if len(out) == limit {
			// The next entry to return: so next is nil when none is left.
			return out, clone(key), nil
		}
		e := Entry{Key: clone(key), Version: s.version}
		if !tombs {
			e.Value = clone(s.value)
		}
		out = append(out, e)
	}
	if err := it.Err(); err != nil {
		return nil, nil, err
	}
	return out, nil, nil
}

// position puts the iterator on the first key of the range.
func (k *KV) position(it *btree.Iter, o RangeOptions) bool {
	if !o.Reverse {
		start := o.From
		if bytes.Compare(o.Prefix, start) > 0 {
			start = o.Prefix
		}
		if len(start) == 0 {
			return it.First()
		}
		return it.Seek(start)
	}
	// Reverse: the upper end is min(From, the last key with Prefix).
	if end := prefixEnd(o.Prefix); end != nil && (len(o.From) == 0 || bytes.Compare(o.From, end) >= 0) {
		return it.SeekLT(end)
	}
	if len(o.From) == 0 {
		return it.Last()
	}
	return it.SeekLE(o.From)
}

// prefixEnd returns the smallest key above every key with prefix p, nil
// when there is none (p empty or all 0xff).
func prefixEnd(p []byte) []byte {
	end := clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
