package store

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/io/faultdev"
)

var ctx = context.Background()

func TestCreateCommitReopen(t *testing.T) {
	r := newRig(t, defaultRig())
	s := r.create()
	if err := s.CreateTree(ctx, "objects", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTree(ctx, "objects", ""); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	b := NewBatch()
	b.Put("objects", []byte("a"), []byte("1"))
	b.Put("objects", []byte("b"), []byte("2"))
	commit(t, s, b)
	if v, ok, err := s.Get("objects", []byte("a")); err != nil || !ok || string(v) != "1" {
		t.Fatalf("get a: %q %v %v", v, ok, err)
	}
	if _, _, err := s.Get("nope", []byte("a")); !errors.Is(err, ErrNoTree) {
		t.Fatalf("get from a missing tree: %v", err)
	}
	b = NewBatch()
	b.Put("nope", []byte("a"), nil)
	if _, err := s.Commit(ctx, b); !errors.Is(err, ErrNoTree) {
		t.Fatalf("commit to a missing tree: %v", err)
	}
	mustCheck(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = r.mustReopen()
	defer s.Close()
	same(t, s, model{"objects": {"a": "1", "b": "2"}})
	if st := s.Stats(); st.Journal.NextLSN-1 != st.CheckpointLSN {
		t.Fatalf("a clean close left journal records after the checkpoint: %+v", st)
	}
	mustCheck(t, s)
}

func TestBadInput(t *testing.T) {
	r := newRig(t, defaultRig())
	s := r.create()
	defer s.Close()
	for _, name := range []string{"", strings.Repeat("x", MaxName+1)} {
		if err := s.CreateTree(ctx, name, ""); !errors.Is(err, ErrBadName) {
			t.Errorf("create %q: %v", name, err)
		}
	}
	if err := s.CreateTree(ctx, "t", "no-such-order"); !errors.Is(err, ErrBadName) {
		t.Errorf("unknown comparator: %v", err)
	}
	if err := s.CreateTree(ctx, "t", ""); err != nil {
		t.Fatal(err)
	}
	b := NewBatch()
	b.Put("t", bytes.Repeat([]byte("k"), btree.MaxKey+1), nil)
	if _, err := s.Commit(ctx, b); !errors.Is(err, btree.ErrKeyTooLarge) {
		t.Errorf("long key: %v", err)
	}
	b = NewBatch()
	b.Put("t", []byte("k"), make([]byte, btree.MaxValue+1))
	if _, err := s.Commit(ctx, b); !errors.Is(err, btree.ErrValueTooLarge) {
		t.Errorf("long value: %v", err)
	}
	b = NewBatch()
	b.Delete("t", nil)
	if _, err := s.Commit(ctx, b); !errors.Is(err, btree.ErrEmptyKey) {
		t.Errorf("empty key: %v", err)
	}
	if err := s.DropTree(ctx, "missing"); !errors.Is(err, ErrNoTree) {
		t.Errorf("drop missing: %v", err)
	}
	// Nothing of the above reached the trees.
	same(t, s, model{"t": {}})
	mustCheck(t, s)
}

// Without a checkpoint, a crash leaves everything in the journal: the
// replay rebuilds it.
func TestReplayAfterPowerCut(t *testing.T) {
	for _, mode := range []faultdev.CutMode{faultdev.CutDrop, faultdev.CutTear} {
		r := newRig(t, defaultRig())
		s := r.create()
		m := model{"a": {}, "b": {}}
		for name := range m {
			if err := s.CreateTree(ctx, name, ""); err != nil {
				t.Fatal(err)
			}
		}
		w := &workload{rng: rand.New(rand.NewPCG(1, 2)), trees: []string{"a", "b"}, keys: 500}
		for i := range 200 {
			commit(t, s, w.batch(m, 1+i%20))
			if i == 100 {
				if err := s.Checkpoint(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.DropTree(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		delete(m, "b")
		if err := s.CreateTree(ctx, "b", ""); err != nil {
			t.Fatal(err)
		}
		m["b"] = map[string]string{}
		commit(t, s, w.batch(m, 30))
		r.powerCut(mode)
		s.Close() // fails: the drives are off
		s = r.mustReopen()
		same(t, s, m)
		mustCheck(t, s)
		if err := s.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		mustCheck(t, s)
		s.Close()
		s = r.mustReopen()
		same(t, s, m)
		s.Close()
	}
}

// Comparators order trees and are checked on reopen.
func TestComparator(t *testing.T) {
	r := newRig(t, defaultRig())
	rev := func(a, b []byte) int { return bytes.Compare(b, a) }
	r.tune = func(o *Options) { o.Comparators = map[string]btree.Compare{"reverse": rev} }
	s := r.create()
	if err := s.CreateTree(ctx, "r", "reverse"); err != nil {
		t.Fatal(err)
	}
	b := NewBatch()
	for _, k := range []string{"b", "a", "c"} {
		b.Put("r", []byte(k), nil)
	}
	commit(t, s, b)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = r.mustReopen()
	v, _ := s.View("r")
	it, _ := v.Iter("r")
	var got []string
	for ok := it.First(); ok; ok = it.Next() {
		got = append(got, string(it.Key()))
	}
	v.Close()
	if strings.Join(got, "") != "cba" {
		t.Fatalf("reverse order: %q", got)
	}
	mustCheck(t, s)
	s.Close()
	r.tune = nil // a binary that does not know the order
	if _, err := r.reopen(); !errors.Is(err, ErrBadName) {
		t.Fatalf("open with an unknown comparator: %v", err)
	}
}

func TestOpenWithoutCheckpoint(t *testing.T) {
	r := newRig(t, defaultRig())
	if _, err := Open(r.options()); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("open of a store never created: %v", err)
	}
}
