package alloc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/internal/simtest"
)

var seeds = simtest.Flags("./alloc/", "alloc", 16)

// model is what the allocator's trees must say.
type model struct {
	pool    Pool
	reserve int
	sets    map[SetID]Set
	segs    map[[2]uint32]Segment // by (drive, index): state, generation, set
}

func newModel(p Pool, reserve int) *model {
	m := &model{pool: p, reserve: reserve, sets: map[SetID]Set{}, segs: map[[2]uint32]Segment{}}
	for _, d := range p.Drives {
		for i := range d.Segments {
			if !d.isMeta(i) {
				m.segs[[2]uint32{d.Position, i}] = Segment{Drive: d.Position, Index: i, Gen: 1}
			}
		}
	}
	return m
}

func (m *model) free(drive uint32) (n int, lowest uint32) {
	lowest = ^uint32(0)
	for k, e := range m.segs {
		if k[0] == drive && e.State == StateFree {
			n++
			lowest = min(lowest, k[1])
		}
	}
	return n, lowest
}

func (m *model) openSets(drive uint32) int {
	n := 0
	for k, e := range m.segs {
		if k[0] == drive && e.State == StateOpen {
			n++
		}
	}
	return n
}

// eligible counts the drives that could take a member.
func (m *model) eligible(cleaner bool, health map[uint32]Health) int {
	n := 0
	for _, d := range m.pool.Drives {
		f, _ := m.free(d.Position)
		if !cleaner {
			f -= m.reserve
		}
		limit := d.zoneLimit(1 + map[bool]int{true: 2}[d.Meta.Holds()])
		if health[d.Position].allocatable() && f > 0 && (limit < 0 || m.openSets(d.Position) < limit) {
			n++
		}
	}
	return n
}

func (m *model) setState(s Set, st State) {
	s.State = st
	m.sets[s.ID] = s
	for _, mb := range s.Members {
		k := [2]uint32{mb.Drive, mb.Segment}
		e := m.segs[k]
		e.State = st
		m.segs[k] = e
	}
}

// compare checks the allocator against the model.
func (m *model) compare(a *Allocator) error {
	var got []Set
	for s, err := range a.Sets(ctx) {
		if err != nil {
			return err
		}
		got = append(got, s)
	}
	if len(got) != len(m.sets) {
		return fmt.Errorf("%d sets, the model has %d", len(got), len(m.sets))
	}
	var used int64
	for _, s := range got {
		w, ok := m.sets[s.ID]
		if !ok {
			return fmt.Errorf("set %d is not in the model", s.ID)
		}
		if s.State != w.State || s.Frontier != w.Frontier || s.Live != w.Live || s.Capacity != w.Capacity || !reflect.DeepEqual(s.Members, w.Members) || s.Layout != w.Layout {
			return fmt.Errorf("set %d: %+v, the model has %+v", s.ID, s, w)
		}
		used += s.Live
	}
	for _, d := range a.Drives() {
		f, _ := m.free(d.Position)
		if d.Free != f || d.OpenSets != m.openSets(d.Position) {
			return fmt.Errorf("drive %d: %+v, the model has %d free and %d open", d.Position, d, f, m.openSets(d.Position))
		}
	}
	for k, w := range m.segs {
		e, err := a.Segment(k[0], k[1])
		if err != nil {
			return err
		}
		if e.State != w.State || e.Gen != w.Gen || e.Set != w.Set || e.Live != w.Live {
			return fmt.Errorf("%s: %+v, the model has %+v", e, e, w)
		}
	}
	if f := a.FSStat(); f.UsedBytes != used {
		return fmt.Errorf("fsstat used %d, the sets hold %d", f.UsedBytes, used)
	}
	return nil
}

