package pool

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/stripe"
)

// fail makes every operation on drive i fail, as a drive that died does.
func (r *rig) fail(i int) {
	size := r.devs[i].Geometry().Size
	for _, op := range []faultdev.Op{faultdev.OpRead, faultdev.OpWrite, faultdev.OpFlush, faultdev.OpZone, faultdev.OpDiscard} {
		r.devs[i].FailRange(op, 0, size)
	}
}

// model is what was acknowledged: each owner's last acknowledged version
// and the versions still in flight.
type model struct {
	mu    sync.Mutex
	acked map[string]uint64 // 0: never
	sizes map[string]int
	dead  map[string]bool // last ack was a delete
	tried map[string]map[uint64]int
	next  atomic.Uint64 // versions: never reused, even across restarts
}

func newModel() *model {
	return &model{acked: map[string]uint64{}, sizes: map[string]int{}, dead: map[string]bool{}, tried: map[string]map[uint64]int{}}
}

func (m *model) try(owner string, v uint64, size int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tried[owner] == nil {
		m.tried[owner] = map[uint64]int{}
	}
	m.tried[owner][v] = size
}

func (m *model) ack(owner string, v uint64, size int, del bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v > m.acked[owner] {
		m.acked[owner], m.sizes[owner], m.dead[owner] = v, size, del
	}
}

// verify checks the pool against the model: an owner shows its last
// acknowledged version or a newer one that was attempted (in flight when
// things stopped), with exactly that version's content. ok lets a read
// fail with an error the caller allows (never with wrong data).
func (m *model) verify(t testing.TB, p *Pool, ok func(error) bool) (checked, failed int) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for owner, tried := range m.tried {
		info, err := p.Stat([]byte(owner))
		v := info.Version
		if errors.Is(err, ErrNotFound) {
			if v == 0 && m.acked[owner] == 0 {
				continue
			}
			if v < m.acked[owner] || v == m.acked[owner] && !m.dead[owner] {
				t.Fatalf("%q: deleted at version %d, acknowledged version %d (deleted: %v)", owner, v, m.acked[owner], m.dead[owner])
			}
			if _, attempted := tried[v]; !attempted {
				t.Fatalf("%q: deleted at version %d, never attempted", owner, v)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: stat: %v", owner, err)
		}
		size, attempted := tried[v]
		if v < m.acked[owner] || !attempted || size < 0 {
			t.Fatalf("%q: version %d, acknowledged %d, attempted %v", owner, v, m.acked[owner], attempted)
		}
		got, _, err := p.get(owner)
		checked++
		if err != nil {
			if ok != nil && ok(err) {
				failed++
				continue
			}
			t.Fatalf("%q version %d: %v", owner, v, err)
		}
		if want := payload(owner, v, size); !bytes.Equal(got, want) {
			t.Fatalf("%q version %d: wrong content (%d bytes, want %d)", owner, v, len(got), len(want))
		}
	}
	return checked, failed
}

// load runs writers putting and deleting until stop is closed; each
// operation is recorded in m as tried, then as acknowledged.
func load(t testing.TB, p *Pool, m *model, writers int, maxSize int, stop chan struct{}, mayFail bool) (*sync.WaitGroup, *atomic.Int64) {
	var wg sync.WaitGroup
	var done atomic.Int64
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 77))
			for {
				select {
				case <-stop:
					return
				default:
				}
				owner := fmt.Sprintf("w%d/%d", w, rng.IntN(20))
				v := m.next.Add(1)
				if rng.IntN(8) == 0 {
					m.try(owner, v, -1)
					if err := p.Delete(ctx, []byte(owner), v); err != nil {
						if !mayFail {
							t.Errorf("delete %q: %v", owner, err)
							return
						}
						continue
					}
					m.ack(owner, v, -1, true)
				} else {
					size := rng.IntN(maxSize)
					m.try(owner, v, size)
					if _, err := p.Put(ctx, []byte(owner), v, bytes.NewReader(payload(owner, v, size))); err != nil {
						if !mayFail {
							t.Errorf("put %q: %v", owner, err)
							return
						}
						continue
					}
					m.ack(owner, v, size, false)
				}
				done.Add(1)
			}
		}()
	}
	return &wg, &done
}

