package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
)

// TypeTxn is the segment record type of a transaction.
const TypeTxn = seg.TypeUser

// catchUpLimit bounds the records kept in memory during replay to bring a
// lagging mirror up to the others. Mirrors differ by at most the last
// unflushed write unless one failed earlier, which is what a rebuild is for.
const catchUpLimit = 2 * seg.MaxWrite

// WAL is the metadata journal. Commit and Checkpoint are safe for
// concurrent use.
type WAL struct {
	opts Options

	mu         sync.Mutex
	space      *sync.Cond // signalled when a checkpoint frees ring positions, and on Close
	positions  []position
	active     int           // ring index of the active segment; -1 while waiting for space
	writers    []*seg.Writer // per mirror, for the active segment; nil when the mirror is out
	healthy    []bool
	nextLSN    LSN
	flushed    LSN // the last LSN durable on every healthy mirror
	checkpoint LSN
	maxGen     uint64
	readOnly   error
	closed     bool
	// inspect: opened by OpenReadOnly; recovery writes nothing.
	inspect bool

	maxTxn int // the largest transaction a segment of every mirror can hold

	reqs     chan *request
	closing  chan struct{} // closed by Close: the loop drains reqs and stops
	loopDone chan struct{}
	stats    Stats
}

// Stats counts what the journal did.
type Stats struct {
	Commits   uint64 // transactions acknowledged
	Batches   uint64 // group commits (one write and flush per mirror each)
	Bytes     uint64 // transaction bytes acknowledged
	Segments  uint64 // segments started
	Healthy   int    // mirrors in use
	NextLSN   LSN
	Checkpt   LSN
	UsedSegs  int // ring positions holding records not yet checkpointed
	RingSize  int
	ReadOnly  bool
	Waiting   bool // commits wait for a checkpoint
	LastError string
}

// Create formats a new journal on the mirrors' rings (destroying what they
// held) and opens it.
func Create(opts Options) (*WAL, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	for _, mir := range opts.Mirrors {
		for i, loc := range mir.Ring {
			if err := invalidate(loc); err != nil {
				return nil, fmt.Errorf("create journal on %s, segment %d: %w", mir.Name, i, err)
			}
		}
		if len(mir.Ring) > 0 {
			if err := mir.Ring[0].Dev.Flush(); err != nil {
				return nil, fmt.Errorf("create journal on %s: %w", mir.Name, err)
			}
		}
	}
	return Open(opts, 0, func(LSN, []byte) error { return nil })
}

// maxTxn is the largest transaction the journal accepts: one record in one
// write, in a fresh segment of the smallest ring segment.
func maxTxn(opts Options) int {
	n := min(seg.MaxPayload, opts.MaxBatch-2*seg.RecordHeaderSize-16)
	for _, mir := range opts.Mirrors {
		for _, loc := range mir.Ring {
			bs := loc.Dev.Geometry().WriteUnit(4096) // seg's block size
			// header block, footer block, footer copy, and a block of slack
			n = min(n, int(loc.Capacity/bs*bs-4*bs)-2*seg.RecordHeaderSize-16)
		}
	}
	return max(n, 0)
}

// invalidate makes a ring segment hold nothing: a zone reset, or a zeroed
// header block on a conventional drive.
func invalidate(loc seg.Location) error {
	if loc.Sequential {
		z, ok := dev.AsZoned(loc.Dev)
		if !ok {
			return errors.New("sequential segment on a device that is not zoned")
		}
		return z.ResetZone(loc.Start)
	}
	bs := max(4096, loc.Dev.Geometry().LogicalBlockSize)
	_, err := loc.Dev.WriteAt(dev.AlignedBuffer(bs), loc.Start)
	return err
}

