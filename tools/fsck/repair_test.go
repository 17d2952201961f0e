package fsck

import (
	"encoding/binary"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/superblock"
)

var yes = RepairOptions{Yes: true}

// flipBTreeNode flips a byte in mirror 1's copy of a leaf of the extents
// tree.
func flipBTreeNode(t *testing.T, n *testNode) {
	var addr int64
	n.inspect(func(node *appliance.Node, st *store.Store, _ *pool.Pool) {
		leaf := leafOf(t, st, "pool/default/extents")
		l := node.Drives[1].Label.Label()
		addr = l.SegmentOffset(l.Meta.SegFirst+leaf.Addr.Set) + int64(leaf.Addr.Off) + int64(leaf.Addr.Len)/2
	})
	n.flip(1, addr)
}

// A flipped bit in one mirror's copy of a B-tree node.
func TestRepairFlippedBitInBTreeNode(t *testing.T) {
	n := newObjectNode(t)
	flipBTreeNode(t, n)
	oneError(t, n.check(false), PhaseTrees)
	n.repaired(n.repair(yes), false)
}

// A torn journal tail (a note): repaired by opening the journal, which
// seals the segment; the check after it finds nothing at all.
func TestRepairTornJournalTail(t *testing.T) {
	n := newObjectNode(t)
	var at int64
	n.inspect(func(node *appliance.Node, st *store.Store, _ *pool.Pool) {
		tl := newestTail(t, st, n.paths[2])
		at = node.Drives[2].Label.Label().SegmentOffset(tl.Segment) + tl.Tail.End
	})
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(i*7 + 1)
	}
	n.write(2, at, junk)
	if r := n.check(false); len(r.Findings) != 1 || r.Findings[0].Severity != SevInfo {
		t.Fatalf("findings %+v", r.Findings)
	}
	n.repaired(n.repair(yes), false)
}

// lostSuperblockCopy damages drive 0's newest label record.
func lostSuperblockCopy(t *testing.T, n *testNode) {
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
	n.flip(0, best+superblock.HeaderSize+20)
}

// A lost superblock copy: rewritten, and the mirror's label brought up to
// the newest checkpoint.
func TestRepairLostSuperblockCopy(t *testing.T) {
	n := newObjectNode(t)
	lostSuperblockCopy(t, n)
	oneError(t, n.check(false), PhaseLabels)
	n.repaired(n.repair(yes), false)
	if l := n.label(0); l.Checkpoint.Gen != n.label(1).Checkpoint.Gen {
		t.Fatalf("drive 0's label names checkpoint %d, drive 1's %d", l.Checkpoint.Gen, n.label(1).Checkpoint.Gen)
	}
}

// A missing drive: nothing to repair offline; the repair says so, exits 4
// and writes nothing; the node still opens without the drive.
func TestRepairMissingDrive(t *testing.T) {
	n := newObjectNode(t)
	before := n.digest()
	r := n.repair(RepairOptions{Yes: true, Options: Options{Deep: true}}, 4)
	if r.ExitCode != ExitErrors || len(r.Repair.Actions) != 0 {
		t.Fatalf("exit %d, repairs %+v", r.ExitCode, r.Repair.Actions)
	}
	f := oneError(t, r, PhaseLabels)
	if f.Status != StatusCannotFix || !strings.Contains(f.Repair, "plinth serve") || !strings.Contains(f.Repair, "replace-drive") {
		t.Fatalf("finding %+v", f)
	}
	if after := n.digest(); !slices.Equal(before, after) {
		t.Fatal("the repair changed the drives")
	}
	n.sameAsModel(4)
}

// One mirror's metadata segments zeroed: every node rewritten.
func TestRepairZeroedMetadataSegments(t *testing.T) {
	n := newObjectNode(t)
	l := n.label(1)
	n.write(1, l.SegmentOffset(l.Meta.SegFirst), make([]byte, int64(l.Meta.SegCount)*l.SegmentSize))
	if r := n.check(false); len(errorsIn(r)) == 0 {
		t.Fatal("no damage found")
	}
	n.repaired(n.repair(yes), false)
}

