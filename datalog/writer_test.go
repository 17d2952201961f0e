package datalog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
)

var l42 = stripe.Layout{N: 4, K: 2, Unit: 16 << 10}

func randBytes(rng *rand.Rand, n int64) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

// appendFlush appends p and flushes, and returns the stream extended by p
// and the flush's padding.
func appendFlush(t *testing.T, w *Writer, stream, p []byte) []byte {
	t.Helper()
	off, err := w.Append(p)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if off != int64(len(stream)) {
		t.Fatalf("append at %d, want %d", off, len(stream))
	}
	end, err := w.Flush()
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	stream = append(stream, p...)
	return append(stream, make([]byte, end-int64(len(stream)))...)
}

// without returns a copy of set whose members idx have no device.
func without(set Set, idx ...int) Set {
	set.Members = slices.Clone(set.Members)
	for _, i := range idx {
		set.Members[i].Loc.Dev = nil
	}
	return set
}

// checkLost checks Lost and that each lost member's error is a
// *MemberError naming it and wrapping want.
func checkLost(t *testing.T, w *Writer, want error, lost ...int) {
	t.Helper()
	if got := w.Lost(); !slices.Equal(got, lost) {
		t.Fatalf("Lost() = %v, want %v", got, lost)
	}
	for i := range w.g.set.Members {
		err := w.LostErr(i)
		if !slices.Contains(lost, i) {
			if err != nil {
				t.Fatalf("LostErr(%d) = %v for a member not lost", i, err)
			}
			continue
		}
		var me *MemberError
		if !errors.As(err, &me) || me.Member != i || me.Set != w.g.set.ID || !errors.Is(err, want) {
			t.Fatalf("LostErr(%d) = %v, want a MemberError of member %d wrapping %v", i, err, i, want)
		}
	}
	if w.LostErr(-1) != nil || w.LostErr(len(w.g.set.Members)) != nil {
		t.Fatal("LostErr out of range is not nil")
	}
}

// TestDegradedWrite: a member whose writes fail mid-stream is lost, is
// written and flushed no more, and the stream reads back whole without it,
// with its device missing, holding zeros or holding garbage.
func TestDegradedWrite(t *testing.T) {
	sb := StripeBytes(l42)
	for bad := range l42.Members() {
		t.Run(fmt.Sprintf("member%d", bad), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(40, uint64(bad)))
			segSize := int64(4096 + 8*l42.Unit)
			set, fds := testSet(t, l42, segSize, 1, 40)
			w, err := Create(set)
			if err != nil {
				t.Fatal(err)
			}
			stream := appendFlush(t, w, nil, randBytes(rng, 2*sb-100))
			good := int64(len(stream)) / sb // stripes every member holds
			fds[bad].FailRate(faultdev.OpWrite, 1)
			stream = appendFlush(t, w, stream, randBytes(rng, 3*sb+5))
			checkLost(t, w, dev.ErrIO, bad)
			// Lost for good: neither written nor flushed again, even once
			// the drive works.
			fds[bad].ClearFaults()
			ops := fds[bad].Ops()
			stream = appendFlush(t, w, stream, randBytes(rng, sb/2))
			if fds[bad].Ops() != ops {
				t.Fatalf("lost member got %d more operations", fds[bad].Ops()-ops)
			}
			checkLost(t, w, dev.ErrIO, bad)

			readAll := func(set Set, what string) {
				t.Helper()
				r := Open(set, int64(len(stream)))
				rep := check(t, r, stream, 0, int64(len(stream)))
				if bad < l42.N && !slices.Equal(rep.Rebuilt, []int{bad}) {
					t.Fatalf("%s: report %v, want member %d rebuilt", what, rep, bad)
				}
				for range 30 {
					off, n := randomRange(rng, int64(len(stream)))
					check(t, r, stream, off, n)
				}
			}
			readAll(without(set, bad), "no device")
			readAll(set, "zeros") // the failed writes moved nothing
			for s := good; s < int64(len(stream))/sb; s++ {
				if _, err := fds[bad].WriteAt(randBytes(rng, int64(l42.Unit)), unitDevOffset(set, bad, s)); err != nil {
					t.Fatal(err)
				}
			}
			readAll(set, "garbage")
		})
	}
}

