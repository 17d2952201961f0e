package pool

import (
	"time"

	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/stripe"
)

// ReadAt reads up to len(p) bytes of owner's content at offset off. It
// returns the bytes read and io.EOF when the content ends before p is
// full. Every byte is verified; a damaged or missing unit is rebuilt from
// parity (reported as an event and queued for repair). More damage than
// the layout tolerates is an error wrapping stripe.ErrUnrecoverable, never
// wrong data.
func (p *Pool) ReadAt(ctx context.Context, owner []byte, buf []byte, off int64) (int, Info, error) {
	if err := checkOwner(owner); err != nil {
		return 0, Info{}, err
	}
	if off < 0 {
		return 0, Info{}, fmt.Errorf("%w: read %q at offset %d", ErrInvalid, owner, off)
	}
	// The gate keeps the sets the view points into from being released
	// and reused while they are read.
	p.gate.RLock()
	defer p.gate.RUnlock()
	view, err := p.st.View(p.heads, p.extents)
	if err != nil {
		return 0, Info{}, fmt.Errorf("read %q: %w", owner, err)
	}
	defer view.Close()
	hv, ok, err := view.Get(p.heads, owner)
	if err != nil {
		return 0, Info{}, fmt.Errorf("read %q: %w", owner, err)
	}
	if !ok {
		return 0, Info{}, fmt.Errorf("%q: %w", owner, ErrNotFound)
	}
	h, err := decodeHead(hv)
	if err != nil {
		return 0, Info{}, fmt.Errorf("head of %q: %w", owner, err)
	}
	if h.state != stateData {
		return 0, Info{Version: h.version}, fmt.Errorf("%q: %w (deleted at version %d)", owner, ErrNotFound, h.version)
	}
	info := Info{Version: h.version, Size: h.size, Attrs: bytes.Clone(h.attrs)}
	if off >= h.size {
		return 0, info, io.EOF
	}
	want := min(int64(len(buf)), h.size-off)
	it, err := view.Iter(p.extents)
	if err != nil {
		return 0, info, err
	}
	prefix := extentPrefix(owner)
	done := int64(0)
	var parts []extentRead
	for ok := it.SeekLE(extentKey(owner, off)); done < want; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return int(done), info, err
		}
		if !ok || !bytes.HasPrefix(it.Key(), prefix) {
			if err := it.Err(); err != nil {
				return int(done), info, fmt.Errorf("read %q: extents: %w", owner, err)
			}
			return int(done), info, fmt.Errorf("%w: %q: no extent holds offset %d of %d bytes", ErrCorrupt, owner, off+done, h.size)
		}
		_, eoff, err := parseExtentKey(it.Key())
		if err != nil {
			return int(done), info, err
		}
		e, err := decodeExtent(it.Value(), eoff)
		if err != nil {
			return int(done), info, fmt.Errorf("extent of %q at %d: %w", owner, eoff, err)
		}
		at := off + done
		if at < e.offset || at >= e.offset+e.payload {
			if e.payload == 0 && at >= e.offset {
				continue
			}
			return int(done), info, fmt.Errorf("%w: %q: extent at %d (%d bytes) does not hold offset %d", ErrCorrupt, owner, e.offset, e.payload, at)
		}
		n := min(want-done, e.offset+e.payload-at)
		parts = append(parts, extentRead{e: e, dst: buf[done : done+n], in: at - e.offset, at: at})
		done += n
	}
	// The extents are read in parallel: each is at most a stripe, whose
	// units are read in parallel in turn, so a range of many stripes
	// keeps every drive of the set busy.
	if err := p.readExtents(parts, len(owner)); err != nil {
		return 0, info, fmt.Errorf("read %q: %w", owner, err)
	}
	p.stats.bytesRead.Add(done)
	if done < int64(len(buf)) {
		return int(done), info, io.EOF
	}
	return int(done), info, nil
}

// extentRead is part of an extent's payload to read into dst.
type extentRead struct {
	e   extent
	dst []byte
	in  int64 // offset in the extent's payload
	at  int64 // the owner's offset, for errors
}

// maxExtentReads bounds the extents one read reads at once.
const maxExtentReads = 8