// Open opens the journal and replays, in LSN order, every transaction after
// checkpoint (the LSN the layer above last made durable elsewhere), calling
// replay for each. It verifies every record, tolerates a torn tail, reads a
// record damaged on one mirror from another (with an EventBadCopy), and
// brings mirrors that missed the last write up to date, so that everything
// replay saw is on every healthy mirror before Open returns.
func Open(opts Options, checkpoint LSN, replay func(lsn LSN, txn []byte) error) (*WAL, error) {
	return open(opts, checkpoint, replay, false)
}

// open is Open, or OpenReadOnly when inspect is set.
func open(opts Options, checkpoint LSN, replay func(lsn LSN, txn []byte) error, inspect bool) (*WAL, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	w := &WAL{
		inspect:    inspect,
		opts:       opts,
		positions:  make([]position, len(opts.Mirrors[0].Ring)),
		writers:    make([]*seg.Writer, len(opts.Mirrors)),
		healthy:    make([]bool, len(opts.Mirrors)),
		checkpoint: checkpoint,
		active:     -1,
		reqs:       make(chan *request, 1024),
		closing:    make(chan struct{}),
		loopDone:   make(chan struct{}),
	}
	w.space = sync.NewCond(&w.mu)
	hdrs, failed := w.readHeaders()
	for m, mir := range opts.Mirrors {
		w.healthy[m] = true
		if mir.Joining {
			// Nothing on it counts, in either direction: its
			// headers neither start the chain nor make the others
			// look behind.
			hdrs[m], failed[m] = make([]use, len(mir.Ring)), nil
		}
		if failed[m] != nil {
			w.fail(m, failed[m])
		}
	}
	for i := range w.positions {
		for m := range opts.Mirrors {
			if w.healthy[m] && hdrs[m][i].gen > w.positions[i].gen {
				w.positions[i].use = hdrs[m][i]
			}
		}
		w.maxGen = max(w.maxGen, w.positions[i].gen)
	}
	if err := w.recover(hdrs, replay); err != nil {
		return nil, err
	}
	w.flushed = w.nextLSN - 1
	w.checkHealth()
	w.maxTxn = maxTxn(opts)
	if inspect && w.readOnly == nil {
		w.readOnly = errInspect
	}
	if w.readOnly == nil {
		w.clearJoining()
		w.mu.Lock()
		w.release()
		w.startSegment() // may leave active at -1 until a checkpoint frees space
		w.mu.Unlock()
	}
	go w.loop()
	return w, nil
}

// clearJoining clears the ring of every joining mirror, so that nothing
// written there before (by an earlier life of the drive, or an attempt to
// join that a crash cut short) can be taken for part of the journal at a
// later Open. Called before the first segment is started.
func (w *WAL) clearJoining() {
	for m, mir := range w.opts.Mirrors {
		if !mir.Joining || !w.healthy[m] {
			continue
		}
		var err error
		for i, loc := range mir.Ring {
			if err = invalidate(loc); err != nil {
				err = fmt.Errorf("clear journal segment %d of a joining mirror: %w", i, err)
				break
			}
		}
		if err == nil && len(mir.Ring) > 0 {
			err = mir.Ring[0].Dev.Flush()
		}
		if err != nil {
			w.fail(m, err)
			continue
		}
		w.event(EventMirrorJoined, m, fmt.Sprintf("joins the journal from LSN %d", w.nextLSN))
	}
	w.checkHealth()
}

// Healthy says whether mirror m (an index into Options.Mirrors) is still
// written.
func (w *WAL) Healthy(m int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return m >= 0 && m < len(w.healthy) && w.healthy[m]
}

