package kv

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/faultdev"
)

// This file replays the DTM recovery scenario (shared/seeds/
// dtm-recovery-scenario.txt): three participants p1, p2, p3 with storage,
// an originator without, a reboot of p1, p3 and the originator while some
// puts are executed but not persistent, deletes from the restarted
// originator, then the REDO messages of the recovery. Every participant
// must end with no values and the three tombstones: the deletes of keys a
// participant never had must leave tombstones, or the REDOs of the old puts
// would bring the keys back.

// request is a CAS operation of the originator's log.
type request struct {
	del     bool
	key     string
	version uint64
}

func (r request) String() string {
	if r.del {
		return fmt.Sprintf("DEL %s@%d", r.key, r.version)
	}
	return fmt.Sprintf("PUT %s@%d", r.key, r.version)
}

// deliver executes a request on a participant's KV.
func deliver(n *node, r request) error {
	if r.del {
		_, err := n.kv.Delete(ctx, "dix", []byte(r.key), r.version)
		return err
	}
	_, err := n.kv.Put(ctx, "dix", []byte(r.key), []byte("value of "+r.key), r.version)
	return err
}

// executePersistent executes requests that reach the persistent state (P):
// their commits complete, on stable media.
func executePersistent(t *testing.T, n *node, rs ...request) {
	t.Helper()
	for _, r := range rs {
		if err := deliver(n, r); err != nil {
			t.Fatalf("%s: %v: %v", n.name, r, err)
		}
	}
}

// executeVolatile executes requests that are still volatile (V) when the
// power is cut at @70: their journal records are written into the drives'
// volatile caches, but every flush fails, so no commit completes (the
// store then refuses changes: the outcome is in doubt until the restart).
// They are executed concurrently, as a node's request handlers would.
func executeVolatile(t *testing.T, n *node, rs ...request) {
	t.Helper()
	for _, fd := range n.faults {
		fd.FailRange(faultdev.OpFlush, 0, 1<<40)
	}
	errs := make([]error, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() { errs[i] = deliver(n, r) })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil || errors.Is(err, ErrSuperseded) {
			t.Fatalf("%s: volatile %v was acknowledged: %v", n.name, rs[i], err)
		}
	}
	flushErrs := 0
	for _, fd := range n.faults {
		flushErrs += fd.Stats().FlushErrors
	}
	if flushErrs == 0 {
		t.Fatalf("%s: no journal flush was attempted for %v", n.name, rs)
	}
}

