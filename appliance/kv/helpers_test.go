package kv

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/internal/simtest"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/superblock"
)

var ctx = context.Background()

// node is a participant: its metadata mirrors on fault-injecting in-memory
// drives (as btree/store's test rig builds them), its store, its clock on a
// fake wall clock, and its KV.
type node struct {
	t      testing.TB
	name   string
	faults []*faultdev.Device
	labels []*superblock.Log
	wall   *simtest.Clock
	clock  *hlc.Clock
	st     *store.Store
	kv     *KV
	opts   Options
}

const (
	mirrors  = 3
	segSize  = 1 << 20
	metaSegs = 16
	ringSegs = 4
)

var epoch = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// newNode formats a node's mirrors and opens its store and KV.
func newNode(t testing.TB, name string, seed uint64) *node {
	t.Helper()
	n := &node{t: t, name: name, wall: simtest.NewClock(epoch)}
	id := uuid.New()
	size := 2<<20 + int64(metaSegs+ringSegs)*segSize
	for i := range mirrors {
		fd := faultdev.New(memdev.New(fmt.Sprintf("%s-meta%d", name, i), size, 4096), seed*31+uint64(i))
		l := superblock.Label{Node: id, Drive: uuid.New(), Position: uint32(i), NodeDrives: mirrors, Created: epoch, Layout: superblock.Layout{SegmentSize: segSize}}
		l, err := superblock.Plan(fd, l)
		if err != nil {
			t.Fatal(err)
		}
		l.Meta = superblock.Meta{RingFirst: 0, RingCount: ringSegs, SegFirst: ringSegs, SegCount: metaSegs}
		lg, err := superblock.Format(fd, l)
		if err != nil {
			t.Fatal(err)
		}
		n.faults, n.labels = append(n.faults, fd), append(n.labels, lg)
	}
	var err error
	if n.st, err = store.Create(n.storeOptions()); err != nil {
		t.Fatal(err)
	}
	n.openKV()
	t.Cleanup(func() {
		if n.st != nil {
			n.st.Close()
		}
	})
	return n
}

func (n *node) storeOptions() store.Options {
	o := store.Options{CheckpointInterval: -1, CacheBytes: 4 << 20}
	for i, fd := range n.faults {
		o.Mirrors = append(o.Mirrors, store.Mirror{Name: fmt.Sprintf("%s-meta%d", n.name, i), Dev: fd, Label: n.labels[i]})
	}
	return o
}

// openKV opens the KV with a new clock (a restarted process: no ceiling
// persisted in these tests).
func (n *node) openKV() {
	n.t.Helper()
	n.clock = hlc.New(0, hlc.Options{Now: n.wall.Now})
	o := n.opts
	o.Clock = n.clock
	var err error
	if n.kv, err = Open(ctx, n.st, o); err != nil {
		n.t.Fatal(err)
	}
}

// powerCut cuts every mirror at once (they share the node's power):
// what no completed flush covered is lost.
func (n *node) powerCut() {
	n.t.Helper()
	for _, fd := range n.faults {
		if err := fd.PowerCut(faultdev.CutDrop); err != nil {
			n.t.Fatal(err)
		}
	}
}

// reboot is a crash and restart: power cut, the old process gone (its store
// closed against dead drives, which changes nothing on them), power back,
// labels reread, store and KV opened again.
func (n *node) reboot() {
	n.t.Helper()
	n.powerCut()
	n.st.Close() // fails: the drives are off
	n.restart()
}

// restart powers the drives on and opens the store and KV again.
func (n *node) restart() {
	n.t.Helper()
	for i, fd := range n.faults {
		fd.ClearFaults()
		fd.Restart()
		lg, err := superblock.Open(fd)
		if err != nil {
			n.t.Fatalf("%s: label of mirror %d: %v", n.name, i, err)
		}
		n.labels[i] = lg
	}
	var err error
	if n.st, err = store.Open(n.storeOptions()); err != nil {
		n.st = nil
		n.t.Fatalf("%s: open store: %v", n.name, err)
	}
	n.openKV()
}

// cleanRestart closes the store cleanly and opens it again.
func (n *node) cleanRestart() {
	n.t.Helper()
	if err := n.st.Close(); err != nil {
		n.t.Fatal(err)
	}
	n.restart()
}

func (n *node) check() {
	n.t.Helper()
	if err := n.st.Check(); err != nil {
		n.t.Fatalf("%s: %v", n.name, err)
	}
}

// all returns the live entries of an index as "key@version=value".
func (n *node) all(index string) []string {
	n.t.Helper()
	return entries(n.t, n.kv.Range, index)
}

// tombs returns the tombstones of an index as "key@version".
func (n *node) tombs(index string) []string {
	n.t.Helper()
	return entries(n.t, n.kv.Tombstones, index)
}

func entries(t testing.TB, f func(string, RangeOptions) ([]Entry, []byte, error), index string) []string {
	t.Helper()
	out := []string{}
	var from []byte
	for {
		es, next, err := f(index, RangeOptions{From: from})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			s := fmt.Sprintf("%s@%d", e.Key, e.Version)
			if e.Value != nil {
				s += "=" + string(e.Value)
			}
			out = append(out, s)
		}
		if next == nil {
			return out
		}
		from = next
	}
}

func mustCreate(t testing.TB, k *KV, index string) {
	t.Helper()
	if err := k.Create(ctx, index); err != nil {
		t.Fatal(err)
	}
}

func mustPut(t testing.TB, k *KV, index, key, value string, v uint64) uint64 {
	t.Helper()
	got, err := k.Put(ctx, index, []byte(key), []byte(value), v)
	if err != nil {
		t.Fatalf("put %s@%d: %v", key, v, err)
	}
	if v != 0 && got != v {
		t.Fatalf("put %s@%d applied version %d", key, v, got)
	}
	return got
}

func mustDelete(t testing.TB, k *KV, index, key string, v uint64) uint64 {
	t.Helper()
	got, err := k.Delete(ctx, index, []byte(key), v)
	if err != nil {
		t.Fatalf("delete %s@%d: %v", key, v, err)
	}
	if v != 0 && got != v {
		t.Fatalf("delete %s@%d applied version %d", key, v, got)
	}
	return got
}

// wantErr fails unless err matches target.
func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// wantEntry checks a key's live value and version.
func wantEntry(t testing.TB, k *KV, index, key, value string, v uint64) {
	t.Helper()
	e, err := k.Get(index, []byte(key))
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if string(e.Key) != key || string(e.Value) != value || e.Version != v {
		t.Fatalf("get %s = %q=%q@%d, want %q@%d", key, e.Key, e.Value, e.Version, value, v)
	}
}