// recover replays the chain after the checkpoint and makes the mirrors
// agree on its end.
func (w *WAL) recover(hdrs [][]use, replay func(LSN, []byte) error) (err error) {
	order := chainOrder(w.positions)
	w.nextLSN = w.checkpoint + 1
	var seals []func()
	for len(order) > 0 {
		seal, ok := w.dropUnstarted(order[len(order)-1], hdrs)
		if !ok {
			break
		}
		order = order[:len(order)-1]
		seals = append(seals, seal)
	}
	defer func() {
		// After the replay: Open writes nothing before it has read
		// everything.
		for _, seal := range seals {
			if err == nil && !w.inspect {
				seal()
			}
		}
	}()
	if len(order) == 0 {
		if w.checkpoint > 0 && len(seals) == 0 {
			// The newest segment is never reused before the next one
			// is started (see freePosition), so an empty ring after a
			// checkpoint means the ring itself was lost.
			return fmt.Errorf("open journal: no journal segment on any mirror, but the checkpoint is at LSN %d: the journal's drives are missing or were wiped", w.checkpoint)
		}
		return nil
	}
	// Skip segments that end at or before the checkpoint.
	start := 0
	for k := 0; k+1 < len(order); k++ {
		if w.positions[order[k+1]].first <= w.checkpoint+1 {
			start = k + 1
		}
	}
	if first := w.positions[order[start]].first; first > w.checkpoint+1 {
		return fmt.Errorf("open journal: the oldest segment starts at LSN %d but the checkpoint is at %d: LSNs %d..%d are missing on every mirror",
			first, w.checkpoint, w.checkpoint+1, first-1)
	}
	expected := w.positions[order[start]].first
	for k := start; k < len(order); k++ {
		i := order[k]
		p := &w.positions[i]
		p.inChain = true
		if p.first > expected {
			return fmt.Errorf("open journal: segment %d starts at LSN %d, but the previous one ends at %d: LSNs %d..%d are missing on every mirror",
				i, p.first, expected-1, expected, p.first-1)
		}
		limit := LSN(0) // exclusive; 0: none
		if k+1 < len(order) {
			limit = w.positions[order[k+1]].first
		}
		last := k == len(order)-1
		end, err := w.replaySegment(i, hdrs, limit, last, replay)
		if err != nil {
			return err
		}
		p.last = end
		expected = end + 1
	}
	w.nextLSN = max(expected, w.checkpoint+1)
	return nil
}

// dropUnstarted handles a newest segment that some healthy mirror lacks
// and that holds no record: a power cut while the journal was starting it
// left its header on the mirrors done with it and not on the others. No
// transaction can be in it (records are appended only once every healthy
// mirror has the header), so the mirrors without it missed nothing and
// must not be failed as behind: the segment leaves the chain and the one
// before it is the newest. It reports whether the segment is dropped, and
// returns what seals it where it exists (releasing its zone).
func (w *WAL) dropUnstarted(i int, hdrs [][]use) (seal func(), dropped bool) {
	p := w.positions[i]
	lacking := false
	var holders []int
	var scans []*seg.Scanner
	for m, mir := range w.opts.Mirrors {
		if !w.healthy[m] || mir.Joining {
			continue
		}
		if hdrs[m][i] != p.use {
			lacking = true
			continue
		}
		s, err := seg.Scan(mir.Ring[i], w.expect(m, p.gen))
		if err != nil {
			return nil, false
		}
		if _, err := s.Next(); err != io.EOF {
			return nil, false // a record, or damage before a later write
		}
		holders, scans = append(holders, m), append(scans, s)
	}
	if !lacking {
		return nil, false
	}
	return func() {
		for k, m := range holders {
			if !w.healthy[m] {
				continue
			}
			loc := w.opts.Mirrors[m].Ring[i]
			sw, err := seg.Resume(loc, scans[k])
			if err == nil {
				_, err = sw.Seal()
			}
			switch {
			case errors.Is(err, seg.ErrSealed):
				w.finishZone(m, loc)
			case err != nil:
				w.fail(m, fmt.Errorf("seal empty journal segment %d: %w", i, err))
			}
		}
	}, true
}

// mirrorScan is one mirror's scan of a segment during replay.
type mirrorScan struct {
	m    int
	s    *seg.Scanner
	cur  seg.Record
	ok   bool  // cur holds the next record
	err  error // the scan ended in damage
	last LSN   // last LSN this mirror holds
}

