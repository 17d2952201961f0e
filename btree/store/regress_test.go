package store

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
)

// Found by TestCrashSimulation (seed 28, depending on the interleaving):
// a store reopened with its journal ring full never checkpointed, so its
// commits waited for journal space until FullWait and then failed, making
// the store read-only. Background checkpoints were started only by the
// journal bytes committed since the last cut (Options.CheckpointBytes),
// which Open resets and which a commit waiting for space never adds to;
// the journal's "full" event started nothing. Each power cut without a
// checkpoint in between leaves one more ring segment in use (the reopen
// seals the newest and starts another), so a few of them in a row fill
// the ring. (With the default options a checkpoint by time comes after
// CheckpointInterval, 30s, racing the commits' FullWait, also 30s.) Fixed:
// the journal's EventFull kicks a checkpoint.
func TestCommitAfterReopenWithFullJournal(t *testing.T) {
	c := defaultRig()
	c.segSize, c.ringSegs = 256<<10, 4
	r := newRig(t, c)
	r.tune = func(o *Options) { o.Journal.FullWait = 2 * time.Second }
	s := r.create()
	if err := s.CreateTree(ctx, "t", ""); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		b := NewBatch()
		b.Put("t", []byte{'k', byte(i)}, []byte("v"))
		if _, err := s.Commit(ctx, b); err != nil {
			t.Fatalf("commit after %d power cuts: %v (journal %+v)", i, err, s.Stats().Journal)
		}
		r.powerCut(faultdev.CutDrop)
		s.Close()
		s = r.mustReopen()
	}
	defer s.Close()
	mustCheck(t, s)
}

// gatedDev holds the writes at or after offset from until open is closed,
// closing blocked when the first one arrives.
type gatedDev struct {
	dev.Device
	from    int64
	once    sync.Once
	blocked chan struct{}
	open    chan struct{}
}

func (g *gatedDev) WriteAt(p []byte, off int64) (int, error) {
	if off >= g.from {
		g.once.Do(func() { close(g.blocked) })
		<-g.open
	}
	return g.Device.WriteAt(p, off)
}

// A checkpoint commits its journal marker while it holds ckptMu. When the
// commits made while it wrote its nodes filled the journal ring (they go
// on during a checkpoint, and the segment where its cut lies holds
// transactions after the cut, so its release frees nothing), the marker
// waits for journal space that only another checkpoint can free, and none
// can start until the marker gives up: FullWait later the waiting commits
// fail with ErrFull and the store turns read-only. The node writes of
// mirror 0 are held here until the commits have filled the ring. Not
// fixed: the marker should be committed once ckptMu is released (or
// without waiting for space).
func TestCheckpointMarkerWithFullJournal(t *testing.T) {
	c := defaultRig()
	c.segSize, c.ringSegs = 256<<10, 3
	r := newRig(t, c)
	l := r.labels[0].Label()
	gate := &gatedDev{Device: r.faults[0], from: l.Layout.SegmentOffset(l.Meta.SegFirst), blocked: make(chan struct{}), open: make(chan struct{})}
	var gated bool
	r.tune = func(o *Options) {
		o.Journal.FullWait = 2 * time.Second
		if gated {
			o.Mirrors[0].Dev = gate
		}
	}
	s := r.create()
	if err := s.CreateTree(ctx, "t", ""); err != nil {
		t.Fatal(err)
	}
	s.Close()
	gated = true
	s = r.mustReopen()
	defer s.Close()
	value := bytes.Repeat([]byte("v"), 4000)
	put := func(i int) error {
		b := NewBatch()
		for j := range 10 {
			b.Put("t", []byte{byte(i >> 8), byte(i), byte(j)}, value)
		}
		_, err := s.Commit(ctx, b)
		return err
	}
	for i := range 3 { // the segment holding them takes two more
		if err := put(i); err != nil {
			t.Fatal(err)
		}
	}
	ckpt := make(chan error, 1)
	go func() { ckpt <- s.Checkpoint() }()
	<-gate.blocked // the checkpoint is writing its nodes
	commits := make(chan error, 1)
	go func() {
		for i := 5; i < 60; i++ {
			if err := put(i); err != nil {
				commits <- err
				return
			}
		}
		commits <- nil
	}()
	for !s.journal.Stats().Waiting {
		time.Sleep(time.Millisecond)
	}
	full := s.journal.Stats()
	close(gate.open)
	if err := <-ckpt; err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if err := <-commits; err != nil {
		t.Fatalf("commits made during the checkpoint (they filled the journal: %+v): %v", full, err)
	}
	mustCheck(t, s)
}