// An orphaned set (sealed, nothing live: a crash between the commit that
// emptied it and its release) is released.
func TestRepairOrphanedSet(t *testing.T) {
	n := newObjectNode(t)
	n.orphanSet()
	r := n.check(false)
	if r.ExitCode != ExitClean || len(r.Findings) != 1 || !strings.Contains(r.Findings[0].What, "orphaned space") {
		t.Fatalf("findings %+v", r.Findings)
	}
	n.repaired(n.repair(yes), false)
}

// An extent referenced twice: small-b's index entries are made copies of
// small-a's. The record's header says it is small-a's: small-b's entry is
// dropped, small-b goes to lost+found, the accounting is recounted.
func TestRepairExtentReferencedTwice(t *testing.T) {
	n := newObjectNode(t)
	n.objects(func(os *objects.Store, _ *pool.Pool, st *store.Store) {
		n.putObject(os, "small-a", []byte(strings.Repeat("a", 5000)))
		n.putObject(os, "small-b", []byte(strings.Repeat("b", 7000)))
	})
	n.objects(func(_ *objects.Store, _ *pool.Pool, st *store.Store) {
		a, b := []byte("o/photos/small-a"), []byte("o/photos/small-b")
		ext, _, err := st.Get("pool/default/extents", extentKey(a))
		if err != nil {
			t.Fatal(err)
		}
		head, _, err := st.Get("pool/default/heads", a)
		if err != nil {
			t.Fatal(err)
		}
		batch := store.NewBatch()
		batch.Put("pool/default/extents", extentKey(b), ext)
		batch.Put("pool/default/heads", b, head)
		if _, err := st.Commit(ctx, batch); err != nil {
			t.Fatal(err)
		}
	})
	r := n.check(false)
	if !slices.ContainsFunc(errorsIn(r), func(f Finding) bool { return strings.Contains(f.What, "reference the same record") }) {
		t.Fatalf("findings %+v", r.Findings)
	}
	for _, f := range errorsIn(r) {
		if f.Phase != PhaseCross {
			t.Fatalf("finding %+v", f)
		}
	}
	r = n.repair(yes)
	delete(n.data, "o/photos/small-b")
	n.repaired(r, false)
	if len(r.LostFound) != 1 || r.LostFound[0].Bucket != bucket || r.LostFound[0].Key != "small-b" || !strings.Contains(r.LostFound[0].Why, "small-a") {
		t.Fatalf("lost+found %+v", r.LostFound)
	}
	if again := n.check(false); len(again.LostFound) != 1 {
		t.Fatalf("a check does not list lost+found: %+v", again.LostFound)
	}
}

// extentKey is the extent key of an owner's bytes at offset 0 (pool
// package comment: length, owner, offset).
func extentKey(owner []byte) []byte {
	k := binary.BigEndian.AppendUint16(nil, uint16(len(owner)))
	k = append(k, owner...)
	return binary.BigEndian.AppendUint64(k, 0)
}

// A corrupt data unit: its stripe's live records are moved (--deep).
func TestRepairCorruptDataUnit(t *testing.T) {
	n := newObjectNode(t)
	pos, off, _, _ := unitAt(t, n, 1, 0)
	n.flip(pos, off+1000)
	oneError(t, n.check(true), PhaseDeep)
	n.repaired(n.repair(RepairOptions{Yes: true, Options: Options{Deep: true}}), true)
}

// A corrupt parity unit: likewise.
func TestRepairCorruptParityUnit(t *testing.T) {
	n := newObjectNode(t)
	pos, off, _, _ := unitAt(t, n, 4, 0)
	n.flip(pos, off+77)
	oneError(t, n.check(true), PhaseDeep)
	n.repaired(n.repair(RepairOptions{Yes: true, Options: Options{Deep: true}}), true)
}