// TestDegradedFlush: a member whose flush fails is lost; Flush succeeds.
func TestDegradedFlush(t *testing.T) {
	sb := StripeBytes(l42)
	rng := rand.New(rand.NewPCG(41, 41))
	set, fds := testSet(t, l42, int64(4096+8*l42.Unit), 1, 41)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	stream := appendFlush(t, w, nil, randBytes(rng, sb+7))
	fds[3].FailRate(faultdev.OpFlush, 1)
	stream = appendFlush(t, w, stream, randBytes(rng, 2*sb))
	checkLost(t, w, dev.ErrIO, 3)
	fds[3].ClearFaults()
	ops := fds[3].Ops()
	stream = appendFlush(t, w, stream, randBytes(rng, sb))
	if fds[3].Ops() != ops {
		t.Fatal("a member lost by its flush is still written")
	}
	// The member's units may or may not have reached the media; without
	// it the stream is whole.
	check(t, Open(without(set, 3), int64(len(stream))), stream, 0, int64(len(stream)))
}

// TestDegradedBeyondK: losses add up over the Writer's life; the (K+1)-th
// breaks it, with an error naming every lost member.
func TestDegradedBeyondK(t *testing.T) {
	sb := StripeBytes(l42)
	rng := rand.New(rand.NewPCG(42, 42))
	set, fds := testSet(t, l42, int64(4096+8*l42.Unit), 1, 42)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	stream := appendFlush(t, w, nil, randBytes(rng, sb))
	fds[0].FailRate(faultdev.OpWrite, 1)
	stream = appendFlush(t, w, stream, randBytes(rng, sb))
	fds[5].FailRate(faultdev.OpFlush, 1)
	stream = appendFlush(t, w, stream, randBytes(rng, sb))
	if got := w.Lost(); !slices.Equal(got, []int{0, 5}) {
		t.Fatalf("Lost() = %v", got)
	}
	// K lost: the stream is still whole on the N members left.
	check(t, Open(without(set, 0, 5), int64(len(stream))), stream, 0, int64(len(stream)))

	fds[2].FailRate(faultdev.OpWrite, 1)
	_, err = w.Append(randBytes(rng, 2*sb)) // the second stripe's write sees the first's failure
	if err == nil {
		_, err = w.Flush()
	}
	if !errors.Is(err, ErrBroken) || !errors.Is(err, dev.ErrIO) {
		t.Fatalf("third member lost: %v, want ErrBroken wrapping the IO errors", err)
	}
	var me *MemberError
	if !errors.As(err, &me) {
		t.Fatalf("error %v names no member", err)
	}
	if got := w.Lost(); !slices.Equal(got, []int{0, 2, 5}) {
		t.Fatalf("Lost() = %v", got)
	}
	if _, err := w.Append([]byte{1}); !errors.Is(err, ErrBroken) {
		t.Fatalf("append to a broken writer: %v", err)
	}
	if _, err := w.Flush(); !errors.Is(err, ErrBroken) {
		t.Fatalf("flush of a broken writer: %v", err)
	}
}

// TestDegradedAtOnce: K+1 members failing in the same stripe.
func TestDegradedAtOnce(t *testing.T) {
	set, fds := testSet(t, l42, int64(4096+8*l42.Unit), 1, 43)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 3, 4} {
		fds[i].FailRate(faultdev.OpWrite, 1)
	}
	if _, err := w.Append(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Flush(); !errors.Is(err, ErrBroken) {
		t.Fatalf("flush with 3 failing members: %v", err)
	}
}

// TestCreateMemberError: Create still fails when a member cannot be
// created, naming it.
func TestCreateMemberError(t *testing.T) {
	set, fds := testSet(t, l42, int64(4096+8*l42.Unit), 1, 44)
	fds[4].FailRate(faultdev.OpWrite, 1)
	_, err := Create(set)
	var me *MemberError
	if !errors.As(err, &me) || me.Member != 4 || !errors.Is(err, dev.ErrIO) {
		t.Fatalf("create with member 4 failing: %v", err)
	}
}