// TestModel runs random operations against the model, with the store
// closed and reopened half way, and compares them often.
func TestModel(t *testing.T) {
	seeds.Run(t, 16, 4, func(t *testing.T, seed uint64) {
		runModel(t, seed, 400)
	})
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, seed*7+1))
	p := testPool(8, 24, EC(4, 2))
	if seed%2 == 0 { // zoned drives: 6 open sets on a drive, 4 on a metadata drive
		for i := range p.Drives {
			p.Drives[i].Zoned, p.Drives[i].MaxOpen = true, 7
		}
	}
	r := newRig(t, p)
	r.opts.Seed = seed
	r.opts.ReserveSegments = 1 + rng.IntN(2)
	if err := r.st.CreateTree(ctx, "index", ""); err != nil {
		t.Fatal(err)
	}
	a := r.open()
	m := newModel(p, r.opts.ReserveSegments)
	health := map[uint32]Health{}
	layouts := []Layout{EC(4, 2), EC(2, 1), Mirror(3), EC(1, 0), EC(3, 2)}
	pickSet := func(states ...State) (Set, bool) {
		ids := make([]SetID, 0, len(m.sets))
		for id, s := range m.sets {
			if len(states) == 0 || slices.Contains(states, s.State) {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return Set{}, false
		}
		slices.Sort(ids)
		return m.sets[ids[rng.IntN(len(ids))]], true
	}
	fail := func(step int, format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d step %d: %s", seed, step, fmt.Sprintf(format, args...))
	}
	var count struct{ sets, noSpace, commits, released int }
	defer func() { t.Logf("seed %d: %+v", seed, count) }()
	for step := range steps {
		if step == steps/2 {
			r.reopenStore()
			a = r.open()
			for pos, h := range health {
				if err := a.SetHealth(pos, h); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.compare(a); err != nil {
				fail(step, "after reopen: %v", err)
			}
			mustCheck(t, r, a)
		}
		r.clock.advance(time.Duration(rng.IntN(60)) * time.Second)
		switch op := rng.IntN(100); {
		case op < 25: // new set
			l := layouts[rng.IntN(len(layouts))]
			var flags Flags
			if rng.IntN(10) == 0 {
				flags = ForCleaner
			}
			s, err := a.NewSet(ctx, l, flags)
			if errors.Is(err, ErrNoSpace) {
				if n := m.eligible(flags != 0, health); n >= l.Width() {
					fail(step, "%v, but %d drives are eligible for %s", err, n, l)
				}
				count.noSpace++
				continue
			}
			if err != nil {
				fail(step, "new set: %v", err)
			}
			distinct(t, s)
			for _, mb := range s.Members {
				k := [2]uint32{mb.Drive, mb.Segment}
				e := m.segs[k]
				_, lowest := m.free(mb.Drive)
				if e.State != StateFree || e.Gen != mb.Gen || mb.Segment != lowest || !health[mb.Drive].allocatable() {
					fail(step, "set %d took %s (%+v, lowest free %d, %s)", s.ID, mb, e, lowest, health[mb.Drive])
				}
				e.State, e.Set, e.Live = StateOpen, s.ID, 0
				m.segs[k] = e
			}
			m.sets[s.ID] = s
			count.sets++
		case op < 60: // a batch of staged changes
			s, ok := pickSet()
			if !ok {
				continue
			}
			b := store.NewBatch()
			b.Put("index", fmt.Appendf(nil, "k%d", step), []byte("v"))
			next := s
			if s.State == StateOpen && rng.IntN(3) > 0 {
				n := rng.Int64N(s.Capacity/4 + 1)
				err := a.Advance(ctx, b, s.ID, n)
				if n > s.Capacity-s.Frontier {
					if !errors.Is(err, ErrSetFull) {
						fail(step, "advance %d past the capacity: %v", n, err)
					}
				} else if err != nil {
					fail(step, "advance: %v", err)
				} else {
					next.Frontier += n
				}
			}
			delta := rng.Int64N(next.Frontier+1) - next.Live
			if rng.IntN(4) == 0 {
				delta = next.Frontier - next.Live + 1 // too much
			}
			err := a.AddLive(ctx, b, s.ID, delta)
			if next.Live+delta > next.Frontier {
				if !errors.Is(err, ErrInvalid) {
					fail(step, "add %d live past the frontier: %v", delta, err)
				}
			} else if err != nil {
				fail(step, "add live: %v", err)
			} else {
				next.Live += delta
			}
			switch rng.IntN(10) {
			case 0:
				a.Abandon(b)
			case 1:
				b.Put("no such tree", []byte("k"), nil)
				_, err := r.st.Commit(ctx, b)
				if err == nil {
					fail(step, "a commit into a missing tree succeeded")
				}
				a.Done(b, err)
			default:
				_, err := r.st.Commit(ctx, b)
				a.Done(b, err)
				if err != nil {
					fail(step, "commit: %v", err)
				}
				count.commits++
				m.sets[s.ID] = next
				for _, mb := range s.Members {
					k := [2]uint32{mb.Drive, mb.Segment}
					e := m.segs[k]
					e.Live = next.Layout.share(next.Live)
					m.segs[k] = e
				}
			}
		case op < 72: // seal
			s, ok := pickSet(StateOpen)
			if !ok {
				continue
			}
			if err := a.Seal(ctx, s.ID); err != nil {
				fail(step, "seal: %v", err)
			}
			m.setState(s, StateSealed)
		case op < 77: // clean
			s, ok := pickSet(StateSealed)
			if !ok {
				continue
			}
			if err := a.MarkCleaning(ctx, s.ID); err != nil {
				fail(step, "mark cleaning: %v", err)
			}
			m.setState(s, StateCleaning)
		case op < 95: // drain and release
			s, ok := pickSet(StateSealed, StateCleaning, StateOpen)
			if !ok {
				continue
			}
			ms, err := a.Release(ctx, s.ID)
			if s.Live > 0 {
				if !errors.Is(err, ErrState) {
					fail(step, "release of a set with live bytes: %v", err)
				}
				drain(t, r, a, s.ID)
				s.Live = 0
				for _, mb := range s.Members {
					k := [2]uint32{mb.Drive, mb.Segment}
					e := m.segs[k]
					e.Live = 0
					m.segs[k] = e
				}
				m.sets[s.ID] = s
				ms, err = a.Release(ctx, s.ID)
			}
			if err != nil {
				fail(step, "release: %v", err)
			}
			if !reflect.DeepEqual(ms, s.Members) {
				fail(step, "released %v, want %v", ms, s.Members)
			}
			delete(m.sets, s.ID)
			count.released++
			for _, mb := range s.Members {
				k := [2]uint32{mb.Drive, mb.Segment}
				m.segs[k] = Segment{Drive: mb.Drive, Index: mb.Segment, Gen: mb.Gen + 1}
			}
		default: // health
			pos := uint32(rng.IntN(len(p.Drives)))
			h := []Health{Online, Online, Slow, Faulty, Out}[rng.IntN(5)]
			if err := a.SetHealth(pos, h); err != nil {
				t.Fatal(err)
			}
			health[pos] = h
		}
		if step%25 == 0 || step == steps-1 {
			if err := m.compare(a); err != nil {
				fail(step, "%v", err)
			}
			if err := a.Check(ctx); err != nil {
				fail(step, "%v", err)
			}
		}
	}
	mustCheck(t, r, a)
}