// readExtents reads parts, up to maxExtentReads at once; the error is the
// first part's (in owner order) that failed.
func (p *Pool) readExtents(parts []extentRead, ownerLen int) error {
	if len(parts) == 1 {
		return p.readExtent(parts[0].e, ownerLen, parts[0].dst, parts[0].in)
	}
	errs := make([]error, len(parts))
	sem := make(chan struct{}, maxExtentReads)
	var wg sync.WaitGroup
	for i := range parts {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			pt := &parts[i]
			if err := p.readExtent(pt.e, ownerLen, pt.dst, pt.in); err != nil {
				errs[i] = fmt.Errorf("at %d: %w", pt.at, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readExtent reads part of an extent's payload (from offset in) into dst.
func (p *Pool) readExtent(e extent, ownerLen int, dst []byte, in int64) error {
	r, err := p.reader(e.rec.set, e.rec.off+e.rec.len)
	if err != nil {
		return err
	}
	at := e.dataOffset(ownerLen) + in
	rep, err := r.ReadAt(dst, at)
	if !clean(rep) {
		p.damaged(e.rec.set, at/p.sb, rep, err)
	}
	return err
}

func clean(r stripe.Report) bool {
	return len(r.Missing) == 0 && len(r.Corrupt) == 0 && len(r.Rebuilt) == 0
}

// reader returns a reader of set id's stream that reaches at least end.
func (p *Pool) reader(id alloc.SetID, end int64) (*datalog.Reader, error) {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	if r, ok := p.readers[id]; ok && p.rends[id] >= end {
		return r, nil
	}
	s, err := p.al.Lookup(id)
	if err != nil {
		return nil, fmt.Errorf("set %d: %w", id, err)
	}
	if s.Frontier < end {
		return nil, fmt.Errorf("%w: set %d's frontier %d is below a record ending at %d", ErrCorrupt, id, s.Frontier, end)
	}
	// The data log's usable stream is a little shorter than the
	// allocator's capacity; the frontier never passes it.
	r := datalog.Open(p.dataSet(s), s.Frontier)
	if hedge := p.opts.Hedge; hedge != nil {
		members := s.Members
		r.SetHedge(func(i int) time.Duration { return hedge(members[i].Drive) })
	}
	p.readers[id], p.rends[id] = r, s.Frontier
	return r, nil
}

// dropReader forgets a released set's reader.
func (p *Pool) dropReader(id alloc.SetID) {
	p.rmu.Lock()
	delete(p.readers, id)
	delete(p.rends, id)
	p.rmu.Unlock()
}

// damaged reports a stripe a read found damaged and queues it for repair.
// A stripe already queued is neither reported nor queued again, so a
// missing drive (every read of its sets degraded) does not flood the
// events or the metadata.
func (p *Pool) damaged(id alloc.SetID, s int64, rep stripe.Report, err error) {
	p.stats.degradedReads.Add(1)
	var mask uint64
	for _, m := range append(append(rep.Missing, rep.Corrupt...), rep.Rebuilt...) {
		if m < 64 {
			mask |= 1 << m
		}
	}
	k := string(repairKey(id, s))
	p.repairMu.Lock()
	known := p.repairKnown[k]
	if !known && err == nil && len(p.repairKnown) < maxRepairKnown {
		p.repairKnown[k] = true
	}
	p.repairMu.Unlock()
	if known {
		return
	}
	kind := EventDegradedRead
	detail := fmt.Sprintf("missing %v, corrupt %v, rebuilt %v", rep.Missing, rep.Corrupt, rep.Rebuilt)
	if err != nil {
		kind = EventUnrecoverable
		detail += ": " + err.Error()
	}
	p.event(Event{Kind: kind, Set: uint64(id), Stripe: s, Detail: detail})
	if err != nil || p.isClosed() || p.inspect {
		return
	}
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		_, err := p.submit(context.Background(), op{kind: opRepairQueue, set: id, stripe: s, members: mask})
		if err != nil {
			p.forgetRepair(id, s)
			return
		}
		p.event(Event{Kind: EventRepairQueued, Set: uint64(id), Stripe: s})
		p.kickRepair()
	}()
}

// maxRepairKnown bounds the stripes remembered as queued; past it reads
// queue nothing more until repairs catch up.
const maxRepairKnown = 1 << 16

func (p *Pool) forgetRepair(id alloc.SetID, s int64) {
	p.repairMu.Lock()
	delete(p.repairKnown, string(repairKey(id, s)))
	p.repairMu.Unlock()
}