var zcfg = zonemu.Config{
	ZoneSize: 256 << 10, ZoneCapacity: 256<<10 - 8192,
	NrZones: 3, NrConventional: 1, LogicalBlockSize: 4096,
}

// zonedSet builds a set of faultdev-over-zonemu members, each the first
// sequential zone of its drive.
func zonedSet(t *testing.T, l stripe.Layout, id uint64) (Set, []*faultdev.Device) {
	t.Helper()
	set := Set{ID: id, Layout: l}
	var fds []*faultdev.Device
	for i := range l.Members() {
		mem := memdev.New(fmt.Sprintf("z%d", i), int64(zcfg.NrZones)*zcfg.ZoneSize+zonemu.MetadataSize(zcfg), 4096)
		zd, err := zonemu.Create(mem, zcfg)
		if err != nil {
			t.Fatal(err)
		}
		fd := faultdev.New(zd, id*100+uint64(i))
		fds = append(fds, fd)
		set.Members = append(set.Members, Member{
			Loc:  seg.Location{Dev: fd, Index: 1, Start: zcfg.ZoneSize, Capacity: zcfg.ZoneCapacity, Sequential: true},
			Node: uuid.New(), Drive: uuid.New(), Generation: 1,
		})
	}
	return set, fds
}

func zoneOf(t *testing.T, m Member) dev.Zone {
	t.Helper()
	z, ok := dev.AsZoned(m.Loc.Dev)
	if !ok {
		t.Fatal("member not zoned")
	}
	zs, err := z.ReportZones(m.Loc.Start, 1)
	if err != nil || len(zs) != 1 {
		t.Fatalf("report zones: %v %v", zs, err)
	}
	return zs[0]
}

func writtenEnd(t *testing.T, set Set) int64 {
	t.Helper()
	end, err := WrittenEnd(set)
	if err != nil {
		t.Fatalf("WrittenEnd: %v", err)
	}
	return end
}

