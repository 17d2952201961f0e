package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/superblock"
)

// rig is a node's metadata mirrors on fault-injecting in-memory drives.
type rig struct {
	t      testing.TB
	faults []*faultdev.Device
	labels []*superblock.Log
	tune   func(*Options)

	evMu   sync.Mutex
	events []Event
}

type rigConfig struct {
	mirrors  int
	segSize  int64
	metaSegs uint32
	ringSegs uint32
	seed     uint64
}

func defaultRig() rigConfig {
	return rigConfig{mirrors: 3, segSize: 1 << 20, metaSegs: 16, ringSegs: 4, seed: 1}
}

func newRig(t testing.TB, c rigConfig) *rig {
	t.Helper()
	r := &rig{t: t}
	node := uuid.New()
	size := 2<<20 + int64(c.metaSegs+c.ringSegs)*c.segSize
	for i := range c.mirrors {
		fd := faultdev.New(memdev.New(fmt.Sprintf("meta%d", i), size, 4096), c.seed*31+uint64(i))
		l := superblock.Label{Node: node, Drive: uuid.New(), Position: uint32(i), NodeDrives: uint32(c.mirrors), Created: time.Now(), Layout: superblock.Layout{SegmentSize: c.segSize}}
		l, err := superblock.Plan(fd, l)
		if err != nil {
			t.Fatal(err)
		}
		l.Meta = superblock.Meta{RingFirst: 0, RingCount: c.ringSegs, SegFirst: c.ringSegs, SegCount: c.metaSegs}
		lg, err := superblock.Format(fd, l)
		if err != nil {
			t.Fatal(err)
		}
		r.faults, r.labels = append(r.faults, fd), append(r.labels, lg)
	}
	return r
}

func (r *rig) options() Options {
	o := Options{
		CheckpointInterval: -1, // tests checkpoint when they say so
		CheckpointBytes:    1 << 40,
		CacheBytes:         4 << 20,
		Events: func(e Event) {
			r.evMu.Lock()
			r.events = append(r.events, e)
			r.evMu.Unlock()
		},
	}
	for i, fd := range r.faults {
		o.Mirrors = append(o.Mirrors, Mirror{Name: fmt.Sprintf("meta%d", i), Dev: fd, Label: r.labels[i]})
	}
	if r.tune != nil {
		r.tune(&o)
	}
	return o
}

func (r *rig) create() *Store {
	r.t.Helper()
	s, err := Create(r.options())
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// reopen powers the drives back on, rereads the labels and opens the store.
func (r *rig) reopen() (*Store, error) {
	for i, fd := range r.faults {
		fd.Restart()
		lg, err := superblock.Open(fd)
		if err != nil {
			return nil, fmt.Errorf("label of mirror %d: %w", i, err)
		}
		r.labels[i] = lg
	}
	return Open(r.options())
}

func (r *rig) mustReopen() *Store {
	r.t.Helper()
	s, err := r.reopen()
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// powerCut cuts every mirror at once (they share the node's power).
func (r *rig) powerCut(mode faultdev.CutMode) {
	for _, fd := range r.faults {
		if err := fd.PowerCut(mode); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *rig) eventsOf(kind string) []Event {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// model is what the trees must hold.
type model map[string]map[string]string

func (m model) clone() model {
	c := make(model, len(m))
	for t, kv := range m {
		c[t] = make(map[string]string, len(kv))
		for k, v := range kv {
			c[t][k] = v
		}
	}
	return c
}

// same compares the store with the model, tree by tree, through a view:
// every key both ways, and the trees' names.
func same(t testing.TB, s *Store, m model) {
	t.Helper()
	if err := sameErr(s, m); err != nil {
		t.Fatal(err)
	}
}

func sameErr(s *Store, m model) error {
	var names []string
	for _, ti := range s.Trees() {
		names = append(names, ti.Name)
	}
	var want []string
	for n := range m {
		want = append(want, n)
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		return fmt.Errorf("trees %q, want %q", names, want)
	}
	v, err := s.View()
	if err != nil {
		return err
	}
	defer v.Close()
	for name, kv := range m {
		it, err := v.Iter(name)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(kv))
		for k := range kv {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		i := 0
		for ok := it.First(); ok; ok = it.Next() {
			if i >= len(keys) || string(it.Key()) != keys[i] || string(it.Value()) != kv[keys[i]] {
				return fmt.Errorf("tree %q entry %d: %q=%q, want %q", name, i, it.Key(), short(it.Value()), at(keys, i))
			}
			i++
		}
		if it.Err() != nil {
			return fmt.Errorf("tree %q: %w", name, it.Err())
		}
		if i != len(keys) {
			return fmt.Errorf("tree %q: %d entries, want %d", name, i, len(keys))
		}
	}
	return nil
}

func at(keys []string, i int) string {
	if i < len(keys) {
		return keys[i]
	}
	return "(end)"
}

func short(b []byte) string {
	if len(b) > 20 {
		return string(b[:20]) + "…"
	}
	return string(b)
}

func mustCheck(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// workload makes random batches against a model.
type workload struct {
	rng   *rand.Rand
	trees []string
	keys  int // key space per tree
}

func (w *workload) key() []byte { return fmt.Appendf(nil, "key-%06d", w.rng.IntN(w.keys)) }

func (w *workload) value() []byte {
	n := w.rng.IntN(200)
	if w.rng.IntN(20) == 0 {
		n = 1000 + w.rng.IntN(3000)
	}
	return bytes.Repeat([]byte{byte('a' + w.rng.IntN(26))}, n)
}

// batch returns a random batch and applies it to m.
func (w *workload) batch(m model, n int) *Batch {
	b := NewBatch()
	for range n {
		tree := w.trees[w.rng.IntN(len(w.trees))]
		if m[tree] == nil {
			continue
		}
		k := w.key()
		if w.rng.IntN(4) == 0 {
			b.Delete(tree, k)
			delete(m[tree], string(k))
		} else {
			v := w.value()
			b.Put(tree, k, v)
			m[tree][string(k)] = string(v)
		}
	}
	return b
}

func commit(t testing.TB, s *Store, b *Batch) {
	t.Helper()
	if _, err := s.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