func (ms *mirrorScan) advance() {
	r, err := ms.s.Next()
	switch {
	case err == nil:
		ms.cur, ms.ok = r, true
		return
	case err != io.EOF:
		ms.err = err
	}
	ms.ok = false
}

// replaySegment streams the records of ring position i, merged across the
// mirrors that hold its current use, to replay (those after the
// checkpoint), and returns the last LSN found. For the newest segment
// (last) it then brings lagging mirrors up to date and seals it.
func (w *WAL) replaySegment(i int, hdrs [][]use, limit LSN, last bool, replay func(LSN, []byte) error) (LSN, error) {
	p := w.positions[i]
	var scans []*mirrorScan
	var lacking []int // mirrors without the newest segment
	for m, mir := range w.opts.Mirrors {
		if !w.healthy[m] || mir.Joining {
			continue
		}
		if hdrs[m][i] != p.use {
			if last {
				lacking = append(lacking, m)
			}
			continue
		}
		s, err := seg.Scan(mir.Ring[i], w.expect(m, p.gen))
		if err != nil {
			if !isDataError(err) {
				w.fail(m, err)
				continue
			}
			w.event(EventBadCopy, m, fmt.Sprintf("journal segment %d unreadable: %v", i, err))
			continue
		}
		ms := &mirrorScan{m: m, s: s, last: p.first - 1}
		ms.advance()
		scans = append(scans, ms)
	}
	if len(scans) == 0 {
		return 0, fmt.Errorf("open journal: no mirror holds a readable copy of segment %d (generation %d, from LSN %d)", i, p.gen, p.first)
	}
	var catchUp []pending
	catchUpBytes := 0
	lsn := p.first
	for ; limit == 0 || lsn < limit; lsn++ {
		var rec *seg.Record
		for _, ms := range scans {
			for ms.ok && ms.cur.Seq < lsn {
				ms.advance()
			}
			if !ms.ok || ms.cur.Seq != lsn {
				continue
			}
			if rec == nil {
				rec = &ms.cur
			} else if !bytes.Equal(rec.Payload, ms.cur.Payload) {
				return 0, fmt.Errorf("open journal: mirrors %s and %s hold different transactions at LSN %d",
					w.opts.Mirrors[scans[0].m].Name, w.opts.Mirrors[ms.m].Name, lsn)
			}
			ms.last = lsn
		}
		if rec == nil {
			break
		}
		if lsn > w.checkpoint {
			if err := replay(lsn, rec.Payload); err != nil {
				return 0, fmt.Errorf("replay LSN %d: %w", lsn, err)
			}
		}
		if last {
			lagging := false
			for _, ms := range scans {
				lagging = lagging || ms.last != lsn
			}
			if lagging && catchUpBytes <= catchUpLimit {
				catchUp = append(catchUp, pending{lsn: lsn, txn: bytes.Clone(rec.Payload)})
				catchUpBytes += len(rec.Payload)
			}
		}
		for _, ms := range scans {
			if ms.ok && ms.cur.Seq == lsn {
				ms.advance()
			}
		}
	}
	end := lsn - 1
	// A mirror without the newest segment missed writes while it was out,
	// unless the segment holds nothing after the checkpoint: then no
	// mirror can miss anything (and the segment's own position may have
	// been released and reused on that mirror already).
	if end > w.checkpoint {
		for _, m := range lacking {
			w.fail(m, fmt.Errorf("it lacks the newest journal segment (position %d, generation %d): it missed writes while out; rebuild it", i, p.gen))
			w.event(EventMirrorBehind, m, "lacks the newest journal segment; left out until rebuilt")
		}
	}
	for _, ms := range scans {
		if ms.err != nil {
			w.event(EventBadCopy, ms.m, fmt.Sprintf("journal segment %d damaged: %v; read from another mirror", i, ms.err))
		} else if ms.last < end && !last {
			w.event(EventBadCopy, ms.m, fmt.Sprintf("journal segment %d ends at LSN %d on this mirror, at %d on another; read from another mirror", i, ms.last, end))
		}
	}
	if last && !w.inspect {
		w.finishNewest(i, scans, catchUp, end)
	}
	return end, nil
}