// --dry-run says what it would do and changes no byte.
func TestRepairDryRunChangesNothing(t *testing.T) {
	n := newObjectNode(t)
	flipBTreeNode(t, n)
	lostSuperblockCopy(t, n)
	pos, off, _, _ := unitAt(t, n, 1, 0)
	n.flip(pos, off+1000)
	before := n.digest()
	r := n.repair(RepairOptions{DryRun: true, Options: Options{Deep: true}})
	if after := n.digest(); !slices.Equal(before, after) {
		t.Fatal("a dry run changed the drives")
	}
	if r.ExitCode != ExitErrors || !r.Repair.DryRun || len(r.Repair.Actions) < 3 || len(errorsIn(r)) != 3 {
		t.Fatalf("exit %d, %+v", r.ExitCode, r.Repair)
	}
	for _, f := range errorsIn(r) {
		if f.Status != StatusWouldFix || f.Repair == "" {
			t.Fatalf("finding %+v", f)
		}
	}
	for _, a := range r.Repair.Actions {
		if a.Status != actionWouldDo {
			t.Fatalf("repair %+v", a)
		}
	}
}

// A refused prompt changes nothing; so does a repair with nobody to ask
// and no --yes, which says to pass --yes. Yes to one repair runs that one
// only.
func TestRepairRefusedChangesNothing(t *testing.T) {
	n := newObjectNode(t)
	n.orphanSet()
	flipBTreeNode(t, n)
	lostSuperblockCopy(t, n)
	before := n.digest()
	var asked strings.Builder
	r := n.repair(RepairOptions{Confirm: Prompt(strings.NewReader("n\nno\n"), &asked)})
	if after := n.digest(); !slices.Equal(before, after) {
		t.Fatal("a refused repair changed the drives")
	}
	if got := strings.Count(asked.String(), "fix? [y/N]"); got != len(r.Repair.Actions) || got != 3 {
		t.Fatalf("%d questions for %d repairs:\n%s", got, len(r.Repair.Actions), asked.String())
	}
	if r.ExitCode != ExitErrors {
		t.Fatalf("exit %d", r.ExitCode)
	}
	for _, f := range r.Findings {
		if f.Status != StatusDeclined {
			t.Fatalf("finding %+v", f)
		}
	}
	r = n.repair(RepairOptions{})
	if after := n.digest(); !slices.Equal(before, after) {
		t.Fatal("a repair with nobody to ask changed the drives")
	}
	for _, a := range r.Repair.Actions {
		if a.Status != actionDeclined || !strings.Contains(a.Detail, "--yes") {
			t.Fatalf("repair %+v", a)
		}
	}
	// Yes to the label only. Its checkpoint cleans the metadata segments
	// as any checkpoint does, which moves the damaged node copy too; the
	// orphaned set stays.
	r = n.repair(RepairOptions{Confirm: Prompt(strings.NewReader("y\nn\nn\n"), &asked)})
	if r.ExitCode != ExitCorrected || r.Repair.Left != 0 {
		t.Fatalf("exit %d, %+v", r.ExitCode, r.Repair)
	}
	if a := r.Repair.Actions; a[0].Status != actionDone || a[1].Status != actionDeclined || a[2].Status != actionDeclined {
		t.Fatalf("repairs %+v", a)
	}
	for _, f := range r.Findings {
		if orphaned := strings.Contains(f.What, "orphaned"); orphaned != (f.Status == StatusDeclined) {
			t.Fatalf("finding %+v", f)
		}
	}
	again := n.check(false)
	if len(again.Findings) != 1 || !strings.Contains(again.Findings[0].What, "orphaned") {
		t.Fatalf("after: %+v", again.Findings)
	}
}

