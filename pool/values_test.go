package pool

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/wal"
)

// PutValues commits values, tombstones and the caller's own changes
// together; the caller's versions replace whatever the owner had; bad
// input commits nothing; and when a value's records cannot be made durable
// nothing of the request is committed, the caller's changes included.
func TestPutValues(t *testing.T) {
	r := newRig(t, rigConfig{drives: 8})
	const side = "test/side"
	if err := r.st.CreateTree(ctx, side, ""); err != nil {
		t.Fatal(err)
	}
	sideHas := func(key string) bool {
		t.Helper()
		_, ok, err := r.st.Get(side, []byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	with := func(key string) *store.Batch {
		b := store.NewBatch()
		b.Put(side, []byte(key), []byte("1"))
		return b
	}
	big := bytes.Repeat([]byte("v"), int(r.p.sb)+100) // crosses a stripe
	err := r.p.PutValues(ctx, []Value{
		{Owner: []byte("k/i/a"), Version: 5, Bytes: []byte("alpha")},
		{Owner: []byte("k/i/b"), Version: 3, Delete: true},
		{Owner: []byte("k/i/big"), Version: 7, Bytes: big},
		{Owner: []byte("k/i/empty"), Version: 8},
	}, with("first"))
	if err != nil {
		t.Fatal(err)
	}
	r.mustGet("k/i/a", 5, []byte("alpha"))
	r.mustGet("k/i/big", 7, big)
	r.mustGet("k/i/empty", 8, []byte{})
	if info, err := r.p.Stat([]byte("k/i/b")); !errors.Is(err, ErrNotFound) || info.Version != 3 {
		t.Fatalf("the tombstone: %+v %v", info, err)
	}
	if !sideHas("first") {
		t.Fatal("the caller's change was not committed")
	}
	// The caller's versions win whatever they are: older over newer, a
	// put over a tombstone of a newer version.
	if err := r.p.PutValues(ctx, []Value{
		{Owner: []byte("k/i/a"), Version: 2, Bytes: []byte("older")},
		{Owner: []byte("k/i/b"), Version: 1, Bytes: []byte("back")},
		{Owner: []byte("k/i/big"), Version: 9, Delete: true},
	}, nil); err != nil {
		t.Fatal(err)
	}
	r.mustGet("k/i/a", 2, []byte("older"))
	r.mustGet("k/i/b", 1, []byte("back"))
	if _, err := r.p.Stat([]byte("k/i/big")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("big after its delete: %v", err)
	}
	r.check() // live bytes follow the forced replacements
	r.reopen()
	r.mustGet("k/i/a", 2, []byte("older"))
	r.check()

	for _, c := range []struct {
		vals []Value
		want string
	}{
		{[]Value{{Owner: []byte("k/i/a"), Version: 0, Bytes: []byte("x")}}, "version 0"},
		{[]Value{{Owner: []byte("k/i/a"), Version: 10}, {Owner: []byte("k/i/b"), Version: 11, Delete: true, Bytes: []byte("x")}}, "a delete with bytes"},
		{[]Value{{Owner: nil, Version: 10}}, "owner of 0 bytes"},
	} {
		err := r.p.PutValues(ctx, c.vals, with("bad"))
		if !errors.Is(err, ErrInvalid) || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%+v: %v, want ErrInvalid saying %q", c.vals, err, c.want)
		}
	}
	if sideHas("bad") {
		t.Fatal("a refused request committed the caller's change")
	}
	r.mustGet("k/i/a", 2, []byte("older"))

	// Too large for one metadata transaction: refused before anything is
	// written. Requests that each fit but together would not are
	// committed in groups that fit.
	limit := r.st.MaxCommit()
	huge := store.NewBatch()
	for i := 0; huge.Size() <= limit; i++ {
		huge.Put(side, fmt.Appendf(nil, "huge-%d", i), make([]byte, 4000))
	}
	err = r.p.PutValues(ctx, []Value{{Owner: []byte("k/i/h"), Version: 1, Bytes: []byte("h")}}, huge)
	if !errors.Is(err, wal.ErrTooLarge) {
		t.Fatalf("a request larger than a transaction: %v", err)
	}
	if sideHas("huge-0") {
		t.Fatal("a refused request committed the caller's change")
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for w := range 8 {
		wg.Go(func() {
			part := store.NewBatch()
			for i := 0; part.Size() < limit/3; i++ {
				part.Put(side, fmt.Appendf(nil, "part-%d-%d", w, i), make([]byte, 4000))
			}
			errs[w] = r.p.PutValues(ctx, []Value{{Owner: fmt.Appendf(nil, "k/i/part-%d", w), Version: 1, Bytes: []byte("p")}}, part)
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil || !sideHas(fmt.Sprintf("part-%d-0", w)) {
			t.Fatalf("request %d of a third of a transaction each: %v", w, err)
		}
	}

	// The drives that are not metadata mirrors fail their cache flushes:
	// the records are appended, but a 4+2 stream with three or more
	// members among them cannot be made durable. Nothing of the request
	// commits: neither value nor the caller's change.
	if err := r.p.PutValues(ctx, []Value{{Owner: []byte("k/i/d"), Version: 1, Bytes: []byte("d")}}, nil); err != nil {
		t.Fatal(err) // an open set with room, so that the next request needs no new one
	}
	for i := 3; i < 8; i++ {
		r.devs[i].FailRange(faultdev.OpFlush, 0, r.devs[i].Geometry().Size)
	}
	err = r.p.PutValues(ctx, []Value{
		{Owner: []byte("k/i/a"), Version: 20, Bytes: []byte("lost")},
		{Owner: []byte("k/i/c"), Version: 21, Delete: true},
	}, with("failed"))
	if err == nil {
		t.Fatal("a request whose records could not be flushed succeeded")
	}
	t.Logf("the failed request: %v", err)
	if sideHas("failed") {
		t.Fatal("the caller's change was committed without its values")
	}
	if info, err := r.p.Stat([]byte("k/i/a")); err != nil || info.Version != 2 {
		t.Fatalf("k/i/a after the failed request: %+v %v", info, err)
	}
	if _, err := r.p.Stat([]byte("k/i/c")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("k/i/c after the failed request: %v", err)
	}
}

// ForgetPrefix removes every owner under a prefix whatever its state, and
// nothing else; the live bytes follow.
func TestForgetPrefix(t *testing.T) {
	r := newRig(t, rigConfig{})
	var vals []Value
	for i := range 600 { // more than one batch
		vals = append(vals, Value{Owner: fmt.Appendf(nil, "k/gone/%04d", i), Version: 1, Bytes: []byte("x"), Delete: i%7 == 0})
		if i%7 == 0 {
			vals[len(vals)-1].Bytes = nil
		}
	}
	vals = append(vals, Value{Owner: []byte("k/gone"), Version: 1, Bytes: []byte("marker")}, Value{Owner: []byte("k/kept/1"), Version: 1, Bytes: []byte("y")})
	if err := r.p.PutValues(ctx, vals, nil); err != nil {
		t.Fatal(err)
	}
	n, err := r.p.ForgetPrefix(ctx, []byte("k/gone/"))
	if err != nil || n != 600 {
		t.Fatalf("forgot %d owners (%v), want 600", n, err)
	}
	if _, err := r.p.Stat([]byte("k/gone/0001")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a forgotten owner: %v", err)
	}
	r.mustGet("k/gone", 1, []byte("marker"))
	r.mustGet("k/kept/1", 1, []byte("y"))
	r.check()
	if _, err := r.p.ForgetPrefix(ctx, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an empty prefix: %v", err)
	}
}
