package store

import (
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/superblock"
)

// mirror is one metadata drive as the space uses it.
type mirror struct {
	name        string
	dev         dev.Device
	label       *superblock.Log
	node, drive uuid.UUID
	segs        []seg.Location // the metadata segments
	ring        []seg.Location // the journal ring
	healthy     bool
	failure     error
	// partial: the mirror does not hold the whole store (its label names
	// an older checkpoint than the newest: it is new, or it was out while
	// the others went on). It is written like the others, but read only
	// where fresh says it was written whole since Open, and its label is
	// not given checkpoints until a resilver has rewritten everything
	// live onto it (see resilver.go).
	partial bool
	fresh   []bool // per metadata segment: written whole since Open
}

// space is the metadata segments of all mirrors: the writer that appends
// nodes and checkpoint records to the open segment of every healthy
// mirror, the reader that reads them back from the first copy that
// verifies, and the segment table.
//
// The table's State and Gen are facts about the segments and change as
// soon as a segment is opened or filled; Live and FreedAt are those of the
// last durable checkpoint and change only when a checkpoint installs new
// ones. Appends and table changes are made by one checkpoint at a time
// (the store serializes them); mu guards what readers also touch.
type space struct {
	mirrors []*mirror
	segSize int64
	events  func(kind string, m *mirror, detail string)

	mu    sync.Mutex // guards mirrors' health, table
	table []segInfo

	cur     int           // the open segment, -1 when none
	writers []*seg.Writer // per mirror, for cur (nil for an unhealthy mirror)
	added   map[uint32]uint64
	// eligible says whether a free segment freed at the given
	// checkpoint generation may be reused (no reader still needs it).
	eligible func(freedAt uint64) bool
	genClock func() uint64
}

func (sp *space) required() int { return min(2, len(sp.mirrors)) }

func (sp *space) healthy() int {
	n := 0
	for _, m := range sp.mirrors {
		if m.healthy {
			n++
		}
	}
	return n
}

// fail takes mirror m out of use.
func (sp *space) fail(m *mirror, err error) {
	sp.mu.Lock()
	was := m.healthy
	m.healthy, m.failure = false, err
	sp.mu.Unlock()
	if was {
		sp.events("mirror-failed", m, err.Error())
	}
}

// enough is nil while enough mirrors are healthy to go on writing.
func (sp *space) enough() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if h := sp.healthy(); h < sp.required() {
		var why []error
		for _, m := range sp.mirrors {
			if m.failure != nil {
				why = append(why, fmt.Errorf("%s: %w", m.name, m.failure))
			}
		}
		return fmt.Errorf("%w: %d of %d metadata mirrors healthy, %d needed: %w", ErrReadOnly, h, len(sp.mirrors), sp.required(), errors.Join(why...))
	}
	return nil
}

// beginAttempt starts counting the bytes a checkpoint appends.
func (sp *space) beginAttempt() { sp.added = make(map[uint32]uint64) }

// Write implements btree.NodeWriter.
func (sp *space) Write(node []byte) (btree.Addr, error) {
	if err := sp.place(len(node)); err != nil {
		return btree.Addr{}, err
	}
	return sp.append(typeNode, node)
}

// place makes sure the open segment can take a record of n bytes, sealing
// it and opening another when it cannot.
func (sp *space) place(n int) error {
	if err := sp.enough(); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		if sp.cur >= 0 {
			err := sp.firstWriter().Fits(n)
			switch {
			case err == nil:
				return nil
			case errors.Is(err, seg.ErrBatchFull):
				if err := sp.flush(); err != nil {
					return err
				}
				continue
			case !errors.Is(err, seg.ErrFull):
				return err
			}
			if attempt > 0 {
				return fmt.Errorf("a record of %d bytes does not fit an empty metadata segment", n)
			}
			sp.seal()
		}
		if err := sp.open(); err != nil {
			return err
		}
	}
}

func (sp *space) firstWriter() *seg.Writer {
	for i, w := range sp.writers {
		if w != nil && sp.mirrors[i].healthy {
			return w
		}
	}
	return nil
}

// append appends a record that place said fits, on every healthy mirror,
// and returns its address.
func (sp *space) append(typ uint8, payload []byte) (btree.Addr, error) {
	w0 := sp.firstWriter()
	if w0 == nil {
		return btree.Addr{}, sp.enough()
	}
	off := w0.PayloadOffset()
	for i, w := range sp.writers {
		m := sp.mirrors[i]
		if w == nil || !m.healthy {
			continue
		}
		if w.PayloadOffset() != off {
			sp.fail(m, fmt.Errorf("metadata segment %d: the record would land at offset %d, on %s at %d", sp.cur, w.PayloadOffset(), sp.mirrors[0].name, off))
			continue
		}
		if _, err := w.Append(typ, 0, payload); err != nil {
			sp.fail(m, err)
		}
	}
	if err := sp.enough(); err != nil {
		return btree.Addr{}, err
	}
	sp.added[uint32(sp.cur)] += uint64(len(payload))
	return btree.Addr{Set: uint32(sp.cur), Off: uint64(off), Len: uint32(len(payload))}, nil
}

// flush makes every appended record durable on the healthy mirrors.
func (sp *space) flush() error {
	for i, w := range sp.writers {
		m := sp.mirrors[i]
		if w != nil && m.healthy {
			if err := w.Flush(); err != nil {
				sp.fail(m, err)
			}
		}
	}
	return sp.enough()
}

