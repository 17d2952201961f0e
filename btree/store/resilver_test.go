package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/superblock"
)

// spreadStore creates a store of small metadata segments with tree "t"
// filled by spread.
func spreadStore(t *testing.T, seed uint64) (*rig, *Store, model) {
	t.Helper()
	r := newRig(t, smallSegments())
	s := r.create()
	m := model{"t": {}}
	if err := s.CreateTree(ctx, "t", ""); err != nil {
		t.Fatal(err)
	}
	spread(t, s, m, seed)
	return r, s, m
}

// spread fills a store over several checkpoints, so that its live nodes
// lie in several metadata segments.
func spread(t *testing.T, s *Store, m model, seed uint64) {
	t.Helper()
	w := &workload{rng: rand.New(rand.NewPCG(seed, seed)), trees: []string{"t"}, keys: 20000}
	for range 10 {
		for range 40 {
			commit(t, s, w.batch(m, 40))
		}
		if err := s.Checkpoint(); err != nil {
			t.Fatal(err)
		}
	}
}

// smallSegments is a rig whose metadata segments are small, so that a
// store of a few MB lies in many of them.
func smallSegments() rigConfig {
	c := defaultRig()
	c.segSize, c.metaSegs = 256<<10, 64
	return c
}

// replaceMirror puts a blank drive in place of mirror i: the same node and
// metadata ranges, a new drive identity, no checkpoint in its label.
func (r *rig) replaceMirror(i int) {
	r.t.Helper()
	old := r.labels[i].Label()
	fd := faultdev.New(memdev.New(fmt.Sprintf("new-meta%d", i), r.faults[i].Geometry().Size, 4096), 77)
	l := superblock.Label{Node: old.Node, Drive: uuid.New(), Position: old.Position, NodeDrives: old.NodeDrives, Created: time.Now(), Layout: superblock.Layout{SegmentSize: old.SegmentSize}}
	l, err := superblock.Plan(fd, l)
	if err != nil {
		r.t.Fatal(err)
	}
	l.Meta = old.Meta
	lg, err := superblock.Format(fd, l)
	if err != nil {
		r.t.Fatal(err)
	}
	r.faults[i], r.labels[i] = fd, lg
}

// alone opens the store on mirror i only.
func (r *rig) alone(i int) (*Store, error) {
	o := r.options()
	o.Mirrors = o.Mirrors[i : i+1]
	o.ManualResilver = true
	r.faults[i].Restart()
	lg, err := superblock.Open(r.faults[i])
	if err != nil {
		return nil, err
	}
	r.labels[i] = lg
	o.Mirrors[0].Label = lg
	return Open(o)
}

