package beck

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// discover is phase 2: every data segment header of every present drive,
// grouped into the sets of each pool, each set's members put in their
// places (block tags and parity), the generation of a data member lost
// with its drive recovered, each set's stream end found, and a place in
// the allocator's tables chosen for the members that are missing.
func (b *rebuild) discover(bar fsck.Bar) (string, error) {
	var total int64
	for _, d := range b.drives {
		if d.dev != nil {
			total += int64(d.label.NrSegments)
		}
	}
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(b.drives))
	for _, d := range b.drives {
		if d.dev == nil {
			continue
		}
		wg.Go(func() {
			if err := b.readHeaders(d, func() { bar.Update(done.Add(1), total) }); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return "", err
	}
	sets, degraded := 0, 0
	for _, p := range b.pools {
		if err := b.findSets(p); err != nil {
			return "", err
		}
		if err := b.placeMissing(p); err != nil {
			return "", err
		}
		for _, fs := range p.sets {
			b.sets = append(b.sets, fs)
			if len(fs.missing) > 0 {
				degraded++
			}
		}
		sets += len(p.sets)
		for _, n := range p.notes {
			b.note("pool %s: %s", p.name, n)
		}
	}
	b.prog.digest = b.digest()
	return fmt.Sprintf("%d segments read; %d sets found (%d with members missing, read through parity)", done.Load(), sets, degraded), nil
}

// readHeaders reads the header of every data segment of d.
func (b *rebuild) readHeaders(d *driveInfo, step func()) error {
	d.headers = map[uint32]segHeader{}
	expect := seg.Expect{Node: b.node.ID, Drive: d.label.Drive, Kind: seg.KindData}
	for i := uint32(0); i < d.label.NrSegments; i++ {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		step()
		if d.isMeta(i) {
			continue
		}
		loc, err := seg.Locate(d.dev, d.label.Layout, i)
		if err != nil {
			d.headers[i] = segHeader{bad: err}
			continue
		}
		sc, err := seg.Scan(loc, expect)
		switch {
		case err == nil:
			h := sc.Header()
			if h.Set != 0 {
				d.headers[i] = segHeader{gen: h.Generation, set: h.Set, created: h.Created, loc: loc}
			}
		case errors.Is(err, seg.ErrNotWritten), errors.Is(err, seg.ErrStale):
			// Never written since a reset, or another drive's or node's:
			// nothing of this node's logs.
		default:
			d.headers[i] = segHeader{bad: err, loc: loc}
		}
	}
	return nil
}

// candidate is a segment whose header names a set.
type candidate struct {
	d   *driveInfo
	idx uint32
	h   segHeader
}

func (c candidate) member() member {
	return member{pos: c.d.pos, seg: c.idx, gen: c.h.gen, loc: c.h.loc, node: c.d.label.Node, uuid: c.d.label.Drive}
}

// findSets groups the segments of p's drives by set and assembles each.
func (b *rebuild) findSets(p *poolPlan) error {
	groups := map[uint64][]candidate{}
	for _, pos := range p.drives {
		d := b.drives[pos]
		for _, idx := range slices.Sorted(maps.Keys(d.headers)) {
			h := d.headers[idx]
			if h.bad != nil {
				p.notes = append(p.notes, fmt.Sprintf("drive %d segment %d: header unreadable (%v)", pos, idx, h.bad))
				continue
			}
			groups[h.set] = append(groups[h.set], candidate{d: d, idx: idx, h: h})
			p.maxSet = max(p.maxSet, h.set)
		}
	}
	ids := slices.Sorted(maps.Keys(groups))
	var found, clean int
	for _, id := range ids {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		fs, pr, err := b.assemble(p, id, groups[id])
		if err != nil {
			return err
		}
		if pr.found {
			found++
		}
		if pr.clean {
			clean++
		}
		if fs != nil {
			p.sets = append(p.sets, fs)
		}
	}
	// A block may check by chance with a wrong layout (block numbers are
	// linear in N and the unit), but a whole stripe does not: with the
	// right layout, some set has every segment in place and a test stripe
	// that verifies clean.
	if len(ids) > 0 && (found == 0 || clean == 0) {
		return fmt.Errorf("%w: pool %q: %d sets have members on its drives, and none of them reads back clean with the layout %s (%d have blocks that check): rebuild with the configuration the node ran with (--config); if that is it, every set is damaged", ErrLayout, p.name, len(ids), p.layout, found)
	}
	return nil
}

// probeStripes is how many stripes from the first the member probes look
// at before they give up on a member.
const probeStripes = 4

// probed is what placing a set's segments said of the pool's layout.
type probed struct {
	found bool // a data member's blocks checked
	clean bool // every segment placed, and the test stripe verified clean
}

// assemble puts the segments of set id in their places. fs is nil when
// the set cannot be used (said in a note or a warning).
func (b *rebuild) assemble(p *poolPlan, id uint64, cands []candidate) (fs *foundSet, pr probed, err error) {
	l := p.layout
	roles := make([]int, l.N+l.K)
	for i := range roles {
		roles[i] = -1
	}
	used := make([]bool, len(cands))
	test := int64(-1)
	for s := range int64(probeStripes) {
		for ci, c := range cands {
			if used[ci] {
				continue
			}
			d, err := datalog.ProbeDataMember(datalog.Member{Loc: c.h.loc, Generation: c.h.gen}, id, l, s)
			if err != nil {
				p.notes = append(p.notes, fmt.Sprintf("set %d: drive %d segment %d: %v", id, c.d.pos, c.idx, err))
				used[ci] = true
				continue
			}
			if d < 0 {
				continue
			}
			if roles[d] >= 0 {
				// A second segment with data member d's blocks: a parity
				// member of a one-data-unit layout (whose parity is a copy
				// of the data), or a replaced member's old segment. It is
				// placed with the others of unknown place.
				continue
			}
			used[ci] = true
			roles[d] = ci
			pr.found = true
			if test < 0 {
				test = s
			}
		}
	}
	if test < 0 {
		p.notes = append(p.notes, fmt.Sprintf("set %d: %d segments name it, and no data block of stripes 0-%d checks: an empty set, or one too damaged to read (its segments are given back as free)", id, len(cands), probeStripes-1))
		return nil, pr, nil
	}
	var unknown, open []int
	for ci := range cands {
		if !used[ci] {
			unknown = append(unknown, ci)
		}
	}
	for r, ci := range roles {
		if ci < 0 {
			open = append(open, r)
		}
	}
	members, corrupt, ok := b.placeRoles(p, id, cands, roles, unknown, open, test)
	if !ok {
		b.warn("pool %s set %d: its members cannot be put in their places so that its stripes read back (%d segments found for %d+%d): it is not read, and what it held is lost unless its drives come back; its segments are given back as free", p.name, id, len(cands), l.N, l.K)
		return nil, pr, nil
	}
	fs = &foundSet{pool: p, id: id, members: members}
	placed := 0
	for i, m := range members {
		if m.loc.Dev == nil {
			fs.missing = append(fs.missing, i)
			continue
		}
		placed++
		c := cands[slices.IndexFunc(cands, func(c candidate) bool { return c.d.pos == m.pos && c.idx == m.seg })]
		if fs.created.IsZero() || c.h.created.Before(fs.created) {
			fs.created = c.h.created
		}
	}
	pr.clean = corrupt == 0 && placed == len(cands)
	if fs.end, err = b.streamEnd(fs); err != nil {
		return nil, pr, fmt.Errorf("pool %s set %d: %w", p.name, id, err)
	}
	if fs.end == 0 {
		p.notes = append(p.notes, fmt.Sprintf("set %d: no stripe written (its segments are given back as free)", id))
		return nil, pr, nil
	}
	return fs, pr, nil
}

// placeRoles tries the ways of putting the segments of unknown role in
// the open roles (each in one, or none), the ways that use the most
// segments first, and returns the members of the first whose test stripe
// reads back clean: parity consistent with the data, every data member
// missing rebuilt with a generation its tags confirm, and the stripe
// verified whole (datalog VerifyStripe). When none is clean, the one
// with the fewest corrupt units that reads is taken; corrupt is their
// number.
func (b *rebuild) placeRoles(p *poolPlan, id uint64, cands []candidate, roles, unknown, open []int, test int64) ([]member, int, bool) {
	l := p.layout
	var ways [][]int // each: for every open role, an index of unknown or -1
	var try func(i int, cur []int, taken []bool)
	try = func(i int, cur []int, taken []bool) {
		if i == len(open) {
			ways = append(ways, slices.Clone(cur))
			return
		}
		for u := range unknown {
			if !taken[u] {
				taken[u] = true
				try(i+1, append(cur, u), taken)
				taken[u] = false
			}
		}
		try(i+1, append(cur, -1), taken)
	}
	try(0, nil, make([]bool, len(unknown)))
	count := func(w []int) int {
		n := 0
		for _, u := range w {
			if u >= 0 {
				n++
			}
		}
		return n
	}
	slices.SortStableFunc(ways, func(a, b []int) int { return count(b) - count(a) })
	var best []member
	bestCorrupt := -1
	for _, w := range ways {
		present := len(roles) - len(open) + count(w)
		if present < l.N {
			continue
		}
		members := make([]member, len(roles))
		for r, ci := range roles {
			if ci >= 0 {
				members[r] = cands[ci].member()
			}
		}
		for i, r := range open {
			if w[i] >= 0 {
				members[r] = cands[unknown[w[i]]].member()
			} else {
				members[r] = member{pos: -1, gen: 1}
			}
		}
		corrupt, ok := b.testPlacement(p, id, members, test)
		if !ok {
			continue
		}
		if corrupt == 0 {
			return members, 0, true
		}
		if bestCorrupt < 0 || corrupt < bestCorrupt {
			best, bestCorrupt = members, corrupt
		}
	}
	return best, bestCorrupt, best != nil
}

// testPlacement reads stripe test of the set as members places it: ok
// when it reads, with the number of units found corrupt. The generations
// of missing data members are filled in.
func (b *rebuild) testPlacement(p *poolPlan, id uint64, members []member, test int64) (corrupt int, ok bool) {
	fs := &foundSet{pool: p, id: id, members: members}
	ds := fs.dataSet()
	if ok, known, err := datalog.ParityConsistent(ds, test); err != nil || known && !ok {
		return 0, false
	}
	for r := range p.layout.N {
		if members[r].loc.Dev != nil {
			continue
		}
		gen, err := datalog.RecoverGeneration(ds, r, test, b.o.MaxGeneration)
		if err != nil {
			return 0, false
		}
		members[r].gen = gen
		ds.Members[r].Generation = gen
	}
	rep, err := datalog.Open(ds, (test+1)*datalog.StripeBytes(p.layout)).VerifyStripe(test)
	if err != nil {
		return 0, false
	}
	return len(rep.Corrupt), true
}

// streamEnd is where fs's stream ends: from the zones' write pointers
// when members are zoned, else probed from the block tags.
func (b *rebuild) streamEnd(fs *foundSet) (int64, error) {
	ds := fs.dataSet()
	end, err := datalog.WrittenEnd(ds)
	if err == nil {
		return end, nil
	}
	if !errors.Is(err, datalog.ErrUnknownEnd) {
		fs.pool.notes = append(fs.pool.notes, fmt.Sprintf("set %d: the zones' write pointers cannot be read (%v): the end is probed", fs.id, err))
	}
	return datalog.ProbeEnd(ds, probeStripes)
}

// placeMissing gives each missing member of p's sets a place in the
// allocator's tables: a drive of the pool the set has no member on (a
// missing drive first), and a segment there no set holds (on a present
// drive, one whose header could not be read first: most likely the
// member itself). Its capacity follows.
func (b *rebuild) placeMissing(p *poolPlan) error {
	claimed := map[[2]int]bool{}
	for _, fs := range p.sets {
		for _, m := range fs.members {
			if m.loc.Dev != nil {
				claimed[[2]int{m.pos, int(m.seg)}] = true
			}
		}
	}
	kept := p.sets[:0]
	for _, fs := range p.sets {
		if err := b.placeSet(p, fs, claimed); err != nil {
			b.warn("pool %s set %d: %v: it is not read, and what it held is lost; its segments are given back as free", p.name, fs.id, err)
			continue
		}
		kept = append(kept, fs)
	}
	p.sets = kept
	return nil
}

func (b *rebuild) placeSet(p *poolPlan, fs *foundSet, claimed map[[2]int]bool) error {
	onSet := map[int]bool{}
	for _, m := range fs.members {
		if m.loc.Dev != nil {
			onSet[m.pos] = true
		}
	}
	for _, i := range fs.missing {
		var order []int
		for _, missing := range []bool{true, false} {
			for _, pos := range p.drives {
				if !onSet[pos] && (b.drives[pos].dev == nil) == missing {
					order = append(order, pos)
				}
			}
		}
		placed := false
		for _, pos := range order {
			idx, ok := b.freeSegment(b.drives[pos], claimed)
			if !ok {
				continue
			}
			fs.members[i].pos, fs.members[i].seg = pos, idx
			fs.members[i].node, fs.members[i].uuid = b.drives[pos].label.Node, b.drives[pos].label.Drive
			claimed[[2]int{pos, int(idx)}] = true
			onSet[pos] = true
			placed = true
			break
		}
		if !placed {
			return fmt.Errorf("member %d is missing and no drive of the pool has a segment to stand for it", i)
		}
	}
	smallest := int64(0)
	for _, m := range fs.members {
		if s := b.drives[m.pos].segSize; smallest == 0 || s < smallest {
			smallest = s
		}
	}
	fs.capacity = int64(p.layout.N) * smallest
	return nil
}

// freeSegment picks a data segment of d no set holds: on a present drive
// one whose header is damaged first, then one never written.
func (b *rebuild) freeSegment(d *driveInfo, claimed map[[2]int]bool) (uint32, bool) {
	free := func(i uint32) bool { return !d.isMeta(i) && !claimed[[2]int{d.pos, int(i)}] }
	if d.dev != nil {
		for _, i := range slices.Sorted(maps.Keys(d.headers)) {
			if d.headers[i].bad != nil && free(i) {
				return i, true
			}
		}
		for i := uint32(0); i < d.label.NrSegments; i++ {
			if _, hdr := d.headers[i]; !hdr && free(i) {
				return i, true
			}
		}
		return 0, false
	}
	for i := uint32(0); i < d.label.NrSegments; i++ {
		if free(i) {
			return i, true
		}
	}
	return 0, false
}

// digest identifies what discovery found, so that a resumed rebuild
// goes on only over the same sets.
func (b *rebuild) digest() [32]byte {
	h := sha256.New()
	put := func(v uint64) { h.Write(binary.BigEndian.AppendUint64(nil, v)) }
	for _, p := range b.pools {
		h.Write([]byte(p.name))
		put(uint64(p.layout.N))
		put(uint64(p.layout.K))
		put(uint64(p.layout.Unit))
		for _, fs := range p.sets {
			put(fs.id)
			put(uint64(fs.end))
			put(uint64(fs.capacity))
			for _, m := range fs.members {
				put(uint64(m.pos))
				put(uint64(m.seg))
				put(m.gen)
			}
		}
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}
