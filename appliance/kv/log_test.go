package kv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/pool"
)

// recordingLog commits what kv hands it into the store, as a pool does
// (the pool's own tests prove PutValues' durability; the server's and the
// beck's tests run kv on real pools), and records the values, so that
// these tests can check what kv logs.
type recordingLog struct {
	st     *store.Store
	mu     sync.Mutex
	vals   []pool.Value
	fail   error
	forgot [][]byte
	gc     [][]byte
}

func (l *recordingLog) PutValues(ctx context.Context, vals []pool.Value, with *store.Batch) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	if _, err := l.st.Commit(ctx, with); err != nil {
		return err
	}
	l.vals = append(l.vals, vals...)
	return nil
}

func (l *recordingLog) CollectTombstones(ctx context.Context, prefix []byte, before uint64) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gc = append(l.gc, bytes.Clone(prefix))
	return 0, nil
}

func (l *recordingLog) ForgetPrefix(ctx context.Context, prefix []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgot = append(l.forgot, bytes.Clone(prefix))
	return 0, nil
}

func (l *recordingLog) Stat(owner []byte) (pool.Info, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.vals) - 1; i >= 0; i-- {
		if v := l.vals[i]; bytes.Equal(v.Owner, owner) {
			if v.Delete {
				break
			}
			return pool.Info{Version: v.Version, Size: int64(len(v.Bytes))}, nil
		}
	}
	return pool.Info{}, fmt.Errorf("%q: %w", owner, pool.ErrNotFound)
}

func (l *recordingLog) take() []pool.Value {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := l.vals
	l.vals = nil
	return v
}

// Every applied write is logged under its index's incarnation, with its
// version, in the same commit; superseded ones are not; creating and
// dropping an index log its marker; a log that fails fails the write and
// changes nothing.
func TestLogged(t *testing.T) {
	n := newNode(t, "n", 1)
	log := &recordingLog{st: n.st}
	n.opts.Log = log
	n.openKV()
	k := n.kv
	mustCreate(t, k, "idx")
	created := log.take()
	if len(created) != 1 || string(created[0].Owner) != "k/idx" || created[0].Delete {
		t.Fatalf("create logged %+v", created)
	}
	inc, err := DecodeMarker(created[0].Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := k.Batch(ctx, "idx", []Op{
		{Key: []byte("a"), Value: []byte("1"), Version: 10},
		{Key: []byte("b"), Delete: true, Version: 11},
		{Key: []byte("a"), Value: []byte("old"), Version: 5}, // superseded
	})
	if err != nil || !rs[2].Superseded {
		t.Fatalf("batch: %+v %v", rs, err)
	}
	got := log.take()
	want := []pool.Value{
		{Owner: KeyOwner("idx", inc, []byte("a")), Version: 10, Bytes: []byte("1")},
		{Owner: KeyOwner("idx", inc, []byte("b")), Version: 11, Delete: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("logged %+v\nwant %+v", got, want)
	}
	name, gotInc, key, marker, ok := ParseOwner(got[0].Owner)
	if !ok || marker || name != "idx" || gotInc != inc || string(key) != "a" {
		t.Fatalf("ParseOwner(%q) = %q %d %q %v %v", got[0].Owner, name, gotInc, key, marker, ok)
	}
	for _, o := range []string{"o/bucket/key", "k/", "k/BAD/x", "k/idx/short"} {
		if _, _, _, _, ok := ParseOwner([]byte(o)); ok {
			t.Errorf("ParseOwner(%q) took it", o)
		}
	}

	// A failing log fails the write, which changes nothing.
	log.fail = pool.ErrNoSpace
	if _, err := k.Put(ctx, "idx", []byte("a"), []byte("2"), 20); !errors.Is(err, pool.ErrNoSpace) {
		t.Fatalf("put with a full log: %v", err)
	}
	if e, err := k.Get("idx", []byte("a")); err != nil || string(e.Value) != "1" {
		t.Fatalf("after the failed put: %+v %v", e, err)
	}
	log.fail = nil

	// Tombstones are collected from the log with the index's.
	n.wall.Add(time.Hour)
	if _, err := k.CollectTombstones(ctx, time.Minute, n.wall.Now()); err != nil {
		t.Fatal(err)
	}
	if len(log.gc) != 1 || !bytes.Equal(log.gc[0], KeysPrefix("idx", inc)) {
		t.Fatalf("tombstones collected from the log under %q", log.gc)
	}

	if err := k.Drop(ctx, "idx"); err != nil {
		t.Fatal(err)
	}
	dropped := log.take()
	if len(dropped) != 1 || string(dropped[0].Owner) != "k/idx" || !dropped[0].Delete || dropped[0].Version <= created[0].Version {
		t.Fatalf("drop logged %+v", dropped)
	}
	if len(log.forgot) != 1 || !bytes.Equal(log.forgot[0], KeysPrefix("idx", inc)) {
		t.Fatalf("drop forgot %q", log.forgot)
	}
}

// Restore builds an index from keys found in the log, with the log's
// incarnation, so that the next writes log under the same owners.
func TestRestore(t *testing.T) {
	n := newNode(t, "n", 1)
	inc := uint64(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano())
	v := uint64(hlc.Make(epoch, 1))
	keys := []RestoredKey{{Key: []byte("a"), Version: v, Value: []byte("1")}, {Key: []byte("b"), Version: v + 1, Tomb: true}}
	if err := Restore(ctx, n.st, "idx", inc, keys); err != nil {
		t.Fatal(err)
	}
	log := &recordingLog{st: n.st}
	n.opts.Log = log
	n.openKV()
	if e, err := n.kv.Get("idx", []byte("a")); err != nil || string(e.Value) != "1" || e.Version != v {
		t.Fatalf("restored a: %+v %v", e, err)
	}
	if _, err := n.kv.Get("idx", []byte("b")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restored tombstone: %v", err)
	}
	if _, err := n.kv.Put(ctx, "idx", []byte("b"), []byte("older"), v); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("the restored tombstone must beat an older put: %v", err)
	}
	if _, err := n.kv.Put(ctx, "idx", []byte("c"), []byte("3"), 0); err != nil {
		t.Fatal(err)
	}
	// The open wrote the marker the recording log lacked, naming the
	// restored incarnation; the put logs under it.
	got := log.take()
	if len(got) != 2 || string(got[0].Owner) != "k/idx" || !bytes.Equal(got[0].Bytes, EncodeMarker(inc)) || !bytes.Equal(got[1].Owner, KeyOwner("idx", inc, []byte("c"))) {
		t.Fatalf("an open and a write after the restore logged %+v", got)
	}
	if err := Restore(ctx, n.st, "idx", inc, []RestoredKey{{Key: []byte("x"), Version: 0}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a key of version 0: %v", err)
	}
}

// An index made before the indexes were logged gets its marker at the
// first Open with a log, and only then.
func TestMarkerForUnloggedIndex(t *testing.T) {
	n := newNode(t, "n", 1)
	mustCreate(t, n.kv, "old") // no log yet
	log := &recordingLog{st: n.st}
	n.opts.Log = log
	n.openKV()
	vals := log.vals
	if len(vals) != 1 || string(vals[0].Owner) != "k/old" || vals[0].Delete {
		t.Fatalf("the first Open with a log wrote %+v", vals)
	}
	inc, err := DecodeMarker(vals[0].Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := n.kv.incarnation("old"); inc != want {
		t.Fatalf("marker names incarnation %d, the catalogue %d", inc, want)
	}
	n.openKV()
	if len(log.vals) != 1 {
		t.Fatalf("a second Open wrote the marker again: %+v", log.vals)
	}
}
