package fsck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/superblock"
)

// A healthy node: exit 0 and no finding, shallow and deep; every phase
// ran and says what it checked.
func TestCleanNode(t *testing.T) {
	n := newNode(t)
	for _, deep := range []bool{false, true} {
		r := n.check(deep)
		if r.ExitCode != ExitClean || len(r.Findings) != 0 {
			t.Fatalf("deep %v: exit %d, findings %+v", deep, r.ExitCode, r.Findings)
		}
		if len(r.Phases) != len(Phases) {
			t.Fatalf("phases %+v", r.Phases)
		}
		for _, ph := range r.Phases {
			if ph.Phase == PhaseDeep && !deep {
				if ph.Skipped == "" {
					t.Fatalf("deep phase not skipped: %+v", ph)
				}
				continue
			}
			if ph.Checked == "" || ph.Skipped != "" {
				t.Fatalf("phase %+v", ph)
			}
		}
		if len(r.Drives) != testDrives || r.Node == "" {
			t.Fatalf("drives %+v node %q", r.Drives, r.Node)
		}
	}
}

// oneError asserts that the report holds exactly one error, in phase ph,
// and returns it.
func oneError(t *testing.T, r Report, ph Phase) Finding {
	t.Helper()
	errs := errorsIn(r)
	if r.ExitCode != ExitErrors || len(errs) != 1 || errs[0].Phase != ph {
		t.Fatalf("exit %d, errors %+v; want exactly one in phase %s", r.ExitCode, errs, ph)
	}
	return errs[0]
}

// A flipped bit in one mirror's copy of a B-tree node: one error of the
// B-tree phase naming the drive, the tree, the metadata segment and the
// node's offset.
func TestFlippedBitInBTreeNode(t *testing.T) {
	n := newNode(t)
	var addr int64
	var seg, off int
	tree := "pool/default/extents"
	n.inspect(func(node *appliance.Node, st *store.Store, _ *pool.Pool) {
		leaf := leafOf(t, st, tree)
		l := node.Drives[1].Label.Label()
		seg, off = int(leaf.Addr.Set), int(leaf.Addr.Off)
		addr = l.SegmentOffset(l.Meta.SegFirst+leaf.Addr.Set) + int64(leaf.Addr.Off) + int64(leaf.Addr.Len)/2
	})
	n.flip(1, addr)
	f := oneError(t, n.check(false), PhaseTrees)
	w := f.Where
	if w.Drive != n.paths[1] || w.Position == nil || *w.Position != 1 || w.Tree != tree ||
		w.MetadataSegment == nil || *w.MetadataSegment != seg || w.Offset == nil || *w.Offset != int64(off) {
		t.Fatalf("finding %+v at %s; want drive 1, tree %s, metadata segment %d offset %d", f, w, tree, seg, off)
	}
	if !strings.Contains(f.What, "copy is damaged") || f.Fix == "" {
		t.Fatalf("finding %+v", f)
	}
}

// A torn journal tail (garbage after the last write on one mirror): a
// note of the journal phase on that drive, exit 0.
func TestTornJournalTail(t *testing.T) {
	n := newNode(t)
	var at int64
	var segment uint32
	n.inspect(func(node *appliance.Node, st *store.Store, _ *pool.Pool) {
		tl := newestTail(t, st, n.paths[2])
		segment = tl.Segment
		at = node.Drives[2].Label.Label().SegmentOffset(tl.Segment) + tl.Tail.End
	})
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(i*7 + 1)
	}
	n.write(2, at, junk)
	r := n.check(false)
	if r.ExitCode != ExitClean || len(r.Findings) != 1 {
		t.Fatalf("exit %d, findings %+v; want one note", r.ExitCode, r.Findings)
	}
	f := r.Findings[0]
	if f.Phase != PhaseJournal || f.Severity != SevInfo || !strings.Contains(f.What, "torn") ||
		f.Where.Drive != n.paths[2] || f.Where.JournalSegment == nil || *f.Where.JournalSegment != segment {
		t.Fatalf("finding %+v at %s", f, f.Where)
	}
}