type pending struct {
	lsn LSN
	txn []byte
}

// finishNewest brings every mirror that holds the newest segment up to its
// end (appending what it missed) and seals it there, so all healthy mirrors
// hold the same transactions before the journal moves to a new segment.
func (w *WAL) finishNewest(i int, scans []*mirrorScan, catchUp []pending, end LSN) {
	for _, ms := range scans {
		loc := w.opts.Mirrors[ms.m].Ring[i]
		if ms.err != nil {
			// Damaged before its tail: nothing can be appended; later
			// reads use the others.
			w.finishZone(ms.m, loc)
			continue
		}
		sw, err := seg.Resume(loc, ms.s)
		if err != nil {
			if errors.Is(err, seg.ErrSealed) && ms.last == end {
				// A power cut may have come between the footer and
				// the finish.
				w.finishZone(ms.m, loc)
				continue
			}
			w.fail(ms.m, fmt.Errorf("resume journal segment %d: %w", i, err))
			continue
		}
		missing := 0
		for _, pd := range catchUp {
			if pd.lsn <= ms.last {
				continue
			}
			if pd.lsn != sw.NextSeq() {
				w.fail(ms.m, fmt.Errorf("journal segment %d is %d transactions behind, more than replay kept; rebuild it", i, end-ms.last))
				sw = nil
				break
			}
			_, err := sw.Append(TypeTxn, 0, pd.txn)
			if errors.Is(err, seg.ErrBatchFull) {
				// More than one write behind: write what is pending first.
				if err = sw.Flush(); err == nil {
					_, err = sw.Append(TypeTxn, 0, pd.txn)
				}
			}
			if err != nil {
				w.fail(ms.m, fmt.Errorf("catch up journal segment %d: %w", i, err))
				sw = nil
				break
			}
			missing++
		}
		if sw == nil {
			continue
		}
		if sw.NextSeq() != end+1 {
			w.fail(ms.m, fmt.Errorf("journal segment %d ends at LSN %d on this mirror, %d elsewhere; rebuild it", i, sw.NextSeq()-1, end))
			continue
		}
		if _, err := sw.Seal(); err != nil {
			w.fail(ms.m, fmt.Errorf("seal journal segment %d: %w", i, err))
			continue
		}
		if missing > 0 {
			w.event(EventBadCopy, ms.m, fmt.Sprintf("journal segment %d lacked %d transactions up to LSN %d; copied from another mirror", i, missing, end))
		}
	}
}

// finishZone finishes the zone of a sequential segment of mirror m that
// the journal will not write again, so that it holds no open or active
// zone resource: the journal writes one segment per mirror at a time, and
// drives with few open or active zones have none to spare. Finishing a
// full zone does nothing.
func (w *WAL) finishZone(m int, loc seg.Location) {
	if !loc.Sequential {
		return
	}
	z, ok := dev.AsZoned(loc.Dev)
	if !ok {
		return
	}
	if err := z.FinishZone(loc.Start); err != nil {
		w.fail(m, fmt.Errorf("finish the zone of %s: %w", loc, err))
	}
}

func isDataError(err error) bool {
	return errors.Is(err, seg.ErrCorrupt) || errors.Is(err, seg.ErrStale) ||
		errors.Is(err, seg.ErrNotWritten) || errors.Is(err, seg.ErrUnsupported)
}

// fail takes mirror m out of the journal.
func (w *WAL) fail(m int, err error) {
	if !w.healthy[m] {
		return
	}
	w.healthy[m] = false
	w.writers[m] = nil
	w.stats.LastError = err.Error()
	w.event(EventMirrorFailed, m, err.Error())
}