// TestResumeZoned: after a crash that left a stripe on some members only,
// the writer resumes at WrittenEnd: members behind are padded, the old
// stream and the new appends read back, and the unacknowledged stripes
// between are garbage that reads as an error, never as data.
func TestResumeZoned(t *testing.T) {
	sb := StripeBytes(l42)
	rng := rand.New(rand.NewPCG(50, 50))
	set, fds := zonedSet(t, l42, 50)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	if got := writtenEnd(t, set); got != 0 {
		t.Fatalf("WrittenEnd of a new set %d, want 0", got)
	}
	stream := appendFlush(t, w, nil, randBytes(rng, 3*sb-10))
	if got := writtenEnd(t, set); got != 3*sb {
		t.Fatalf("WrittenEnd %d, want %d", got, 3*sb)
	}
	// Stripe 3 is written to members 1-4 only (0 and 5 fail), and the
	// caller's frontier stays at 3 stripes: stripe 3 is never referenced.
	fds[0].FailRate(faultdev.OpWrite, 1)
	fds[5].FailRate(faultdev.OpWrite, 1)
	stripe3 := appendFlush(t, w, stream, randBytes(rng, sb))[3*sb:]
	checkLost(t, w, dev.ErrIO, 0, 5)
	// Crash while stripe 4 was being written: only member 2's unit landed.
	if _, err := fds[2].WriteAt(randBytes(rng, int64(l42.Unit)), unitDevOffset(set, 2, 4)); err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		fd.ClearFaults()
	}
	end := writtenEnd(t, set)
	if end != 5*sb {
		t.Fatalf("WrittenEnd %d, want %d", end, 5*sb)
	}

	// Misaligned, negative, past the set, or behind a member's write
	// pointer: ErrSet, and nothing is written.
	for _, at := range []int64{end + 1, end - 4096, -sb, 3 * sb, 4 * sb, 0, 1 << 40} {
		if _, err := Resume(set, at); !errors.Is(err, ErrSet) {
			t.Fatalf("resume at %d: %v, want ErrSet", at, err)
		}
	}
	if zoneOf(t, set.Members[0]).WritePointer != unitDevOffset(set, 0, 3) {
		t.Fatal("a failed Resume moved a write pointer")
	}

	w, err = Resume(set, end)
	if err != nil {
		t.Fatal(err)
	}
	if w.End() != end || len(w.Lost()) != 0 {
		t.Fatalf("resumed at %d, lost %v", w.End(), w.Lost())
	}
	for i, m := range set.Members {
		if wp := zoneOf(t, m).WritePointer; wp != unitDevOffset(set, i, 5) {
			t.Fatalf("member %d: write pointer %d after Resume, want %d", i, wp, unitDevOffset(set, i, 5))
		}
	}
	garbage := make([]byte, 5*sb) // stripes 3 and 4 as the caller sees them: unreferenced
	newData := randBytes(rng, 2*sb+BlockPayload+3)
	full := appendFlush(t, w, garbage, newData)
	copy(full, stream)
	if got := writtenEnd(t, set); got != int64(len(full)) {
		t.Fatalf("WrittenEnd after resume %d, want %d", got, len(full))
	}

	r := Open(set, int64(len(full)))
	check(t, r, full, 0, 3*sb)
	if rep := check(t, r, full, 5*sb, int64(len(full))-5*sb); !isClean(rep) {
		t.Fatalf("new stripes: report %v, want clean", rep)
	}
	// Stripe 3 was acknowledged by a degraded Flush: whole, with member 0
	// rebuilt from the others (its padding fails the tags).
	copy(full[3*sb:], stripe3)
	rep := check(t, r, full, 3*sb, sb)
	if !slices.Equal(rep.Rebuilt, []int{0}) {
		t.Fatalf("stripe 3: report %v, want member 0 rebuilt", rep)
	}
	// Stripe 4 is garbage: an error, never data.
	if _, err := r.ReadAt(make([]byte, 100), 4*sb+5); !errors.Is(err, stripe.ErrUnrecoverable) {
		t.Fatalf("read of the unreferenced stripe: %v", err)
	}
	for range 30 {
		off, n := randomRange(rng, int64(len(full))-5*sb)
		check(t, r, full, 5*sb+off, n)
	}
}

// TestResumeZonedLost: members with no device, or whose zone cannot be
// reported or padded, are lost by Resume; K+1 of them fail it.
func TestResumeZonedLost(t *testing.T) {
	sb := StripeBytes(l42)
	rng := rand.New(rand.NewPCG(51, 51))
	set, fds := zonedSet(t, l42, 51)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	stream := appendFlush(t, w, nil, randBytes(rng, sb))
	// Member 1 fell behind: it missed stripe 1.
	fds[1].FailRate(faultdev.OpWrite, 1)
	stream = appendFlush(t, w, stream, randBytes(rng, sb))
	fds[1].ClearFaults()

	if _, err := Resume(without(set, 0, 2, 3), 2*sb); !errors.Is(err, ErrBroken) || !errors.Is(err, ErrNoDevice) {
		t.Fatalf("resume with 3 members missing: %v", err)
	}
	// Member 1 cannot be padded, member 4 not even reported.
	fds[1].FailRate(faultdev.OpWrite, 1)
	fds[4].FailRate(faultdev.OpZone, 1)
	if _, err := Resume(without(set, 0), 2*sb); !errors.Is(err, ErrBroken) {
		t.Fatalf("resume with 3 members lost: %v", err)
	}
	fds[4].ClearFaults()
	rset := without(set, 0)
	w, err = Resume(rset, 2*sb)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Lost(); !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("Lost() = %v, want [0 1]", got)
	}
	if !errors.Is(w.LostErr(0), ErrNoDevice) || !errors.Is(w.LostErr(1), dev.ErrIO) {
		t.Fatalf("lost errors %v, %v", w.LostErr(0), w.LostErr(1))
	}
	stream = appendFlush(t, w, stream, randBytes(rng, sb+1))
	fds[1].ClearFaults()
	check(t, Open(rset, int64(len(stream))), stream, 0, int64(len(stream)))
	check(t, Open(without(set, 1), int64(len(stream))), stream, 0, int64(len(stream)))
}

