package alloc

import (
	"errors"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/btree/store"
)

// TestCheckDetects plants inconsistencies in the trees, each through a
// store batch, and expects Check to name them.
func TestCheckDetects(t *testing.T) {
	type fixture struct {
		r      *rig
		a      *Allocator
		s1, s2 Set // s1 sealed with live bytes, s2 open
	}
	put := func(f *fixture, tree string, k, v []byte) {
		b := store.NewBatch()
		if v == nil {
			b.Delete(tree, k)
		} else {
			b.Put(tree, k, v)
		}
		if _, err := f.r.st.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	putSet := func(f *fixture, s Set) { put(f, legacySetTree, setKey(s.ID), s.encode()) }
	putSeg := func(f *fixture, e Segment) { put(f, legacySegTree, segKey(e.Drive, e.Index), e.encode()) }
	seg := func(f *fixture, m Member) Segment {
		e, err := f.a.Segment(m.Drive, m.Segment)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	freeSeg := func(f *fixture, drive uint32) Segment {
		for i := uint32(39); ; i-- {
			if e, err := f.a.Segment(drive, i); err == nil && e.State == StateFree {
				return e
			}
		}
	}
	cases := []struct {
		name  string
		plant func(f *fixture)
		want  string
	}{
		{"free segment in a set", func(f *fixture) {
			e := freeSeg(f, 4)
			e.Set = f.s1.ID
			putSeg(f, e)
		}, "free, but in set 1"},
		{"free segment with live bytes", func(f *fixture) {
			e := freeSeg(f, 4)
			e.Live = 10
			putSeg(f, e)
		}, "free, but in set 0 with 10 live bytes"},
		{"segment in two sets", func(f *fixture) {
			s := f.s2
			m := f.s1.Members[0]
			for i := range s.Members { // keep the drives distinct
				if s.Members[i].Drive == m.Drive {
					s.Members[i], s.Members[0] = s.Members[0], s.Members[i]
				}
			}
			s.Members[0] = m
			putSet(f, s)
		}, "belongs to set 1"},
		{"members on one drive", func(f *fixture) {
			s := f.s1
			s.Members[1].Drive = s.Members[0].Drive
			putSet(f, s)
		}, "are both on drive"},
		{"live beyond frontier", func(f *fixture) {
			s := f.s1
			s.Live = s.Frontier + 1
			putSet(f, s)
		}, "live bytes beyond its frontier"},
		{"frontier beyond capacity", func(f *fixture) {
			s := f.s2
			s.Frontier = s.Capacity + 1
			putSet(f, s)
		}, "beyond its capacity"},
		{"wrong capacity", func(f *fixture) {
			s := f.s2
			s.Capacity++
			putSet(f, s)
		}, "capacity"},
		{"open with a sealed time", func(f *fixture) {
			s := f.s2
			s.Sealed = f.s1.Sealed
			putSet(f, s)
		}, "open with sealed time"},
		{"segment of a missing set", func(f *fixture) {
			put(f, legacySetTree, setKey(f.s2.ID), nil)
		}, "which does not exist"},
		{"generation mismatch", func(f *fixture) {
			e := seg(f, f.s1.Members[2])
			e.Gen++
			putSeg(f, e)
		}, "generation"},
		{"state mismatch", func(f *fixture) {
			e := seg(f, f.s1.Members[0])
			e.State = StateOpen
			putSeg(f, e)
		}, "open, but its set 1 is sealed"},
		{"wrong share", func(f *fixture) {
			e := seg(f, f.s1.Members[0])
			e.Live++
			putSeg(f, e)
		}, "share of set 1"},
		{"entry in a metadata range", func(f *fixture) {
			putSeg(f, Segment{Drive: 1, Index: 3, State: StateFree, Gen: 1})
		}, "segment 3 of drive 1: in the drive's metadata ranges"},
		{"entry beyond the drive", func(f *fixture) {
			putSeg(f, Segment{Drive: 5, Index: 40, State: StateFree, Gen: 1})
		}, "the drive has 40 segments"},
		{"drive not in the pool", func(f *fixture) {
			putSeg(f, Segment{Drive: 9, Index: 0, State: StateFree, Gen: 1})
		}, "the drive is not in the pool"},
		{"missing entry", func(f *fixture) {
			put(f, legacySegTree, segKey(6, 20), nil)
		}, "segment 20 of drive 6 has no entry"},
		{"undecodable entry", func(f *fixture) {
			put(f, legacySegTree, segKey(6, 21), []byte{1, 2, 3})
		}, "segment 21 of drive 6: entry of 3 bytes"},
		{"undecodable set", func(f *fixture) {
			put(f, legacySetTree, setKey(f.s2.ID), []byte{7})
		}, "set 2: entry of 1 bytes"},
		{"set id past the next", func(f *fixture) {
			put(f, legacyMetaTree, metaKey, metaRecord{NextSet: 2}.encode())
		}, "set 2: the next set id is 2"},
		{"counter off", func(f *fixture) {
			f.a.mu.Lock()
			f.a.byPos[3].free++
			f.a.mu.Unlock()
		}, "drive 3: the allocator counts"},
		{"totals off", func(f *fixture) {
			f.a.mu.Lock()
			f.a.tot.live[StateSealed]++
			f.a.mu.Unlock()
		}, "totals"},
		{"in use with no set", func(f *fixture) {
			e := freeSeg(f, 7)
			e.State = StateSealed
			putSeg(f, e)
		}, "sealed, but in no set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, testPool(8, 40, EC(4, 2)))
			a := r.open()
			f := &fixture{r: r, a: a, s1: mustSet(t, a, EC(4, 2)), s2: mustSet(t, a, EC(4, 2))}
			write(t, r, a, f.s1.ID, 5000, 4001)
			if err := a.Seal(ctx, f.s1.ID); err != nil {
				t.Fatal(err)
			}
			f.s1, _ = a.Lookup(f.s1.ID)
			mustCheck(t, r, a)
			c.plant(f)
			err := a.Check(ctx)
			t.Log(err)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check: %v\nwant an error containing %q", err, c.want)
			}
		})
	}
}

// TestCheckBounded: a table full of problems gives a bounded report.
func TestCheckBounded(t *testing.T) {
	r := newRig(t, testPool(8, 40, EC(4, 2)))
	a := r.open()
	b := store.NewBatch()
	for i := uint32(5); i < 40; i++ {
		for d := uint32(0); d < 8; d++ {
			b.Put(legacySegTree, segKey(d, i), []byte("bad"))
		}
	}
	if _, err := r.st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	err := a.Check(ctx)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "more problems") || strings.Count(err.Error(), "\n") > maxProblems+1 {
		t.Fatalf("Check: %v", err)
	}
}
