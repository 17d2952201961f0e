package beck

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/plinth-storage/plinth/appliance/kv"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// runKV runs fn on the node's key-value indexes, logged in the first
// pool as the node logs them.
func (n *testNode) runKV(fn func(k *kv.KV)) {
	n.t.Helper()
	n.runNode(pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}, func(st *store.Store, _ *objects.Store, pools []*pool.Pool) {
		k, err := kv.Open(ctx, st, kv.Options{Clock: hlc.New(0, hlc.Options{}), Log: pools[0]})
		if err != nil {
			n.t.Fatal(err)
		}
		fn(k)
	})
}

// Every metadata copy wiped: the key-value indexes come back from the
// data log with every live value and every tombstone (which still beats
// an older write); a dropped index stays dropped, one dropped and created
// again has only its new keys, an empty one is there; and the restored
// indexes go on logging under the same owners, so a second wipe and
// rebuild gives them back again.
func TestRebuildKeyValueIndexes(t *testing.T) {
	n := newNode(t)
	model := map[string]string{}
	deleted := map[string]uint64{}
	n.runKV(func(k *kv.KV) {
		for _, name := range []string{"users", "gone", "again", "empty"} {
			if err := k.Create(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
		var ops []kv.Op
		for i := range 300 {
			key := fmt.Sprintf("user-%03d", i)
			ops = append(ops, kv.Op{Key: []byte(key), Value: []byte(fmt.Sprintf("v1 of %s", key))})
			model[key] = fmt.Sprintf("v1 of %s", key)
		}
		if _, err := k.Batch(ctx, "users", ops); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 300; i += 3 {
			key := fmt.Sprintf("user-%03d", i)
			v, err := k.Delete(ctx, "users", []byte(key), 0)
			if err != nil {
				t.Fatal(err)
			}
			delete(model, key)
			deleted[key] = v
		}
		for i := 1; i < 300; i += 7 {
			key := fmt.Sprintf("user-%03d", i)
			if _, err := k.Put(ctx, "users", []byte(key), []byte("v2"), 0); err != nil {
				t.Fatal(err)
			}
			model[key] = "v2"
			delete(deleted, key) // put again after its delete
		}
		for _, c := range []struct{ index, key string }{{"gone", "g"}, {"again", "x"}} {
			if _, err := k.Put(ctx, c.index, []byte(c.key), []byte("old"), 0); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{"gone", "again"} {
			if err := k.Drop(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
		if err := k.Create(ctx, "again"); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Put(ctx, "again", []byte("y"), []byte("new"), 0); err != nil {
			t.Fatal(err)
		}
	})
	check := func(round int) {
		t.Helper()
		n.runKV(func(k *kv.KV) {
			infos, err := k.List()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, i := range infos {
				names = append(names, i.Name)
			}
			if !slices.Equal(names, []string{"again", "empty", "users"}) {
				t.Fatalf("round %d: indexes %v", round, names)
			}
			for key, want := range model {
				e, err := k.Get("users", []byte(key))
				if err != nil || string(e.Value) != want {
					t.Fatalf("round %d: users/%s = %q (%v), want %q", round, key, e.Value, err, want)
				}
			}
			for key, v := range deleted {
				if _, err := k.Get("users", []byte(key)); !errors.Is(err, kv.ErrNotFound) {
					t.Fatalf("round %d: deleted users/%s: %v", round, key, err)
				}
				if _, err := k.Put(ctx, "users", []byte(key), []byte("late"), v-1); !errors.Is(err, kv.ErrSuperseded) {
					t.Fatalf("round %d: a put older than the restored tombstone of %s: %v", round, key, err)
				}
			}
			if _, err := k.Get("again", []byte("x")); !errors.Is(err, kv.ErrNotFound) {
				t.Fatalf("round %d: a key of the dropped incarnation came back: %v", round, err)
			}
			if e, err := k.Get("again", []byte("y")); err != nil || string(e.Value) != "new" {
				t.Fatalf("round %d: again/y: %v", round, err)
			}
		})
	}
	for round := 1; round <= 2; round++ {
		n.wipeMetadata()
		r, err := n.rebuild(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.ExitCode != fsck.ExitCorrected || len(r.Lost) != 0 || r.KV.Indexes != 3 || r.KV.Keys != 301+round-1 {
			t.Fatalf("round %d: report %+v", round, r)
		}
		check(round)
		if round == 1 {
			// Writes after the rebuild are logged under the restored
			// incarnation: the next rebuild has them.
			n.runKV(func(k *kv.KV) {
				if _, err := k.Put(ctx, "users", []byte("after"), []byte("rebuild"), 0); err != nil {
					t.Fatal(err)
				}
			})
			model["after"] = "rebuild"
		}
	}
	if errs := n.check(); len(errs) != 0 {
		t.Fatalf("fsck after the rebuild: %+v", errs)
	}
}