// TestResumeZonedNoHeader: a crash in Create left a member's zone empty;
// Resume writes its header and pads it.
func TestResumeZonedNoHeader(t *testing.T) {
	l := stripe.Layout{N: 2, K: 1, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(52, 52))
	set, _ := zonedSet(t, l, 52)
	if _, err := Create(set); err != nil {
		t.Fatal(err)
	}
	z, _ := dev.AsZoned(set.Members[1].Loc.Dev)
	if err := z.ResetZone(set.Members[1].Loc.Start); err != nil {
		t.Fatal(err)
	}
	if got := writtenEnd(t, set); got != 0 {
		t.Fatalf("WrittenEnd %d", got)
	}
	w, err := Resume(set, 0)
	if err != nil {
		t.Fatal(err)
	}
	stream := appendFlush(t, w, nil, randBytes(rng, 3*StripeBytes(l)/2))
	if rep := check(t, Open(set, int64(len(stream))), stream, 0, int64(len(stream))); !isClean(rep) {
		t.Fatalf("report %v", rep)
	}
	m := set.Members[1]
	sc, err := seg.Scan(m.Loc, seg.Expect{Node: m.Node, Drive: m.Drive, Kind: seg.KindData, Generation: m.Generation})
	if err != nil {
		t.Fatalf("member 1's header: %v", err)
	}
	if h := sc.Header(); h.Set != set.ID {
		t.Fatalf("member 1's header names set %d", h.Set)
	}
}

// TestResumeConventional: conventional members have no write pointer;
// Resume at the caller's frontier overwrites what lay beyond it.
func TestResumeConventional(t *testing.T) {
	sb := StripeBytes(l42)
	rng := rand.New(rand.NewPCG(53, 53))
	set, _ := testSet(t, l42, int64(4096+8*l42.Unit), 1, 53)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	old := appendFlush(t, w, nil, randBytes(rng, 4*sb))
	if _, err := WrittenEnd(set); !errors.Is(err, ErrUnknownEnd) {
		t.Fatalf("WrittenEnd of conventional members: %v", err)
	}
	for _, at := range []int64{-sb, sb + 1, 9 * sb} {
		if _, err := Resume(set, at); !errors.Is(err, ErrSet) {
			t.Fatalf("resume at %d: %v", at, err)
		}
	}
	// The caller committed 2 stripes; stripes 2 and 3 were never
	// acknowledged and are overwritten.
	w, err = Resume(set, 2*sb)
	if err != nil {
		t.Fatal(err)
	}
	stream := appendFlush(t, w, old[:2*sb:2*sb], randBytes(rng, sb+sb/3))
	if int64(len(stream)) != 4*sb || bytes.Equal(stream[2*sb:], old[2*sb:]) {
		t.Fatal("test wrote nothing new")
	}
	r := Open(set, int64(len(stream)))
	if rep := check(t, r, stream, 0, int64(len(stream))); !isClean(rep) {
		t.Fatalf("report %v", rep)
	}
	// A member with no device is lost from the start.
	w, err = Resume(without(set, 2), 4*sb)
	if err != nil {
		t.Fatal(err)
	}
	checkLost(t, w, ErrNoDevice, 2)
	stream = appendFlush(t, w, stream, randBytes(rng, 2*sb))
	check(t, Open(without(set, 2), int64(len(stream))), stream, 0, int64(len(stream)))
}