// checkHealth makes the journal read-only when too few mirrors remain.
func (w *WAL) checkHealth() {
	n := 0
	for _, h := range w.healthy {
		if h {
			n++
		}
	}
	if n < w.opts.required() && w.readOnly == nil {
		w.readOnly = fmt.Errorf("%w: %d of %d journal mirrors healthy, %d needed", ErrReadOnly, n, len(w.opts.Mirrors), w.opts.required())
		w.event(EventReadOnly, -1, w.readOnly.Error())
	}
}

func (w *WAL) event(k EventKind, m int, detail string) {
	if w.opts.Events == nil {
		return
	}
	name := ""
	if m >= 0 {
		name = w.opts.Mirrors[m].Name
	}
	w.opts.Events(Event{Time: w.opts.Now(), Kind: k, Mirror: name, Detail: detail})
}

// startSegment starts a new active segment at a free ring position on
// every healthy mirror. Without a free position it leaves active at -1.
// Called with w.mu held.
func (w *WAL) startSegment() {
	free := w.freePosition()
	if free < 0 {
		w.active = -1
		return
	}
	w.maxGen++
	u := use{gen: w.maxGen, first: w.nextLSN}
	for m, mir := range w.opts.Mirrors {
		if !w.healthy[m] {
			continue
		}
		sw, err := seg.Create(mir.Ring[free], seg.Header{
			Node: mir.Node, Drive: mir.Drive, Kind: seg.KindJournal,
			Generation: u.gen, FirstSeq: u.first, Created: w.opts.Now(),
		})
		if err != nil {
			w.fail(m, fmt.Errorf("start journal segment %d: %w", free, err))
			continue
		}
		w.writers[m] = sw
	}
	w.checkHealth()
	w.positions[free] = position{use: u, last: u.first - 1, inChain: true}
	w.active = free
	w.stats.Segments++
}

// freePosition returns a ring position holding nothing the journal needs,
// or -1. Called with w.mu held.
//
// It prefers a never-used position, then the one holding the oldest
// segment: the newest segment's header must outlive the start of the next
// one, so that a crash in between still leaves the journal findable (Open
// treats a ring with no segment at all after a checkpoint as lost).
func (w *WAL) freePosition() int {
	best := -1
	for i, p := range w.positions {
		if p.inChain && p.gen != 0 {
			continue
		}
		if p.gen == 0 {
			return i
		}
		if best < 0 || p.first < w.positions[best].first || (p.first == w.positions[best].first && p.gen < w.positions[best].gen) {
			best = i
		}
	}
	return best
}

// release drops ring positions whose transactions are all at or before the
// checkpoint, and those that hold none. Called with w.mu held.
func (w *WAL) release() {
	for i := range w.positions {
		p := &w.positions[i]
		if p.inChain && i != w.active && (p.last <= w.checkpoint || p.last < p.first) {
			p.inChain = false
		}
	}
}

// Checkpoint tells the journal that every transaction up to lsn is durable
// elsewhere: the segments holding only such transactions are released for
// reuse, and commits waiting for space go on.
func (w *WAL) Checkpoint(lsn LSN) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if lsn >= w.nextLSN {
		return fmt.Errorf("checkpoint at LSN %d: the journal has only reached %d", lsn, w.nextLSN-1)
	}
	if lsn > w.checkpoint {
		w.checkpoint = lsn
		w.release()
		w.space.Broadcast()
	}
	return nil
}

// Stats returns the journal's counters.
func (w *WAL) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.stats
	st.NextLSN, st.Checkpt, st.RingSize, st.ReadOnly, st.Waiting = w.nextLSN, w.checkpoint, len(w.positions), w.readOnly != nil, w.active < 0
	for _, h := range w.healthy {
		if h {
			st.Healthy++
		}
	}
	for _, p := range w.positions {
		if p.inChain {
			st.UsedSegs++
		}
	}
	return st
}

// Close stops the journal: queued commits are completed first. The
// devices stay open; they belong to the caller.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.space.Broadcast()
	w.mu.Unlock()
	close(w.closing)
	<-w.loopDone
	return nil
}
