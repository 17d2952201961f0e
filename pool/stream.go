package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/seg"
)

// stream is an open set being written: one of the foreground's or the
// cleaner's.
type stream struct {
	cleaner bool
	set     alloc.Set
	w       *datalog.Writer

	// io serialises the writer (appends, flushes, finish) and guards the
	// fields below it. It is taken before wmu, never while holding it.
	io       sync.Mutex
	flushed  int64        // stream end made durable by the last Flush
	advanced int64        // the set's committed frontier
	lost     map[int]bool // members the writer has lost, as reported
	finished bool         // flushed for good and zones finished (retired)

	retired bool         // in p.retired, takes no more writes (guarded by wmu)
	pending atomic.Int64 // writes with records here that are not committed yet
}

// dataSet describes an allocator set to the data log: its members'
// locations on the pool's drives. A member on a missing drive, or one
// that cannot be located, has no device (read as lost).
func (p *Pool) dataSet(s alloc.Set) datalog.Set {
	ds := datalog.Set{ID: uint64(s.ID), Layout: p.layout}
	for _, m := range s.Members {
		dm := datalog.Member{Generation: m.Gen}
		if d, ok := p.drives[m.Drive]; ok {
			dm.Node, dm.Drive = d.Label.Node, d.Label.Drive
			if d.Dev != nil {
				if l, err := seg.Locate(d.Dev, d.Label.Layout, m.Segment); err == nil {
					dm.Loc = l
				}
			}
		}
		ds.Members = append(ds.Members, dm)
	}
	return ds
}

// openStream starts a new set for the foreground or the cleaner. A drive
// that fails while the set's segments are created is marked faulty and
// the set is given back; another is tried.
func (p *Pool) openStream(ctx context.Context, cleaner bool) (*stream, error) {
	flags := alloc.Flags(0)
	if cleaner {
		flags = alloc.ForCleaner
	}
	for attempt := 0; ; attempt++ {
		s, err := p.al.NewSet(ctx, alloc.EC(p.layout.N, p.layout.K), flags)
		if err != nil {
			if errors.Is(err, alloc.ErrNoSpace) {
				return nil, fmt.Errorf("%w: %w", ErrNoSpace, err)
			}
			return nil, err
		}
		ds := p.dataSet(s)
		w, err := datalog.Create(ds)
		if err == nil {
			return &stream{cleaner: cleaner, set: s, w: w}, nil
		}
		// Which member failed: mark its drive faulty so the next set
		// avoids it.
		for i, m := range ds.Members {
			if m.Loc.Dev == nil {
				p.driveFailed(s.Members[i].Drive, fmt.Errorf("set %d: member %d has no device", s.ID, i))
			}
		}
		var me *datalog.MemberError
		if errors.As(err, &me) && me.Member < len(s.Members) {
			p.driveFailed(s.Members[me.Member].Drive, err)
		}
		if rerr := p.giveBack(ctx, s.ID); rerr != nil {
			err = errors.Join(err, rerr)
		}
		if attempt >= 3 {
			return nil, fmt.Errorf("start a segment set: %w", err)
		}
	}
}

// giveBack releases a set that holds nothing.
func (p *Pool) giveBack(ctx context.Context, id alloc.SetID) error {
	if err := p.al.Seal(ctx, id); err != nil {
		return err
	}
	_, err := p.releaseSet(ctx, id)
	return err
}

// driveFailed marks a drive faulty (no new members) and reports it.
func (p *Pool) driveFailed(pos uint32, why error) {
	if err := p.al.SetHealth(pos, alloc.Faulty); err != nil {
		return
	}
	p.event(Event{Kind: EventDriveFailed, Drive: pos, HasDrive: true, Detail: why.Error()})
}

// appended is where part of a write went.
type appended struct {
	s   *stream
	ext extent
}