// TestFinishZoned: Finish leaves every zone full (no open or active zone
// resource), skips lost members, is idempotent, and ends the Writer.
func TestFinishZoned(t *testing.T) {
	sb := StripeBytes(l42)
	rng := rand.New(rand.NewPCG(54, 54))
	set, fds := zonedSet(t, l42, 54)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	stream := appendFlush(t, w, nil, randBytes(rng, sb))
	fds[3].FailRate(faultdev.OpWrite, 1)
	p := randBytes(rng, sb/2)
	if _, err := w.Append(p); err != nil { // flushed by Finish
		t.Fatal(err)
	}
	stream = append(stream, p...)
	stream = append(stream, make([]byte, sb-sb/2)...)
	fds[1].FailRate(faultdev.OpZone, 1) // member 1's zone will not finish
	err = w.Finish()
	var me *MemberError
	if !errors.As(err, &me) || me.Member != 1 || !errors.Is(err, dev.ErrIO) {
		t.Fatalf("finish with member 1's zone failing: %v", err)
	}
	checkLost(t, w, dev.ErrIO, 3)
	fds[1].ClearFaults()
	fds[3].ClearFaults()
	if err := w.Finish(); err != nil {
		t.Fatalf("second finish: %v", err)
	}
	if err := w.Finish(); err != nil {
		t.Fatalf("third finish: %v", err)
	}
	for i, m := range set.Members {
		z := zoneOf(t, m)
		if i == 3 { // lost: left alone
			if z.Cond == dev.ZoneCondFull {
				t.Fatal("lost member's zone finished")
			}
			continue
		}
		if z.Cond != dev.ZoneCondFull || z.Cond.IsActive() {
			t.Fatalf("member %d: zone %v after Finish", i, z)
		}
	}
	if _, err := w.Append([]byte{1}); !errors.Is(err, ErrFinished) {
		t.Fatalf("append after finish: %v", err)
	}
	if _, err := w.Flush(); !errors.Is(err, ErrFinished) {
		t.Fatalf("flush after finish: %v", err)
	}
	// Everything appended before Finish is durable and reads back.
	check(t, Open(set, int64(len(stream))), stream, 0, int64(len(stream)))

	// A finished set is written to its end as far as WrittenEnd can tell:
	// resuming it anywhere short of capacity fails, at capacity it takes
	// nothing.
	capacity := w.Capacity()
	if got := writtenEnd(t, set); got != capacity {
		t.Fatalf("WrittenEnd of a finished set %d, want %d", got, capacity)
	}
	if _, err := Resume(set, int64(len(stream))); !errors.Is(err, ErrSet) {
		t.Fatalf("resume of a finished set: %v", err)
	}
	w, err = Resume(set, capacity)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]byte{1}); !errors.Is(err, ErrFull) {
		t.Fatalf("append at capacity: %v", err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if z := zoneOf(t, set.Members[3]); z.Cond != dev.ZoneCondFull {
		t.Fatalf("member 3's zone %v after the second writer's Finish", z)
	}
}

// TestFinishConventional: nothing to finish, but the Writer ends.
func TestFinishConventional(t *testing.T) {
	set, fds := testSet(t, l42, int64(4096+8*l42.Unit), 1, 55)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	stream := []byte("final words")
	if _, err := w.Append(stream); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]byte{1}); !errors.Is(err, ErrFinished) {
		t.Fatalf("append after finish: %v", err)
	}
	check(t, Open(set, int64(len(stream))), stream, 0, int64(len(stream)))

	// A broken writer's Finish says so, every time.
	w, err = Create(withGen(set, 2))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 2} {
		fds[i].FailRate(faultdev.OpFlush, 1)
	}
	if _, err := w.Append(stream); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); !errors.Is(err, ErrBroken) {
		t.Fatalf("finish of a writer whose flush fails: %v", err)
	}
	if err := w.Finish(); !errors.Is(err, ErrBroken) {
		t.Fatalf("second finish of a broken writer: %v", err)
	}
}

// TestVerifyStripe: a scrub of a stripe finds a corrupt parity unit that
// no read uses, a corrupt data unit, and a missing member; a healthy
// stripe reports nothing.
func TestVerifyStripe(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	set, devs := testSet(t, l, 1<<20, 1, 5)
	rng := rand.New(rand.NewPCG(5, 5))
	stream := write(t, set, rng, 3*StripeBytes(l))
	r := Open(set, int64(len(stream)))
	for s := range int64(3) {
		if rep, err := r.VerifyStripe(s); err != nil || !isClean(rep) {
			t.Fatalf("stripe %d: %v %v", s, rep, err)
		}
	}
	devs[5].CorruptAt(unitDevOffset(set, 5, 1) + 100)  // parity of stripe 1
	devs[2].CorruptAt(unitDevOffset(set, 2, 2) + 5000) // data of stripe 2
	rep, err := r.VerifyStripe(1)
	if err != nil || !slices.Equal(rep.Corrupt, []int{5}) {
		t.Fatalf("corrupt parity: %v %v", rep, err)
	}
	rep, err = r.VerifyStripe(2)
	if err != nil || !slices.Equal(rep.Corrupt, []int{2}) || !slices.Equal(rep.Rebuilt, []int{2}) {
		t.Fatalf("corrupt data: %v %v", rep, err)
	}
	if _, err := r.VerifyStripe((int64(len(stream)) + StripeBytes(l) - 1) / StripeBytes(l)); !errors.Is(err, ErrRange) {
		t.Fatalf("beyond the stream: %v", err)
	}
	check(t, r, stream, 0, int64(len(stream)))
}

