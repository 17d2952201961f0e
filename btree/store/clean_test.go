package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Churn in small segments: superseded nodes free whole segments, which are
// reused; mostly-dead ones are cleaned; accounting stays exact throughout,
// and a view held across many checkpoints keeps reading its state.
func TestChurnFreesCleansAndReuses(t *testing.T) {
	c := defaultRig()
	c.segSize, c.metaSegs = 256<<10, 10
	r := newRig(t, c)
	s := r.create()
	m := model{"t": {}, "u": {}}
	for name := range m {
		if err := s.CreateTree(ctx, name, ""); err != nil {
			t.Fatal(err)
		}
	}
	w := &workload{rng: rand.New(rand.NewPCG(7, 7)), trees: []string{"t", "u"}, keys: 800}
	for range 20 {
		commit(t, s, w.batch(m, 50))
	}
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	// A view pins the space its state reaches.
	held, err := s.View()
	if err != nil {
		t.Fatal(err)
	}
	heldModel := m.clone()
	reused := map[int]bool{}
	gens := make([]uint64, c.metaSegs)
	for i, sg := range s.Stats().Segments {
		gens[i] = sg.Gen
	}
	for round := range 60 {
		for range 5 {
			commit(t, s, w.batch(m, 40))
		}
		if err := s.Checkpoint(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if round%10 == 9 {
			mustCheck(t, s)
		}
		for i, sg := range s.Stats().Segments {
			if sg.Gen != gens[i] && gens[i] != 0 {
				reused[i] = true
			}
			gens[i] = sg.Gen
		}
		if round == 8 {
			if err := viewSame(held, heldModel); err != nil {
				t.Fatalf("a view held across %d checkpoints: %v", round, err)
			}
			held.Close()
		}
	}
	st := s.Stats()
	if len(reused) == 0 {
		t.Fatalf("no metadata segment was reused: %+v", st.Segments)
	}
	if st.Cleaned == 0 {
		t.Fatalf("no metadata segment was cleaned: %+v", st.Segments)
	}
	t.Logf("%d checkpoints, %d segments reused, %d cleaned, %d bytes written", st.Checkpoints, len(reused), st.Cleaned, st.BytesWritten)
	same(t, s, m)
	mustCheck(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = r.mustReopen()
	defer s.Close()
	same(t, s, m)
	mustCheck(t, s)
}

func viewSame(v *View, m model) error {
	for name, kv := range m {
		it, err := v.Iter(name)
		if err != nil {
			return err
		}
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			if want, ok := kv[string(it.Key())]; !ok || want != string(it.Value()) {
				return fmt.Errorf("tree %q key %q: %q", name, it.Key(), short(it.Value()))
			}
			n++
		}
		if it.Err() != nil {
			return it.Err()
		}
		if n != len(kv) {
			return fmt.Errorf("tree %q: %d entries, want %d", name, n, len(kv))
		}
	}
	return nil
}

// When every metadata segment holds live nodes, a checkpoint fails with
// ErrMetadataFull, nothing is lost, and commits go on into the journal.
func TestMetadataFull(t *testing.T) {
	c := defaultRig()
	c.segSize, c.metaSegs = 256<<10, 10
	r := newRig(t, c)
	s := r.create()
	if err := s.CreateTree(ctx, "t", ""); err != nil {
		t.Fatal(err)
	}
	m := model{"t": {}}
	w := &workload{rng: rand.New(rand.NewPCG(3, 3)), trees: []string{"t"}, keys: 1 << 30}
	var full error
	for range 200 {
		commit(t, s, w.batch(m, 50))
		if err := s.Checkpoint(); err != nil {
			full = err
			break
		}
	}
	if full == nil || !errorsIs(full, ErrMetadataFull) {
		t.Fatalf("checkpoint of a tree larger than the metadata segments: %v", full)
	}
	commit(t, s, w.batch(m, 5))
	same(t, s, m)
	mustCheck(t, s)
	r.powerCut(0)
	s.Close()
	s = r.mustReopen()
	defer s.Close()
	same(t, s, m)
}

// Under space pressure the cleaner takes fuller segments: a tree that
// rewrites itself keeps fitting in a space it would fill with garbage at
// the normal threshold.
func TestCleaningUnderSpacePressure(t *testing.T) {
	c := defaultRig()
	c.segSize, c.metaSegs = 256<<10, 10
	r := newRig(t, c)
	s := r.create()
	defer s.Close()
	if err := s.CreateTree(ctx, "t", ""); err != nil {
		t.Fatal(err)
	}
	m := model{"t": {}}
	w := &workload{rng: rand.New(rand.NewPCG(11, 11)), trees: []string{"t"}, keys: 8000}
	for round := range 150 {
		commit(t, s, w.batch(m, 60))
		if err := s.Checkpoint(); err != nil {
			t.Fatalf("round %d: %v (segments %+v)", round, err, s.Stats().Segments)
		}
	}
	same(t, s, m)
	mustCheck(t, s)
}