// seal closes the open segment: a footer on every healthy mirror, and the
// segment is full. A mirror that fails to seal is out.
func (sp *space) seal() {
	for i, w := range sp.writers {
		m := sp.mirrors[i]
		if w != nil && m.healthy {
			if _, err := w.Seal(); err != nil {
				sp.fail(m, err)
			}
		}
	}
	sp.mu.Lock()
	sp.table[sp.cur].State = segFull
	sp.mu.Unlock()
	sp.cur, sp.writers = -1, make([]*seg.Writer, len(sp.mirrors))
}

// abandon gives up the open segment without writing to it (after a crash,
// its tail beyond the checkpoint may hold garbage): it is full. On zoned
// drives the zone is finished, so it holds no open or active zone.
func (sp *space) abandon(i int) {
	sp.table[i].State = segFull
	for _, m := range sp.mirrors {
		loc := m.segs[i]
		if !loc.Sequential || !m.healthy {
			continue
		}
		if z, ok := dev.AsZoned(loc.Dev); ok {
			if err := z.FinishZone(loc.Start); err != nil {
				sp.events("finish-failed", m, fmt.Sprintf("finish metadata segment %d (%s): %v", i, loc, err))
			}
		}
	}
}

// open opens the lowest free segment that no reader needs.
func (sp *space) open() error {
	sp.mu.Lock()
	next := -1
	for i, s := range sp.table {
		if s.State == segFree && sp.eligible(s.FreedAt) {
			next = i
			break
		}
	}
	sp.mu.Unlock()
	if next < 0 {
		return fmt.Errorf("%w: all %d are in use", ErrMetadataFull, len(sp.table))
	}
	gen := max(sp.table[next].Gen+1, sp.genClock())
	writers := make([]*seg.Writer, len(sp.mirrors))
	for _, m := range sp.mirrors {
		if !m.healthy {
			continue
		}
		loc := m.segs[next]
		// A use after the last checkpoint may have left a newer header.
		if sc, err := seg.Scan(loc, seg.Expect{Node: m.node, Drive: m.drive, Kind: seg.KindMetadata}); err == nil {
			gen = max(gen, sc.Header().Generation+1)
		}
	}
	for i, m := range sp.mirrors {
		if !m.healthy {
			continue
		}
		w, err := seg.Create(m.segs[next], seg.Header{Node: m.node, Drive: m.drive, Kind: seg.KindMetadata, Generation: gen})
		if err != nil {
			sp.fail(m, err)
			continue
		}
		writers[i] = w
		sp.mu.Lock()
		m.fresh[next] = true
		sp.mu.Unlock()
	}
	if err := sp.enough(); err != nil {
		return err
	}
	sp.mu.Lock()
	sp.table[next] = segInfo{State: segOpen, Gen: gen}
	sp.mu.Unlock()
	sp.cur, sp.writers = next, writers
	return nil
}

// ReadNode implements btree.NodeReader: the first copy whose checksum is
// sum, reading the mirrors in turn.
func (sp *space) ReadNode(a btree.Addr, sum uint64) ([]byte, error) {
	return sp.read(a, func(b []byte) bool { return btree.Verify(b, sum) }, "node")
}

// read reads the record at a from the first healthy mirror whose copy
// passes ok. When none does it returns the first copy read (so the caller's
// verification reports what is wrong with it) or the read errors.
func (sp *space) read(a btree.Addr, ok func([]byte) bool, what string) ([]byte, error) {
	if int(a.Set) >= len(sp.table) || int64(a.Off)+int64(a.Len) > sp.segSize {
		return nil, fmt.Errorf("%w: %s at metadata segment %d offset %d length %d is outside the metadata segments", ErrCorrupt, what, a.Set, a.Off, a.Len)
	}
	var first []byte
	var errs []error
	var bad []*mirror
	for _, m := range sp.mirrors {
		sp.mu.Lock()
		h := m.healthy && (!m.partial || m.fresh[a.Set])
		sp.mu.Unlock()
		if !h {
			continue
		}
		b, err := readAt(m.segs[a.Set], int64(a.Off), int(a.Len))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.name, err))
			bad = append(bad, m)
			continue
		}
		if ok(b) {
			for _, x := range bad {
				sp.events("bad-copy", x, fmt.Sprintf("%s at metadata segment %d offset %d: read from another mirror", what, a.Set, a.Off))
			}
			return b, nil
		}
		bad = append(bad, m)
		if first == nil {
			first = b
		}
	}
	if first != nil {
		return first, nil
	}
	if len(errs) == 0 {
		return nil, sp.enough()
	}
	return nil, fmt.Errorf("read %s at metadata segment %d offset %d: %w", what, a.Set, a.Off, errors.Join(errs...))
}

// readAt reads n bytes at offset off of a segment into a new buffer.
func readAt(loc seg.Location, off int64, n int) ([]byte, error) {
	bs := int64(loc.Dev.Geometry().LogicalBlockSize)
	start := loc.Start + off
	lo := start / bs * bs
	hi := dev.RoundUp(start+int64(n), bs)
	buf := dev.AlignedBuffer(int(hi - lo))
	if _, err := loc.Dev.ReadAt(buf, lo); err != nil {
		return nil, err
	}
	out := make([]byte, n)
	copy(out, buf[start-lo:])
	return out, nil
}