// A lost superblock copy: the newest label record of a metadata drive is
// damaged. One error of the labels phase naming the drive, the area and
// the record's byte.
func TestLostSuperblockCopy(t *testing.T) {
	n := newNode(t)
	// Find the newest record in drive 0's two areas (conventional: the
	// first two MiB).
	b, err := os.ReadFile(n.paths[0])
	if err != nil {
		t.Fatal(err)
	}
	best, bestSeq := int64(-1), uint64(0)
	for off := 0; off < 2*superblock.AreaMax; off += superblock.ScanStep {
		rec, err := superblock.DecodeRecord(b[off : off+superblock.SlotSize])
		if err == nil && rec.Seq > bestSeq {
			best, bestSeq = int64(off), rec.Seq
		}
	}
	if bestSeq < 2 {
		t.Fatalf("drive 0 has %d label records; the test needs an older one to fall back on", bestSeq)
	}
	n.flip(0, best+superblock.HeaderSize+20)
	f := oneError(t, n.check(false), PhaseLabels)
	w := f.Where
	if w.Drive != n.paths[0] || w.Position == nil || *w.Position != 0 || w.Offset == nil || *w.Offset != best ||
		w.Area == nil || *w.Area != int(best/superblock.AreaMax) {
		t.Fatalf("finding %+v at %s; want drive 0 byte %d", f, w, best)
	}
}

// Every superblock record of a drive lost (both areas zeroed): the drive
// is left out, and one error names it and the position it must be.
func TestEveryLabelRecordLost(t *testing.T) {
	n := newNode(t)
	n.write(5, 0, make([]byte, 2*superblock.AreaMax))
	f := oneError(t, n.check(false), PhaseLabels)
	if f.Where.Drive != n.paths[5] || f.Where.Position == nil || *f.Where.Position != 5 || !strings.Contains(f.What, "cannot be read") {
		t.Fatalf("finding %+v at %s", f, f.Where)
	}
}

// A missing drive: one error of the labels phase naming its position; the
// other phases run with the drive read through parity.
func TestMissingDrive(t *testing.T) {
	n := newNode(t)
	for _, deep := range []bool{false, true} {
		r := n.check(deep, 4)
		f := oneError(t, r, PhaseLabels)
		if f.Where.Position == nil || *f.Where.Position != 4 || !strings.Contains(f.What, "missing") {
			t.Fatalf("finding %+v", f)
		}
		for _, ph := range r.Phases {
			if ph.Skipped != "" && (deep || ph.Phase != PhaseDeep) {
				t.Fatalf("phase %s skipped: %s", ph.Phase, ph.Skipped)
			}
		}
		if !slices.ContainsFunc(r.Drives, func(d Drive) bool { return d.Position == 4 && !d.Present }) {
			t.Fatalf("drives %+v", r.Drives)
		}
	}
}

// One mirror's metadata segments zeroed: errors of the B-tree phase only,
// every one naming that drive (damaged node copies and the checkpoint
// record's copy); the store reads from the other mirrors.
func TestZeroedMetadataSegmentsOneMirror(t *testing.T) {
	n := newNode(t)
	l := n.label(1)
	start := l.SegmentOffset(l.Meta.SegFirst)
	n.write(1, start, make([]byte, int64(l.Meta.SegCount)*l.SegmentSize))
	r := n.check(false)
	errs := errorsIn(r)
	if r.ExitCode != ExitErrors || len(errs) == 0 {
		t.Fatalf("exit %d, errors %+v", r.ExitCode, errs)
	}
	record := false
	for _, f := range errs {
		if f.Phase != PhaseTrees || f.Where.Drive != n.paths[1] || f.Where.MetadataSegment == nil {
			t.Fatalf("finding %+v at %s; want the B-tree phase on drive 1", f, f.Where)
		}
		record = record || strings.Contains(f.What, "record of checkpoint")
	}
	if !record {
		t.Fatalf("the checkpoint record's copy is not reported: %+v", errs)
	}
	if len(r.Findings) != len(errs) {
		t.Fatalf("findings besides the errors: %+v", r.Findings)
	}
}

// unitAt is where unit i of stripe s of the pool's first set lies: the
// drive position and the byte offset.
func unitAt(t *testing.T, n *testNode, i int, s int64) (pos int, off int64, set uint64, segment uint32) {
	t.Helper()
	n.inspect(func(node *appliance.Node, _ *store.Store, p *pool.Pool) {
		first := firstSet(t, p)
		m := first.Members[i]
		l := node.Drives[m.Drive].Label.Label()
		pos, set, segment = int(m.Drive), uint64(first.ID), m.Segment
		off = l.SegmentOffset(m.Segment) + 4096 + s*int64(p.Layout().Unit)
	})
	return
}