// More units damaged than parity covers in one stripe: the objects with
// data there go to lost+found by bucket and key, the rest of the node is
// fine afterwards; clearing lost+found empties the listing.
func TestRepairUnrecoverableToLostFound(t *testing.T) {
	n := newObjectNode(t)
	var lost []string
	n.inspect(func(_ *appliance.Node, _ *store.Store, p *pool.Pool) {
		refs, err := p.StripeRefs(ctx, map[alloc.SetID][]int64{firstSet(t, p).ID: {0}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			if !slices.Contains(lost, string(r.Owner)) {
				lost = append(lost, string(r.Owner))
			}
		}
	})
	if len(lost) == 0 {
		t.Fatal("nothing in stripe 0")
	}
	for _, m := range []int{0, 1, 4} {
		pos, off, _, _ := unitAt(t, n, m, 0)
		n.flip(pos, off+500)
	}
	r := n.check(true)
	if !slices.ContainsFunc(errorsIn(r), func(f Finding) bool { return strings.Contains(f.What, "more units are damaged") }) {
		t.Fatalf("findings %+v", r.Findings)
	}
	r = n.repair(RepairOptions{Yes: true, Options: Options{Deep: true}})
	for _, o := range lost {
		delete(n.data, o)
	}
	n.repaired(r, true)
	var got []string
	for _, e := range r.LostFound {
		if e.Pool != "default" || e.Bucket != bucket || e.Size == 0 || e.Version == 0 || !strings.Contains(e.Why, "stripe 0") {
			t.Fatalf("lost+found entry %+v", e)
		}
		got = append(got, "o/"+e.Bucket+"/"+e.Key)
	}
	slices.Sort(got)
	slices.Sort(lost)
	if !slices.Equal(got, lost) {
		t.Fatalf("lost+found %q, want %q", got, lost)
	}
	var text strings.Builder
	after := n.check(false)
	if err := after.WriteText(&text); err != nil || !strings.Contains(text.String(), "lost+found: ") || !strings.Contains(text.String(), `bucket "photos" key "`) {
		t.Fatalf("a check does not print lost+found: %v\n%s", err, text.String())
	}
	r = n.repair(RepairOptions{Yes: true, ClearLostFound: true})
	if r.ExitCode != ExitCorrected || len(r.LostFound) != 0 || len(r.Repair.Actions) != 1 || r.Repair.Actions[0].Status != actionDone {
		t.Fatalf("clear: exit %d, %+v, lost+found %+v", r.ExitCode, r.Repair, r.LostFound)
	}
	if again := n.check(false); len(again.LostFound) != 0 || len(again.Findings) != 0 {
		t.Fatalf("after clearing: %+v %+v", again.LostFound, again.Findings)
	}
}

// Every label record of a drive lost (both areas zeroed), a data drive and
// then a metadata mirror: the label is written again from the node's
// record of the drive, which the drive's segment headers confirm.
func TestRepairLabelLost(t *testing.T) {
	n := newObjectNode(t)
	for _, i := range []int{5, 2} {
		n.write(i, 0, make([]byte, 2*superblock.AreaMax))
		oneError(t, n.check(false), PhaseLabels)
		n.repaired(n.repair(yes), false)
		if l := n.label(i); l.Position != uint32(i) || l.Meta.Holds() != (i < 3) {
			t.Fatalf("drive %d's label %+v", i, l)
		}
	}
}

// A blank drive given in place of a missing one is not taken for it: no
// segment header names the recorded drive, so its label is not written.
func TestRepairLabelNotRestoredOnAStranger(t *testing.T) {
	n := newObjectNode(t)
	blank := n.t.TempDir() + "/blank.img"
	if err := os.WriteFile(blank, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(blank, driveSize); err != nil {
		t.Fatal(err)
	}
	n.paths[4] = blank
	r := n.repair(yes)
	if r.ExitCode != ExitErrors || len(r.Repair.Actions) != 0 {
		t.Fatalf("exit %d, repairs %+v", r.ExitCode, r.Repair.Actions)
	}
	f := oneError(t, r, PhaseLabels)
	if f.Status != StatusCannotFix || f.Where.Drive != blank {
		t.Fatalf("finding %+v", f)
	}
	if b, err := os.ReadFile(blank); err != nil || strings.Trim(string(b), "\x00") != "" {
		t.Fatalf("the blank drive was written: %v", err)
	}
}