func TestDTMRecoveryScenario(t *testing.T) {
	p1, p2, p3 := newNode(t, "p1", 1), newNode(t, "p2", 2), newNode(t, "p3", 3)
	parts := []*node{p1, p2, p3}
	for _, p := range parts {
		mustCreate(t, p.kv, "dix")
	}

	// @10-15: the originator o1 assigns the versions of three puts.
	o1 := []request{{key: "k1", version: 10}, {key: "k2", version: 11}, {key: "k3", version: 12}}
	R1, R2, R3 := o1[0], o1[1], o1[2]

	// @20-60: p1 receives R1, R2, R3 and p3 R3, R2, R1 (reordered); p2
	// receives R2 only (o1.R1 and o1.R3 to p2 are stuck). All are
	// executed (@30-40); at @60 only each participant's first request is
	// committed (p1: k1@10 PVV, p2: k2@11 VPV, p3: k3@12 VVP), the others
	// are still volatile.
	executePersistent(t, p1, R1)
	executeVolatile(t, p1, R2, R3)
	executePersistent(t, p2, R2)
	executePersistent(t, p3, R3)
	executeVolatile(t, p3, R2, R1)
	// Each participant's log (FOL) keeps its persistent request: what its
	// REDO will carry.
	fol := map[*node]request{p1: R1, p2: R2, p3: R3}

	// @70: p1 and p3 reboot (power cut: the unflushed journal writes are
	// lost); o1 restarts as o2, with no state.
	p1.reboot()
	p3.reboot()
	want := map[*node][]string{
		p1: {"k1@10=value of k1"},
		p2: {"k2@11=value of k2"},
		p3: {"k3@12=value of k3"},
	}
	for _, p := range parts {
		if got := p.all("dix"); !slices.Equal(got, want[p]) {
			t.Fatalf("%s after recovery holds %v, want %v", p.name, got, want[p])
		}
		if got := p.tombs("dix"); len(got) != 0 {
			t.Fatalf("%s after recovery holds tombstones %v", p.name, got)
		}
		p.check()
	}

	// @100-115: the client times out and deletes the objects; o2 sends
	// the deletes to every participant, which executes them.
	o2 := []request{{del: true, key: "k1", version: 100}, {del: true, key: "k2", version: 101}, {del: true, key: "k3", version: 102}}
	for _, p := range parts {
		for _, r := range o2 {
			if err := deliver(p, r); err != nil {
				t.Fatalf("%s: %v: %v", p.name, r, err)
			}
		}
	}

	// @120: the recovery's REDO messages, each carrying the sender's R1.
	redo := func(from, to *node) {
		t.Helper()
		r := fol[from]
		err := deliver(to, r)
		if !errors.Is(err, ErrSuperseded) {
			t.Fatalf("REDO %s -> %s of %v: %v, want it superseded by the tombstone", from.name, to.name, r, err)
		}
		if !strings.Contains(err.Error(), "stored tombstone") {
			t.Fatalf("REDO %s -> %s: %v", from.name, to.name, err)
		}
	}
	// The messages actually sent (without duplicates)...
	withoutDuplicates := [][2]*node{{p1, p2}, {p1, p3}, {p2, p1}, {p2, p3}, {p3, p1}, {p3, p2}}
	for _, m := range withoutDuplicates {
		redo(m[0], m[1])
	}
	// ...and the list with duplicates, delivered once more: replays change
	// nothing.
	withDuplicates := [][2]*node{
		{p1, p2}, {p1, p3}, // recovering of o1 on p1
		{p2, p1},           // recovering of p1
		{p2, p1}, {p2, p3}, // recovering of o1 on p2
		{p2, p3},           // recovering of p3
		{p3, p1}, {p3, p2}, // recovering of o1 on p3
	}
	for _, m := range withDuplicates {
		redo(m[0], m[1])
	}

	// @130: every KVS is the empty set, with the three tombstones.
	tombs := []string{"k1@100", "k2@101", "k3@102"}
	for _, p := range parts {
		if got := p.all("dix"); len(got) != 0 {
			t.Fatalf("%s at @130 holds %v, want the empty set", p.name, got)
		}
		if got := p.tombs("dix"); !slices.Equal(got, tombs) {
			t.Fatalf("%s at @130 holds tombstones %v, want %v", p.name, got, tombs)
		}
		for i, key := range []string{"k1", "k2", "k3"} {
			_, err := p.kv.Get("dix", []byte(key))
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), fmt.Sprintf("deleted at version %d", 100+i)) {
				t.Fatalf("%s: get %s: %v", p.name, key, err)
			}
		}
		// The deletes replayed once more change nothing either.
		for _, r := range o2 {
			wantErr(t, deliver(p, r), ErrSuperseded, p.name+": replayed "+r.String())
		}
		p.check()
	}
	// What every participant holds survives another crash.
	p2.reboot()
	if got := p2.tombs("dix"); !slices.Equal(got, tombs) {
		t.Fatalf("p2 after a reboot: tombstones %v", got)
	}

	// Tombstone collection. The versions' wall times are the first
	// milliseconds of 1970: a horizon reaching back before them keeps them,
	// any shorter one collects them.
	now := p1.wall.Now()
	keepAll := now.Sub(time.UnixMilli(0)) + time.Hour
	for _, p := range parts {
		if n, err := p.kv.CollectTombstones(ctx, keepAll, now); err != nil || n != 0 {
			t.Fatalf("%s: collected %d (%v) within the horizon", p.name, n, err)
		}
		if n, err := p.kv.CollectTombstones(ctx, 24*time.Hour, now); err != nil || n != 3 {
			t.Fatalf("%s: collected %d (%v), want 3", p.name, n, err)
		}
		if got := p.tombs("dix"); len(got) != 0 {
			t.Fatalf("%s: tombstones %v after collection", p.name, got)
		}
		if got := p.all("dix"); len(got) != 0 {
			t.Fatalf("%s: %v after collection", p.name, got)
		}
		p.check()
	}
	// Once the tombstones are collected, a REDO arriving later than the
	// horizon is applied as if the key had never been deleted: it
	// resurrects k2 on p1. That is why the horizon must exceed the longest
	// time a REDO can be delayed (recovery, a partition, a slow peer).
	if err := deliver(p1, fol[p2]); err != nil {
		t.Fatalf("late REDO after collection: %v", err)
	}
	if got := p1.all("dix"); !slices.Equal(got, []string{"k2@11=value of k2"}) {
		t.Fatalf("late REDO after collection: p1 holds %v", got)
	}
}

// TestDTMDeleteOfAbsentKeyLeavesTombstone is the variant the scenario warns
// about at @130: had the deletes of keys a participant never received been
// no-ops, the REDOs of the old puts would have left p2 with {k1@10, k3@12}.
// A delete of an absent key leaves a tombstone, so they are superseded.
func TestDTMDeleteOfAbsentKeyLeavesTombstone(t *testing.T) {
	p2 := newNode(t, "p2", 2)
	mustCreate(t, p2.kv, "dix")
	mustPut(t, p2.kv, "dix", "k2", "value of k2", 11)
	for i, key := range []string{"k1", "k2", "k3"} {
		mustDelete(t, p2.kv, "dix", key, uint64(100+i))
	}
	for i, key := range []string{"k1", "k3"} { // never received
		v := uint64(100 + 2*i)
		_, err := p2.kv.Get("dix", []byte(key))
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), fmt.Sprintf("deleted at version %d", v)) {
			t.Fatalf("%s deleted while absent: %v, want ErrNotFound deleted at version %d", key, err, v)
		}
	}
	if got := p2.tombs("dix"); !slices.Equal(got, []string{"k1@100", "k2@101", "k3@102"}) {
		t.Fatalf("tombstones %v", got)
	}
	for _, r := range []request{{key: "k1", version: 10}, {key: "k3", version: 12}} {
		wantErr(t, deliver(p2, r), ErrSuperseded, "REDO "+r.String())
	}
	if got := p2.all("dix"); len(got) != 0 {
		t.Fatalf("p2 holds %v, want the empty set (not {k1@10, k3@12})", got)
	}
}
