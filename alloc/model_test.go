package alloc

import (
	"errors"
	"fmt"
	"maps"
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

func (m *model) openSets(drive uint32) int { return m.count(drive, StateOpen) }

// count is the segments of a drive in a state.
func (m *model) count(drive uint32, st State) int {
	n := 0
	for k, e := range m.segs {
		if k[0] == drive && e.State == st {
			n++
		}
	}
	return n
}

// room reports whether a drive can take a member of a new set (or, with
// target, a rebuild target): health, free segments beyond the reserve
// (none kept on a spare for a target), open zones (open sets and rebuild
// targets hold one each).
func (m *model) room(d Drive, cleaner, target bool, health map[uint32]Health) bool {
	h := health[d.Position]
	f, _ := m.free(d.Position)
	if !cleaner && h != Spare {
		f -= m.reserve
	}
	limit := d.zoneLimit(1 + map[bool]int{true: 2}[d.Meta.Holds()])
	ok := h.allocatable()
	if target {
		ok = h.rebuildable()
	}
	return ok && f > 0 && (limit < 0 || m.openSets(d.Position)+m.count(d.Position, StateRebuilding) < limit)
}

// eligible counts the drives that could take a member.
func (m *model) eligible(cleaner bool, health map[uint32]Health) int {
	n := 0
	for _, d := range m.pool.Drives {
		if m.room(d, cleaner, false, health) {
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
		if s.State != w.State || s.Frontier != w.Frontier || s.Live != w.Live || s.Capacity != w.Capacity || !reflect.DeepEqual(s.Members, w.Members) || s.Layout != w.Layout || !reflect.DeepEqual(s.Replacing, w.Replacing) {
			return fmt.Errorf("set %d: %+v, the model has %+v", s.ID, s, w)
		}
		used += s.Live
	}
	for _, d := range a.Drives() {
		f, _ := m.free(d.Position)
		if d.Free != f || d.OpenSets != m.openSets(d.Position) || d.Rebuilding != m.count(d.Position, StateRebuilding) {
			return fmt.Errorf("drive %d: %+v, the model has %d free, %d open and %d rebuilding", d.Position, d, f, m.openSets(d.Position), m.count(d.Position, StateRebuilding))
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
	p0 := p
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
	var count struct{ sets, noSpace, commits, released, begun, targetNoSpace, replaced, aborted int }
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
		switch op := rng.IntN(112); {
		case op >= 106: // end a replacement
			var ps []Replacement
			for _, id := range slices.Sorted(maps.Keys(m.sets)) {
				ps = append(ps, m.sets[id].Replacing...)
			}
			if len(ps) == 0 {
				continue
			}
			p := ps[rng.IntN(len(ps))]
			s := m.sets[p.Set]
			tk := [2]uint32{p.Target.Drive, p.Target.Segment}
			if rng.IntN(3) == 0 {
				if err := a.AbortReplace(ctx, s.ID, p.Member); err != nil {
					fail(step, "abort %s: %v", p, err)
				}
				m.segs[tk] = Segment{Drive: tk[0], Index: tk[1], Gen: p.Target.Gen + 1}
				count.aborted++
			} else {
				if err := a.CommitReplace(ctx, s.ID, p.Member); err != nil {
					fail(step, "commit %s: %v", p, err)
				}
				old := s.Members[p.Member]
				m.segs[[2]uint32{old.Drive, old.Segment}] = Segment{Drive: old.Drive, Index: old.Segment, Gen: old.Gen + 1}
				m.segs[tk] = Segment{Drive: tk[0], Index: tk[1], Gen: p.Target.Gen, State: s.State, Set: s.ID, Live: s.Layout.share(s.Live)}
				s.Members = slices.Clone(s.Members)
				s.Members[p.Member] = p.Target
				count.replaced++
			}
			m.sets[s.ID] = s.withoutReplacement(p.Member)
		case op >= 100: // begin a replacement (mostly of a sealed set)
			states := []State{StateSealed}
			if rng.IntN(4) == 0 {
				states = nil
			}
			s, ok := pickSet(states...)
			if !ok {
				continue
			}
			i := rng.IntN(len(s.Members))
			p, err := a.BeginReplace(ctx, s.ID, i)
			_, busy := s.replacing(i)
			switch {
			case s.State == StateOpen:
				if !errors.Is(err, ErrSetOpen) {
					fail(step, "begin in an open set: %v", err)
				}
				continue
			case s.State == StateCleaning:
				if !errors.Is(err, ErrSetCleaning) {
					fail(step, "begin in a cleaning set: %v", err)
				}
				continue
			case busy:
				if !errors.Is(err, ErrState) {
					fail(step, "begin twice: %v", err)
				}
				continue
			}
			// The tiers the target may come from: spares, other drives,
			// the member's own drive.
			taken := map[uint32]bool{}
			for j, mb := range s.Members {
				taken[mb.Drive] = taken[mb.Drive] || j != i
			}
			for _, q := range s.Replacing {
				taken[q.Target.Drive] = true
			}
			var tiers [3][]uint32
			for _, d := range p0.Drives {
				if taken[d.Position] || !m.room(d, false, true, health) {
					continue
				}
				switch {
				case d.Position == s.Members[i].Drive:
					tiers[2] = append(tiers[2], d.Position)
				case health[d.Position] == Spare:
					tiers[0] = append(tiers[0], d.Position)
				default:
					tiers[1] = append(tiers[1], d.Position)
				}
			}
			if errors.Is(err, ErrNoSpace) {
				if n := len(tiers[0]) + len(tiers[1]) + len(tiers[2]); n > 0 {
					fail(step, "%v, but drives %v can take a target", err, tiers)
				}
				count.targetNoSpace++
				continue
			}
			if err != nil {
				fail(step, "begin: %v", err)
			}
			tier := slices.IndexFunc(tiers[:], func(ds []uint32) bool { return len(ds) > 0 })
			k := [2]uint32{p.Target.Drive, p.Target.Segment}
			e := m.segs[k]
			_, lowest := m.free(p.Target.Drive)
			if tier < 0 || !slices.Contains(tiers[tier], p.Target.Drive) || e.State != StateFree || p.Target.Gen != s.Members[i].Gen || p.Target.Segment != lowest {
				fail(step, "%s (%+v, lowest free %d) not from the first of the tiers %v", p, e, lowest, tiers)
			}
			// The target takes the replaced member's generation.
			m.segs[k] = Segment{Drive: k[0], Index: k[1], Gen: p.Target.Gen, State: StateRebuilding, Set: s.ID}
			m.sets[s.ID] = s.withReplacement(p)
			drivesOf(t, m.sets[s.ID])
			count.begun++
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
			freed := slices.Clone(s.Members)
			for _, p := range s.Replacing {
				freed = append(freed, p.Target)
			}
			if !reflect.DeepEqual(ms, freed) {
				fail(step, "released %v, want %v", ms, freed)
			}
			delete(m.sets, s.ID)
			count.released++
			for _, mb := range freed {
				k := [2]uint32{mb.Drive, mb.Segment}
				m.segs[k] = Segment{Drive: mb.Drive, Index: mb.Segment, Gen: mb.Gen + 1}
			}
		default: // health
			pos := uint32(rng.IntN(len(p.Drives)))
			h := []Health{Online, Online, Slow, Faulty, Out, Spare}[rng.IntN(6)]
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