// A corrupt data unit: found by the deep check only (a shallow one reads
// no data), as one error naming the set, member, stripe and drive.
func TestCorruptDataUnit(t *testing.T) {
	n := newNode(t)
	pos, off, set, segment := unitAt(t, n, 1, 0)
	n.flip(pos, off+1000)
	if r := n.check(false); r.ExitCode != ExitClean || len(r.Findings) != 0 {
		t.Fatalf("a shallow check found %+v", r.Findings)
	}
	f := oneError(t, n.check(true), PhaseDeep)
	w := f.Where
	if w.Set != set || w.Member == nil || *w.Member != 1 || w.Stripe == nil || *w.Stripe != 0 ||
		w.Position == nil || *w.Position != pos || w.Segment == nil || *w.Segment != segment || !strings.Contains(f.What, "data unit") {
		t.Fatalf("finding %+v at %s; want set %d member 1 stripe 0 on drive %d", f, w, set, pos)
	}
}

// A corrupt parity unit (--deep): one error naming the parity member.
func TestCorruptParityUnit(t *testing.T) {
	n := newNode(t)
	pos, off, set, _ := unitAt(t, n, 4, 0) // 4+2: member 4 is the first parity unit
	n.flip(pos, off+77)
	f := oneError(t, n.check(true), PhaseDeep)
	w := f.Where
	if w.Set != set || w.Member == nil || *w.Member != 4 || w.Stripe == nil || *w.Stripe != 0 ||
		w.Position == nil || *w.Position != pos || !strings.Contains(f.What, "parity unit") {
		t.Fatalf("finding %+v at %s; want set %d member 4 stripe 0 on drive %d", f, w, set, pos)
	}
}

// A drive another process holds: Check refuses (exit 8) and names the
// process from /proc/locks.
func TestBusyDriveNamesTheProcess(t *testing.T) {
	n := newNode(t)
	f, err := os.Open(n.paths[3])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	_, err = Check(ctx, Options{Drives: n.paths})
	var be *dev.BusyError
	if !errors.As(err, &be) || !errors.Is(err, dev.ErrBusy) {
		t.Fatalf("check of a held drive: %v", err)
	}
	want := fmt.Sprintf("process %d (", os.Getpid())
	if be.Path != n.paths[3] || !strings.Contains(be.Holder, want) || strings.Contains(be.Holder, "(?)") {
		t.Fatalf("busy error %+v does not name %s...", be, want)
	}
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "run fsck again") {
		t.Fatalf("message %q does not name the process and what to do", err)
	}
}

// A check writes nothing: on drives copied from a running node (a crash
// image: journal to replay, sets left open), a deep check leaves every
// byte as it was, and a node started on them afterwards recovers.
func TestCheckWritesNothing(t *testing.T) {
	n := newNode(t)
	crash := &testNode{t: t, data: n.data}
	dir := t.TempDir()
	n.run(func(p *pool.Pool) {
		if _, err := p.Put(ctx, []byte("o/photos/late"), 1, strings.NewReader(strings.Repeat("late", 5000))); err != nil {
			t.Fatal(err)
		}
	}, func() {
		for _, path := range n.paths {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cp := filepath.Join(dir, filepath.Base(path))
			if err := os.WriteFile(cp, b, 0o600); err != nil {
				t.Fatal(err)
			}
			crash.paths = append(crash.paths, cp)
		}
	})
	before := crash.digest()
	r := crash.check(true)
	if r.ExitCode != ExitClean || len(r.Findings) != 0 {
		t.Fatalf("crash image: exit %d, findings %+v", r.ExitCode, r.Findings)
	}
	if j := r.Phases[1]; !strings.Contains(j.Checked, "replayed") {
		t.Fatalf("nothing replayed: %+v", j)
	}
	if after := crash.digest(); !slices.Equal(before, after) {
		t.Fatal("fsck changed the drives")
	}
	crash.run(func(p *pool.Pool) {
		b := make([]byte, 20000)
		if n, _, err := p.ReadAt(ctx, []byte("o/photos/late"), b, 0); n != 20000 && err != nil {
			t.Fatalf("read after recovery: %d %v", n, err)
		}
	}, nil)
}