// TestVerifyStripes: a span verified at once reports per stripe what
// VerifyStripe reports one stripe at a time (a corrupt parity unit no read
// uses, a corrupt data unit rebuilt, a member without a device), fills in
// the verified stream, and fails only a stripe with more damage than
// parity covers.
func TestVerifyStripes(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	set, devs := testSet(t, l, 1<<20, 1, 5)
	rng := rand.New(rand.NewPCG(5, 6))
	sb := StripeBytes(l)
	stream := write(t, set, rng, 5*sb)
	r := Open(set, int64(len(stream)))
	verify := func(r *Reader) ([]byte, []stripe.Report, []error) {
		p := make([]byte, 5*sb)
		reps, errs, err := r.VerifyStripes(p, 0)
		if err != nil || len(reps) != 5 || len(errs) != 5 {
			t.Fatalf("verify: %v (%d reports, %d errors)", err, len(reps), len(errs))
		}
		return p, reps, errs
	}
	p, reps, errs := verify(r)
	for s := range 5 {
		if !isClean(reps[s]) || errs[s] != nil {
			t.Fatalf("healthy stripe %d: %v %v", s, reps[s], errs[s])
		}
	}
	if !bytes.Equal(p, stream[:5*sb]) {
		t.Fatal("the verified span differs from the stream")
	}
	devs[5].CorruptAt(unitDevOffset(set, 5, 1) + 100)  // parity of stripe 1
	devs[2].CorruptAt(unitDevOffset(set, 2, 2) + 5000) // data of stripe 2
	for d := range 3 {                                 // stripe 4: beyond parity
		devs[d].CorruptAt(unitDevOffset(set, d, 4) + 10)
	}
	p, reps, errs = verify(r)
	switch {
	case !isClean(reps[0]) || errs[0] != nil || !isClean(reps[3]) || errs[3] != nil:
		t.Fatalf("healthy stripes 0 and 3: %v %v / %v %v", reps[0], errs[0], reps[3], errs[3])
	case errs[1] != nil || !slices.Equal(reps[1].Corrupt, []int{5}):
		t.Fatalf("corrupt parity: %v %v", reps[1], errs[1])
	case errs[2] != nil || !slices.Equal(reps[2].Corrupt, []int{2}) || !slices.Equal(reps[2].Rebuilt, []int{2}):
		t.Fatalf("corrupt data: %v %v", reps[2], errs[2])
	case !errors.Is(errs[4], stripe.ErrUnrecoverable):
		t.Fatalf("stripe 4: %v", errs[4])
	case !bytes.Equal(p[:4*sb], stream[:4*sb]):
		t.Fatal("the verified stripes differ from the stream")
	}
	lost := set
	lost.Members = slices.Clone(set.Members)
	lost.Members[4].Loc.Dev = nil
	_, reps, errs = verify(Open(lost, int64(len(stream))))
	if errs[0] != nil || !slices.Equal(reps[0].Missing, []int{4}) {
		t.Fatalf("parity member 4 without a device: %v %v", reps[0], errs[0])
	}
	beyond := (int64(len(stream)) + sb - 1) / sb
	if _, _, err := r.VerifyStripes(make([]byte, sb), beyond); !errors.Is(err, ErrRange) {
		t.Fatalf("beyond the stream: %v", err)
	}
}