// readGate makes the reads of [lo, hi) wait, once armed, until fail is
// closed, and then fail.
type readGate struct {
	dev.Device
	lo, hi  int64
	armed   *atomic.Bool
	once    *sync.Once
	blocked chan struct{}
	fail    chan struct{}
}

func (g *readGate) ReadAt(p []byte, off int64) (int, error) {
	if g.armed.Load() && off < g.hi && off+int64(len(p)) > g.lo {
		g.once.Do(func() { close(g.blocked) })
		<-g.fail
		return 0, &dev.OpError{Op: "read", Path: g.Path(), Offset: off, Length: int64(len(p)), Err: dev.ErrIO}
	}
	return g.Device.ReadAt(p, off)
}

// A transaction whose application fails halfway (here a node of its second
// tree that no mirror can read) makes the store read-only, but a
// checkpoint that had already started (past its check of the store's
// health, waiting for applyMu) still cuts the trees with the first half
// applied and the LSN counted as applied, writes them and records them:
// after a restart the journal is replayed from after that LSN, so half of
// the transaction is in the trees for good. (Found reading commitOps and
// checkpoint while writing the crash simulation.) Fixed: commitOps makes
// the store read-only before it releases applyMu, and the cut checks the
// store's health under applyMu.
func TestCheckpointAfterFailedApply(t *testing.T) {
	r := newRig(t, defaultRig())
	var gates []*readGate
	r.tune = func(o *Options) {
		o.CacheBytes = 1    // every node is read from the media
		o.CleanBelow = 1e-9 // and only by the transaction
		for i := range o.Mirrors {
			if gates != nil {
				o.Mirrors[i].Dev = gates[i]
			}
		}
	}
	s := r.create()
	for _, name := range []string{"a", "b"} {
		if err := s.CreateTree(ctx, name, ""); err != nil {
			t.Fatal(err)
		}
	}
	b := NewBatch()
	for i := range 50 { // b's root is a leaf of some 15 KiB
		b.Put("a", []byte{byte(i)}, []byte("a"))
		b.Put("b", []byte{byte(i)}, bytes.Repeat([]byte("b"), 300))
	}
	commit(t, s, b)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	root := s.trees["b"].ckptRoot.Ptr.Addr
	armed, once, blocked, fail := &atomic.Bool{}, &sync.Once{}, make(chan struct{}), make(chan struct{})
	for i, fd := range r.faults {
		// A block only b's root lies in: reading any other node does
		// not touch it.
		start := s.sp.mirrors[i].segs[root.Set].Start + int64(root.Off)
		lo := dev.RoundUp(start, 4096)
		gates = append(gates, &readGate{Device: fd, lo: lo, hi: lo + 4096, armed: armed, once: once, blocked: blocked, fail: fail})
		if lo+4096 > start+int64(root.Len) {
			t.Fatalf("b's root of %d bytes covers no block of its own", root.Len)
		}
	}
	s = r.mustReopen()
	armed.Store(true)
	b = NewBatch()
	b.Put("a", []byte("new"), []byte("half of a transaction"))
	b.Put("b", []byte("new"), []byte("the other half"))
	committed := make(chan error, 1)
	go func() {
		_, err := s.Commit(ctx, b)
		committed <- err
	}()
	<-blocked // the transaction is in the journal, half applied
	ckpt := make(chan error, 1)
	go func() { ckpt <- s.Checkpoint() }()
	time.Sleep(50 * time.Millisecond) // the checkpoint waits for applyMu
	close(fail)
	if err := <-committed; err == nil {
		t.Fatal("a commit whose application failed succeeded")
	}
	t.Logf("checkpoint: %v", <-ckpt)
	s.Close()
	armed.Store(false)
	s = r.mustReopen()
	defer s.Close()
	_, inA, errA := s.Get("a", []byte("new"))
	_, inB, errB := s.Get("b", []byte("new"))
	if errA != nil || errB != nil || inA != inB {
		t.Fatalf("after a restart, a transaction is in tree a %v (%v) and in tree b %v (%v)", inA, errA, inB, errB)
	}
	mustCheck(t, s)
}
