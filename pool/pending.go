package pool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// writePending writes the records of pending tombstones (deletes committed
// while the pool had no data space) and points their heads at them. It
// stops at the first lack of space; what is left waits for the next call.
// It returns how many it wrote.
func (p *Pool) writePending(ctx context.Context) (int, error) {
	type pend struct {
		owner   []byte
		version uint64
	}
	var todo []pend
	view, err := p.st.View(p.pending)
	if err != nil {
		return 0, err
	}
	it, err := view.Iter(p.pending)
	if err != nil {
		view.Close()
		return 0, err
	}
	for ok := it.First(); ok && len(todo) < 4096; ok = it.Next() {
		if len(it.Value()) != 8 {
			view.Close()
			return 0, fmt.Errorf("%w: pending tombstone of %q: %d-byte value", ErrCorrupt, it.Key(), len(it.Value()))
		}
		todo = append(todo, pend{append([]byte(nil), it.Key()...), binary.BigEndian.Uint64(it.Value())})
	}
	err = it.Err()
	view.Close()
	if err != nil || len(todo) == 0 {
		return 0, err
	}
	var ops []op
	for _, t := range todo {
		exts, err := p.appendRecords(ctx, false, 0, kindTombstone, t.owner, t.version, 0, nil, nil)
		if errors.Is(err, ErrNoSpace) {
			break
		}
		if err != nil {
			for _, o := range ops {
				o.exts[0].s.pending.Add(-1)
			}
			return 0, err
		}
		ops = append(ops, op{kind: opTombWritten, owner: t.owner, version: t.version, exts: exts})
	}
	if len(ops) == 0 {
		return 0, nil
	}
	res, err := p.submit(ctx, ops...)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range res {
		switch {
		case e == nil:
			n++
		case errors.Is(e, errMoved):
		default:
			return n, e
		}
	}
	return n, nil
}