// A drive formatted in place of a lost mirror is rebuilt from the others:
// until then it is written but never read and its label names no
// checkpoint; afterwards it alone holds the whole store, journal included.
func TestResilverReplacedMirror(t *testing.T) {
	r, s, m := spreadStore(t, 3)
	// A crash leaves transactions after the last checkpoint, which only
	// the old mirrors' journals hold.
	w0 := &workload{rng: rand.New(rand.NewPCG(2, 2)), trees: []string{"t"}, keys: 20000}
	for range 5 {
		commit(t, s, w0.batch(m, 40))
	}
	r.powerCut(faultdev.CutDrop)
	s.Close()
	r.replaceMirror(2)
	r.tune = func(o *Options) { o.ManualResilver = true }
	s = r.mustReopen()
	st := s.Stats()
	if !st.Mirrors[2].Partial || st.Mirrors[0].Partial || st.Mirrors[1].Partial || len(r.eventsOf("mirror-behind")) != 1 {
		t.Fatalf("mirrors at open: %+v", st.Mirrors)
	}
	same(t, s, m)
	if n := len(r.eventsOf("bad-copy")); n > 0 {
		t.Fatalf("%d bad-copy events: the partial mirror was read", n)
	}
	lacking, _ := s.lacking(s.partialMirrors())
	if len(lacking) < 3 {
		t.Fatalf("the store's live nodes are in %d segments: the test wants several", len(lacking))
	}
	// Writers go on during the resilver.
	w := &workload{rng: rand.New(rand.NewPCG(4, 4)), trees: []string{"t"}, keys: 20000}
	var steps []ResilverProgress
	err := s.Resilver(context.Background(), func(p ResilverProgress) {
		steps = append(steps, p)
		commit(t, s, w.batch(m, 40))
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) < 2 {
		t.Fatalf("resilvered in %d steps", len(steps))
	}
	for k, p := range steps {
		if p.Rewritten > p.Segments || p.BytesDone > p.Bytes || (k > 0 && p.Rewritten < steps[k-1].Rewritten) {
			t.Fatalf("progress step %d: %+v", k, p)
		}
	}
	last := steps[len(steps)-1]
	if !last.Done || last.Rewritten < len(lacking) || len(last.Mirrors) != 1 || last.Mirrors[0] != "meta2" {
		t.Fatalf("last progress %+v (%d segments lacking at the start)", last, len(lacking))
	}
	st = s.Stats()
	if st.Mirrors[2].Partial || !st.Mirrors[2].Healthy || !st.Resilver.Done {
		t.Fatalf("after the resilver: %+v %+v", st.Mirrors, st.Resilver)
	}
	if got := r.labels[2].Label().Checkpoint.Gen; got != st.CheckpointGen {
		t.Fatalf("the new mirror's label names checkpoint %d, the newest is %d", got, st.CheckpointGen)
	}
	if len(r.eventsOf("resilver-done")) != 1 {
		t.Fatal("no resilver-done event")
	}
	mustCheck(t, s)
	// More after the last checkpoint: the journal alone holds it.
	for range 5 {
		commit(t, s, w.batch(m, 40))
	}
	r.powerCut(faultdev.CutDrop)
	s.Close()
	r.aloneHolds(2, m)
}

// A resilver cut short by a crash starts over at the next open (the
// mirror's label still names no checkpoint, so it is never taken for
// whole); by default Open runs it in the background.
func TestResilverInterruptedThenInBackground(t *testing.T) {
	r, s, m := spreadStore(t, 5)
	s.Close()
	r.replaceMirror(1)
	r.tune = func(o *Options) { o.ManualResilver = true }
	s = r.mustReopen()
	c, cancel := context.WithCancel(context.Background())
	err := s.Resilver(c, func(p ResilverProgress) {
		if p.Rewritten > 0 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("resilver cancelled after its first step: %v", err)
	}
	if !s.Stats().Mirrors[1].Partial {
		t.Fatal("a mirror half resilvered is taken for whole")
	}
	r.powerCut(faultdev.CutDrop)
	s.Close()
	if _, err := r.alone(1); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("open the half-resilvered mirror alone: %v", err)
	}

	r.tune = nil
	s = r.mustReopen()
	r.resilvered(s)
	same(t, s, m)
	mustCheck(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r.aloneHolds(1, m)
}

// resilvered waits for the background resilver to finish.
func (r *rig) resilvered(s *Store) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !s.Stats().Resilver.Done {
		if time.Now().After(deadline) {
			r.t.Fatalf("the background resilver did not finish: %+v, events %v", s.Stats().Resilver, r.eventsOf("resilver-failed"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// aloneHolds opens the store on mirror i alone and compares it with m.
func (r *rig) aloneHolds(i int, m model) {
	r.t.Helper()
	s, err := r.alone(i)
	if err != nil {
		r.t.Fatalf("open the resilvered mirror alone: %v", err)
	}
	defer s.Close()
	same(r.t, s, m)
	mustCheck(r.t, s)
}

// A mirror that was out while the others took checkpoints holds stale
// nodes: it is partial at the next open and resilvered, never read stale.
func TestResilverReturningMirror(t *testing.T) {
	r := newRig(t, defaultRig())
	s, m := filled(t, r)
	r.faults[0].FailRate(faultdev.OpWrite, 1)
	spread(t, s, m, 7)
	s.Close()
	r.faults[0].ClearFaults()
	s = r.mustReopen()
	r.resilvered(s)
	same(t, s, m)
	if n := len(r.eventsOf("bad-copy")); n > 0 {
		t.Fatalf("%d bad-copy events: the returning mirror was read before it was whole", n)
	}
	s.Close()
	r.aloneHolds(0, m)
}

// A crash between the label updates of one checkpoint leaves mirrors one
// checkpoint behind that hold all of it: they are whole, and the journal
// replays from all three (TestCrashSimulation seed 7 lost an acknowledged
// batch when two such mirrors were taken for partial and one mirror's
// journal was all that was read). A mirror one behind without the newest
// record is partial.
func TestResilverNotForAMissedLabelUpdate(t *testing.T) {
	r, s, m := spreadStore(t, 9)
	// Exactly one checkpoint, then a cut: no final checkpoint follows.
	s.ckptMu.Lock()
	before := r.labels[1].Label().Checkpoint
	err := s.checkpoint(true)
	s.ckptMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	r.powerCut(faultdev.CutDrop)
	s.Close()
	// Mirrors 1 and 2 missed that checkpoint's label update.
	r.relabel(func(i int, l *superblock.Label) {
		if i > 0 {
			l.Checkpoint = before
		}
	})
	r.tune = func(o *Options) { o.ManualResilver = true }
	s = r.mustReopen()
	for _, ms := range s.Stats().Mirrors {
		if ms.Partial || !ms.Healthy {
			t.Fatalf("mirrors after a missed label update: %+v", s.Stats().Mirrors)
		}
	}
	same(t, s, m)
	commit(t, s, (&workload{rng: rand.New(rand.NewPCG(1, 1)), trees: []string{"t"}, keys: 20000}).batch(m, 10))
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	newest := s.Stats().CheckpointGen
	s.Close()
	for i, lg := range r.labels {
		if g := lg.Label().Checkpoint.Gen; g < newest {
			t.Fatalf("mirror %d's label names checkpoint %d after the next one, %d", i, g, newest)
		}
	}
	// One behind, but its copy of the newest record damaged: partial.
	rec := r.labels[2].Label().Checkpoint
	r.relabel(func(i int, l *superblock.Label) {
		if i == 2 {
			l.Checkpoint.Gen--
		}
	})
	r.faults[2].CorruptAt(s.sp.mirrors[2].segs[rec.Set].Start + int64(rec.Off) + int64(rec.Len)/2)
	s = r.mustReopen()
	defer s.Close()
	if ms := s.Stats().Mirrors; !ms[2].Partial || ms[0].Partial || ms[1].Partial {
		t.Fatalf("a mirror one behind without the newest record: %+v", ms)
	}
	same(t, s, m)
}

// relabel powers the drives back on and rewrites their labels through f.
func (r *rig) relabel(f func(i int, l *superblock.Label)) {
	r.t.Helper()
	for i, fd := range r.faults {
		fd.Restart()
		lg, err := superblock.Open(fd)
		if err != nil {
			r.t.Fatal(err)
		}
		l := lg.Label()
		f(i, &l)
		if err := lg.Update(l); err != nil {
			r.t.Fatal(err)
		}
		r.labels[i] = lg
	}
}
