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

// A read that skips a slow member rebuilds just the blocks it needs from
// N other members (rebuildPart): small ranges anywhere in a stripe read
// right. When one of those sources is bad (a corrupt data unit, a corrupt
// first parity unit), the whole-stripe rebuild takes over: the bytes are
// still right and a corrupt data unit is reported for repair.
func TestSkippedMemberRebuildsOnlyTheBlocksRead(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	set, fds := testSet(t, l, int64(4096+8*l.Unit+4096), 1, 78)
	rng := rand.New(rand.NewPCG(8, 8))
	sb := StripeBytes(l)
	stream := write(t, set, rng, 8*sb)
	fds[1].Latency(faultdev.OpRead, time.Second, 0) // a read of it would fail the test's time
	// The second parity member is not needed for one lost unit: reading
	// it would mean the whole-stripe rebuild ran.
	fds[5].Latency(faultdev.OpRead, time.Second, 0)
	r := Open(set, int64(len(stream)))
	r.SetHedge(func(i int) time.Duration {
		if i == 1 {
			return -1
		}
		return time.Hour
	})
	start := time.Now()
	for range 40 {
		off := rng.Int64N(8*sb - 1)
		n := 1 + rng.Int64N(min(3*BlockPayload, 8*sb-off))
		if rep := check(t, r, stream, off, n); !isClean(rep) {
			t.Fatalf("read [%d, +%d): %v", off, n, rep)
		}
	}
	if el := time.Since(start); el > time.Second/2 {
		t.Fatalf("40 reads that skip the slow member took %v", el)
	}
	if n := fds[5].Stats().Delays; n != 0 {
		t.Fatalf("the second parity member was read %d times: the reads rebuilt whole stripes", n)
	}
	fds[1].ClearFaults()
	fds[5].ClearFaults()
	// Stripe 2: data member 2 corrupt where member 1's blocks are read.
	fds[2].CorruptAt(unitDevOffset(set, 2, 2) + 100)
	rep := check(t, r, stream, 2*sb+int64(l.Unit/BlockSize)*BlockPayload, BlockPayload)
	if len(rep.Corrupt) != 1 || rep.Corrupt[0] != 2 {
		t.Fatalf("a corrupt source: report %v", rep)
	}
	// Stripe 5: the first parity unit corrupt.
	fds[4].CorruptAt(unitDevOffset(set, 4, 5) + 100)
	check(t, r, stream, 5*sb+int64(l.Unit/BlockSize)*BlockPayload, BlockPayload)
}