// appendRecords appends the records of a write of payload at logical offset
// off of owner (a tombstone when tomb), splitting it at stripe boundaries,
// to the cleaner's stream or the foreground stream of slot. Each stream
// written is counted pending; the caller commits or abandons. The caller
// holds no lock.
func (p *Pool) appendRecords(ctx context.Context, cleaner bool, slot int, kind byte, owner []byte, version uint64, off int64, payload []byte, out []appended) ([]appended, error) {
	first := true
	for first || len(payload) > 0 {
		s, err := p.acquire(ctx, cleaner, slot)
		if err != nil {
			return out, err
		}
		end := s.w.End()
		room := p.sb - end%p.sb
		hl := headerLen(len(owner))
		need := hl
		if kind == kindData && len(payload) > 0 {
			need++
		}
		if room < need || end+need > s.w.Capacity() {
			if end+room >= s.w.Capacity() {
				err := p.retire(s)
				s.io.Unlock()
				if err != nil {
					return out, err
				}
				continue
			}
			if _, err := s.w.Append(make([]byte, room)); err != nil {
				err = p.writeFailed(s, err)
				s.io.Unlock()
				return out, err
			}
			s.io.Unlock()
			continue
		}
		n := min(int64(len(payload)), room-hl, s.w.Capacity()-end-hl)
		r := record{kind: kind, owner: owner, payload: uint32(n), version: version, offset: uint64(off), checksum: payloadSum(payload[:n])}
		hdr := appendHeader(make([]byte, 0, hl), &r)
		at, err := s.w.Append(hdr)
		if err == nil && n > 0 {
			_, err = s.w.Append(payload[:n])
		}
		if err != nil {
			err = p.writeFailed(s, err)
			s.io.Unlock()
			return out, err
		}
		s.pending.Add(1)
		out = append(out, appended{s: s, ext: extent{offset: off, rec: loc{set: s.set.ID, off: at, len: hl + n}, payload: n, version: version, checksum: r.checksum}})
		off += n
		payload = payload[n:]
		first = false
		p.noteLost(s)
		s.io.Unlock()
	}
	return out, nil
}

// acquire returns the stream a write goes to, its io lock held: the
// cleaner's, or the foreground's of slot, starting a set when the slot has
// none. When no new set can be started (no space, or the drives' open-zone
// limits) a foreground write takes another slot's stream.
func (p *Pool) acquire(ctx context.Context, cleaner bool, slot int) (*stream, error) {
	for {
		p.wmu.Lock()
		sp := &p.cl
		if !cleaner {
			sp = &p.fgs[slot%len(p.fgs)]
		}
		s := *sp
		if s == nil {
			var err error
			if s, err = p.openStream(ctx, cleaner); err != nil {
				s = nil
				if !cleaner {
					s = p.anyForeground()
				}
				if s == nil {
					p.wmu.Unlock()
					return nil, err
				}
			} else {
				*sp = s
			}
		}
		p.wmu.Unlock()
		s.io.Lock()
		p.wmu.Lock()
		ok := !s.retired
		p.wmu.Unlock()
		if ok {
			return s, nil
		}
		s.io.Unlock()
	}
}

// anyForeground returns a foreground stream, if one is open (wmu held).
func (p *Pool) anyForeground() *stream {
	for _, s := range p.fgs {
		if s != nil {
			return s
		}
	}
	return nil
}

// detach takes s out of the writable streams and lists it retired (wmu
// held).
func (p *Pool) detach(s *stream) {
	for i, f := range p.fgs {
		if f == s {
			p.fgs[i] = nil
		}
	}
	if p.cl == s {
		p.cl = nil
	}
	if !s.retired {
		s.retired = true
		p.retired = append(p.retired, s)
	}
}

// retire flushes a stream for good, finishes its zones and hands it to the
// committer to seal. The caller holds s.io.
func (p *Pool) retire(s *stream) error {
	p.wmu.Lock()
	p.detach(s)
	p.wmu.Unlock()
	end, err := s.w.Flush()
	p.noteLost(s)
	if err != nil {
		return p.writeFailed(s, err)
	}
	s.flushed = end
	if err := s.w.Finish(); err != nil {
		p.event(Event{Kind: EventIOError, Set: uint64(s.set.ID), Detail: fmt.Sprintf("finish zones: %v", err)})
	}
	s.finished = true
	return nil
}

// writeFailed handles a failed append or flush: the writer lost more than
// K members, so nothing more can go into the set. It is retired (sealed
// once its committed part is), and the error is returned to the writer.
// The caller holds s.io.
func (p *Pool) writeFailed(s *stream, err error) error {
	p.noteLost(s)
	p.wmu.Lock()
	p.detach(s)
	p.wmu.Unlock()
	s.finished = true
	p.event(Event{Kind: EventIOError, Set: uint64(s.set.ID), Detail: err.Error()})
	return fmt.Errorf("write to set %d: %w", s.set.ID, err)
}

// noteLost reports members the set's writer has newly lost: their drives
// are marked faulty, and the set is retired early so that new data goes
// to a set with its full redundancy (flushed and finished by the
// committer's next round). The caller holds s.io.
func (p *Pool) noteLost(s *stream) {
	fresh := false
	for _, i := range s.w.Lost() {
		if s.lost[i] {
			continue
		}
		if s.lost == nil {
			s.lost = map[int]bool{}
		}
		s.lost[i], fresh = true, true
		p.driveFailed(s.set.Members[i].Drive, fmt.Errorf("set %d member %d: %w", s.set.ID, i, s.w.LostErr(i)))
	}
	if !fresh {
		return
	}
	p.wmu.Lock()
	p.detach(s)
	p.wmu.Unlock()
}