// waitOps waits until the load has done n more operations.
func waitOps(t testing.TB, done *atomic.Int64, n int64) {
	t.Helper()
	start := done.Load()
	deadline := time.Now().Add(30 * time.Second)
	for done.Load() < start+n {
		if time.Now().After(deadline) {
			t.Fatalf("load stalled at %d operations", done.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDriveLoss: drives die one after another under load. With up to K
// lost nothing acknowledged is lost, writes go on and every read is
// correct; with K+1 lost, reads that need the third drive fail cleanly,
// never with wrong data.
func TestDriveLoss(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := newRig(t, rigConfig{drives: 8, segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
			rng := rand.New(rand.NewPCG(seed, 5))
			m := newModel()
			stop := make(chan struct{})
			wg, done := load(t, r.p, m, 4, 3*int(r.p.sb), stop, false)
			// Data-only drives die (the metadata mirrors' own loss is the
			// store's tests').
			order := rng.Perm(5)
			for k := range 2 {
				waitOps(t, done, int64(20+rng.IntN(60)))
				r.fail(3 + order[k])
				t.Logf("seed %d: drive %d failed", seed, 3+order[k])
			}
			waitOps(t, done, 80)
			close(stop)
			wg.Wait()
			if t.Failed() {
				t.Fatalf("seed %d: writes failed with %d drives lost", seed, 2)
			}
			m.verify(t, r.p, nil)
			if len(r.eventsOf(EventDriveFailed)) == 0 {
				t.Fatalf("seed %d: no drive-failed event", seed)
			}
			r.check()
			// K+1: a set with live data loses a third member (more drives
			// if the two dead ones are not both in it): the reads that need
			// it fail cleanly.
			lost := map[uint32]bool{uint32(3 + order[0]): true, uint32(3 + order[1]): true}
			var victim alloc.Set
			for s, err := range r.p.al.Sets(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				if s.Live > victim.Live {
					victim = s
				}
			}
			n := 0
			for _, mb := range victim.Members {
				n += btoi(lost[mb.Drive])
			}
			for _, mb := range victim.Members {
				if n > r.layout.K {
					break
				}
				if !lost[mb.Drive] {
					lost[mb.Drive] = true
					r.fail(int(mb.Drive))
					n++
				}
			}
			r.p.bg.Wait()
			checked, failed := m.verify(t, r.p, func(err error) bool { return errors.Is(err, stripe.ErrUnrecoverable) })
			t.Logf("seed %d: %d reads with %d drives lost (%d of set %d's members), %d failed cleanly", seed, checked, len(lost), n, victim.ID, failed)
			if failed == 0 {
				t.Fatalf("seed %d: no read needed the third drive", seed)
			}
			// Repairs move what can still be read; the rest stays queued
			// and reported.
			if err := r.p.Repair(ctx); err == nil {
				t.Fatalf("seed %d: repair with three drives lost reported nothing", seed)
			}
			checked2, failed2 := m.verify(t, r.p, func(err error) bool { return errors.Is(err, stripe.ErrUnrecoverable) })
			if checked2 != checked || failed2 != failed {
				t.Fatalf("seed %d: after repair %d/%d failed, before %d/%d", seed, failed2, checked2, failed, checked)
			}
		})
	}
}

// unitOffset is where member i's unit of stripe s of set id lies.
func (r *rig) unitOffset(id alloc.SetID, i int, s int64) (int, int64) {
	set, err := r.p.al.Lookup(id)
	if err != nil {
		r.t.Fatal(err)
	}
	ds := r.p.dataSet(set)
	pos := int(set.Members[i].Drive)
	return pos, ds.Members[i].Loc.Start + 4096 + s*int64(r.layout.Unit)
}

// TestCorruption: bits flip at rest in data and parity units. Every read
// returns correct data, reports the damage and queues the stripe; the
// repair rewrites the live records elsewhere, after which reads are clean.
func TestCorruption(t *testing.T) {
	r := newRig(t, rigConfig{segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	rng := rand.New(rand.NewPCG(7, 7))
	want := map[string][]byte{}
	for i := range 40 {
		owner := fmt.Sprintf("c%d", i)
		want[owner] = payload(owner, 1, 1+rng.IntN(3*int(r.p.sb)))
		r.put(owner, 1, want[owner])
	}
	type key struct {
		set alloc.SetID
		s   int64
	}
	hit := map[key]map[int]bool{}
	view, err := r.st.View(r.p.extents)
	if err != nil {
		t.Fatal(err)
	}
	it, _ := view.Iter(r.p.extents)
	var exts []extent
	for ok := it.First(); ok; ok = it.Next() {
		_, off, _ := parseExtentKey(it.Key())
		e, err := decodeExtent(it.Value(), off)
		if err != nil {
			t.Fatal(err)
		}
		exts = append(exts, e)
	}
	view.Close()
	for range 30 {
		e := exts[rng.IntN(len(exts))]
		k := key{e.rec.set, e.rec.off / r.p.sb}
		if hit[k] == nil {
			hit[k] = map[int]bool{}
		}
		if len(hit[k]) == r.layout.K {
			continue
		}
		// A data unit the record lies in, or a parity unit.
		var member int
		if rng.IntN(3) == 0 && len(hit[k]) > 0 {
			member = r.layout.N + rng.IntN(r.layout.K)
		} else {
			in := e.rec.off % r.p.sb
			member = int(in / (int64(r.layout.Unit) / 4096 * 4088))
		}
		if hit[k][member] {
			continue
		}
		hit[k][member] = true
		pos, off := r.unitOffset(k.set, member, k.s)
		blk := int64(rng.IntN(r.layout.Unit / 4096))
		r.devs[pos].CorruptAt(off + blk*4096 + int64(rng.IntN(4096)))
	}
	for owner, b := range want {
		r.mustGet(owner, 1, b)
	}
	if len(r.eventsOf(EventDegradedRead)) == 0 {
		t.Fatal("corruption not reported")
	}
	r.p.bg.Wait() // reads queue repairs in the background
	q, err := r.p.RepairQueue()
	if err != nil || len(q) == 0 {
		t.Fatalf("repair queue: %v %v", q, err)
	}
	if err := r.p.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if q, err := r.p.RepairQueue(); err != nil || len(q) != 0 {
		t.Fatalf("repair queue after repair: %v %v", q, err)
	}
	if r.p.Stats().Repaired == 0 {
		t.Fatal("nothing repaired")
	}
	before := len(r.eventsOf(EventDegradedRead))
	for owner, b := range want {
		r.mustGet(owner, 1, b)
	}
	if after := len(r.eventsOf(EventDegradedRead)); after != before {
		for _, e := range r.eventsOf(EventDegradedRead)[before:] {
			t.Log(e)
		}
		t.Fatalf("%d degraded reads after the repair", after-before)
	}
	r.check()

	// Corrupt blocks that no read touched (past the records in their
	// unit, or parity) are for a scrub to find: clear them first, so that
	// the parity-only count below is exact.
	if _, err := r.p.Scrub(ctx); err != nil {
		t.Fatal(err)
	}
	r.p.bg.Wait()
	if err := r.p.Repair(ctx); err != nil {
		t.Fatal(err)
	}

	// Parity units alone: no read needs them, a scrub finds them.
	hitSets := map[alloc.SetID]bool{}
	for range 6 {
		e := exts[rng.IntN(len(exts))]
		if _, err := r.p.al.Lookup(e.rec.set); err != nil || hitSets[e.rec.set] {
			continue // moved by the repair above, or already hit
		}
		hitSets[e.rec.set] = true
		pos, off := r.unitOffset(e.rec.set, r.layout.N+rng.IntN(r.layout.K), e.rec.off/r.p.sb)
		r.devs[pos].CorruptAt(off + int64(rng.IntN(r.layout.Unit)))
	}
	if len(hitSets) == 0 {
		t.Fatal("no parity corrupted")
	}
	res, err := r.p.Scrub(ctx)
	if err != nil || res.Damaged != int64(len(hitSets)) || res.Unrecoverable != 0 {
		t.Fatalf("scrub: %+v %v, %d parity units corrupted", res, err, len(hitSets))
	}
	r.p.bg.Wait()
	if err := r.p.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := r.p.Scrub(ctx); err != nil || res.Damaged != 0 {
		t.Fatalf("second scrub: %+v %v", res, err)
	}
	for owner, b := range want {
		r.mustGet(owner, 1, b)
	}
	r.check()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
