package datalog

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
)

// TestRebuildMember: every member in turn (data and parity) is lost and
// rebuilt onto a new device; the set with the new member reads back the
// stream, and every stripe verifies clean (parity included), even when a
// second member is missing during the rebuild and a survivor has rot.
func TestRebuildMember(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	const segSize = 4 << 20
	for _, zoned := range []bool{false, true} {
		for i := range l.Members() {
			var set Set
			var fds []*faultdev.Device
			if zoned {
				set, fds = zonedSet(t, l, uint64(40+i))
			} else {
				set, fds = testSet(t, l, segSize, 7, uint64(i))
			}
			rng := rand.New(rand.NewPCG(uint64(i), 9))
			stream := write(t, set, rng, 3*StripeBytes(l)*7+1234)
			end := int64(len(stream))
			// Member i is lost, and with it (K = 2) another member is
			// missing or a survivor has rot.
			other := (i + 1) % l.Members()
			lost := set
			lost.Members = append([]Member(nil), set.Members...)
			lost.Members[i].Loc.Dev = nil
			rot := -1
			if i%2 == 0 {
				lost.Members[other].Loc.Dev = nil
			} else if !zoned {
				rot = other
				fds[rot].CorruptAt(unitDevOffset(set, rot, 3) + 100)
			}
			var target Member
			if zoned {
				mem := memdev.New("target", int64(zcfg.NrZones)*zcfg.ZoneSize+zonemu.MetadataSize(zcfg), 4096)
				zd, err := zonemu.Create(mem, zcfg)
				if err != nil {
					t.Fatal(err)
				}
				target = Member{Loc: seg.Location{Dev: zd, Index: 1, Start: zcfg.ZoneSize, Capacity: zcfg.ZoneCapacity, Sequential: true},
					Node: set.Members[i].Node, Drive: uuid.New(), Generation: set.Members[i].Generation}
			} else {
				target = Member{Loc: seg.Location{Dev: memdev.New("target", 3*segSize, 4096), Index: 2, Start: 2 * segSize, Capacity: segSize},
					Node: set.Members[i].Node, Drive: uuid.New(), Generation: set.Members[i].Generation}
			}
			var calls int64
			rep, err := RebuildMember(context.Background(), lost, i, target, end, RebuildOptions{
				Wait:     func(context.Context, int) error { calls++; return nil },
				Progress: func(done, total int64) {},
			})
			if err != nil {
				t.Fatalf("zoned %v member %d: %v", zoned, i, err)
			}
			if rep.Stripes != (end+StripeBytes(l)-1)/StripeBytes(l) || calls == 0 {
				t.Fatalf("zoned %v member %d: report %+v, %d waits", zoned, i, rep, calls)
			}
			// The rebuilt set, with the other member back, checks clean
			// everywhere but the rotten unit.
			rebuilt := set
			rebuilt.Members = append([]Member(nil), set.Members...)
			rebuilt.Members[i] = target
			if rot >= 0 {
				rebuilt.Members[rot].Loc.Dev = nil // its rot is the survivor's problem, not the rebuild's
			}
			r := Open(rebuilt, end)
			check(t, r, stream, 0, end)
			for s := int64(0); s*StripeBytes(l) < end; s++ {
				vr, err := r.VerifyStripe(s)
				if err != nil || len(vr.Corrupt) != 0 {
					t.Fatalf("zoned %v member %d: stripe %d after the rebuild: %v %v", zoned, i, s, vr, err)
				}
			}
		}
	}
}

// TestRebuildMemberRefuses: a target of another generation, a target
// without a device, and a stripe with more damage than parity covers are
// refused; a Wait error stops the rebuild.
func TestRebuildMemberRefuses(t *testing.T) {
	l := stripe.Layout{N: 2, K: 1, Unit: 16 << 10}
	set, _ := testSet(t, l, 1<<20, 3, 1)
	stream := write(t, set, rand.New(rand.NewPCG(1, 1)), 5*StripeBytes(l))
	end := int64(len(stream))
	target := Member{Loc: seg.Location{Dev: memdev.New("t", 2<<20, 4096), Index: 1, Start: 1 << 20, Capacity: 1 << 20}, Generation: 3}
	ctx := context.Background()
	bad := target
	bad.Generation = 4
	if _, err := RebuildMember(ctx, set, 0, bad, end, RebuildOptions{}); !errors.Is(err, ErrSet) {
		t.Fatalf("another generation: %v", err)
	}
	bad = target
	bad.Loc.Dev = nil
	if _, err := RebuildMember(ctx, set, 0, bad, end, RebuildOptions{}); !errors.Is(err, ErrSet) {
		t.Fatalf("no device: %v", err)
	}
	stop := errors.New("stop")
	if _, err := RebuildMember(ctx, set, 0, target, end, RebuildOptions{Wait: func(context.Context, int) error { return stop }}); !errors.Is(err, stop) {
		t.Fatalf("wait error: %v", err)
	}
	two := set
	two.Members = append([]Member(nil), set.Members...)
	two.Members[1].Loc.Dev = nil
	if _, err := RebuildMember(ctx, two, 0, target, end, RebuildOptions{}); !errors.Is(err, stripe.ErrUnrecoverable) {
		t.Fatalf("two of 2+1 lost: %v", err)
	}
}
