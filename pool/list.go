package pool

import (
	"bytes"
	"context"
	"fmt"
)

// Entry is one owner a listing found.
type Entry struct {
	Owner []byte
	Info
}

// List calls fn, in owner order, for every owner with content whose name
// starts with prefix and is at or after from (the later of the two is where
// it starts), until fn returns false or an error. Deleted owners are skipped.
// It reads one consistent view of the index: writes committed while it runs
// are not in it. The entries belong to fn.
func (p *Pool) List(ctx context.Context, prefix, from []byte, fn func(Entry) (bool, error)) error {
	if p.isClosed() {
		return ErrClosed
	}
	view, err := p.st.View(p.heads)
	if err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	defer view.Close()
	it, err := view.Iter(p.heads)
	if err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	start := prefix
	if bytes.Compare(from, start) > 0 {
		start = from
	}
	for ok := it.Seek(start); ok && bytes.HasPrefix(it.Key(), prefix); ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := decodeHead(it.Value())
		if err != nil {
			return fmt.Errorf("list: head of %q: %w", it.Key(), err)
		}
		if h.state != stateData {
			continue
		}
		e := Entry{Owner: bytes.Clone(it.Key()), Info: Info{Version: h.version, Size: h.size, Attrs: bytes.Clone(h.attrs)}}
		more, err := fn(e)
		if err != nil || !more {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	return nil
}
