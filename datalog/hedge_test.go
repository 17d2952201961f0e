package datalog

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/stripe"
)

// With a hedge, reads of stripes whose data member 1 answers 200 ms late
// finish near the deadline, rebuilt from the other members, with the
// right bytes and nothing reported to repair; without one they wait.
func TestHedgedReadRoutesAroundASlowMember(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	segSize := int64(4096 + 8*l.Unit + 4096)
	set, fds := testSet(t, l, segSize, 1, 77)
	rng := rand.New(rand.NewPCG(7, 7))
	stream := write(t, set, rng, 8*StripeBytes(l))
	const late = 200 * time.Millisecond
	fds[1].Latency(faultdev.OpRead, late, 0)

	r := Open(set, int64(len(stream)))
	r.SetHedge(func(int) time.Duration { return 10 * time.Millisecond })
	start := time.Now()
	for s := range int64(8) {
		rep := check(t, r, stream, s*StripeBytes(l), StripeBytes(l))
		if !isClean(rep) {
			t.Fatalf("stripe %d: a slow member was reported: %v", s, rep)
		}
	}
	if el := time.Since(start); el > 4*late {
		t.Fatalf("8 hedged stripe reads took %v; the slow member's latency is %v per read", el, late)
	}
	// A range that touches only fast members is not hedged away.
	check(t, r, stream, 0, 100)

	// Unhedged, every stripe waits for the slow member.
	plain := Open(set, int64(len(stream)))
	start = time.Now()
	check(t, plain, stream, 0, StripeBytes(l))
	if el := time.Since(start); el < late {
		t.Fatalf("an unhedged read of a stripe with a %v member took %v", late, el)
	}
	// A member not to be read at all: its units are rebuilt at once.
	skipping := Open(set, int64(len(stream)))
	skipping.SetHedge(func(i int) time.Duration {
		if i == 1 {
			return -1
		}
		return time.Second
	})
	start = time.Now()
	if rep := check(t, skipping, stream, 0, StripeBytes(l)); !isClean(rep) {
		t.Fatalf("a skipped member was reported: %v", rep)
	}
	if el := time.Since(start); el > late/2 {
		t.Fatalf("a read that skips the slow member took %v", el)
	}
	// Corruption is still found and repaired from parity under a hedge.
	fds[1].ClearFaults()
	fds[2].CorruptAt(unitDevOffset(set, 2, 3) + 100)
	rep := check(t, r, stream, 3*StripeBytes(l), StripeBytes(l))
	if len(rep.Corrupt) != 1 || rep.Corrupt[0] != 2 {
		t.Fatalf("corrupt unit under a hedge: report %v", rep)
	}
}
