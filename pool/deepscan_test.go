package pool

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/stripe"
)

// DeepScan reads spans of a few stripes, so records cross span
// boundaries: every referenced record is compared once, a clean pool has
// no problem, and a stripe with more damage than parity covers is one
// unrecoverable, live damage whose records are reported by owner, while
// every other record still checks.
func TestDeepScanAcrossSpans(t *testing.T) {
	defer func(b int) { deepSpanBytes = b }(deepSpanBytes)
	r := newRig(t, rigConfig{segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	deepSpanBytes = 3 * r.layout.Unit
	rng := rand.New(rand.NewPCG(3, 9))
	for i := range 40 {
		owner := fmt.Sprintf("d%d", i)
		r.put(owner, 1, payload(owner, 1, 1+rng.IntN(5*int(r.p.sb))))
	}
	for i := range 5 {
		if err := r.p.Delete(ctx, []byte(fmt.Sprintf("d%d", i*7)), 2); err != nil {
			t.Fatal(err)
		}
	}
	var progressed, total int64
	clean, err := r.p.DeepScan(ctx, func(d, n int64) { progressed, total = d, n }, func(d StripeDamage) { t.Errorf("damage %+v", d) })
	if err != nil || len(clean.Problems) != 0 || clean.Records < 45 || clean.Stripes == 0 || clean.BytesRead == 0 {
		t.Fatalf("clean pool: %+v %v", clean, err)
	}
	if progressed != total || total == 0 {
		t.Fatalf("progress %d of %d", progressed, total)
	}

	var ids []alloc.SetID
	for s, err := range r.p.al.Sets(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	const bad = 4 // a stripe inside the second span of the first set
	for m := range r.layout.K + 1 {
		pos, off := r.unitOffset(ids[0], m, bad)
		r.devs[pos].CorruptAt(off + 50)
	}
	var found []StripeDamage
	res, err := r.p.DeepScan(ctx, nil, func(d StripeDamage) { found = append(found, d) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Unrecoverable != 1 || len(found) != 1 || found[0].Set != ids[0] || found[0].Stripe != bad || !found[0].Live ||
		!errors.Is(found[0].Err, stripe.ErrUnrecoverable) {
		t.Fatalf("damage %+v, result %+v", found, res.ScrubResult)
	}
	if res.Records != clean.Records || len(res.Problems) == 0 {
		t.Fatalf("%d records compared (clean: %d), problems %v", res.Records, clean.Records, res.Problems)
	}
	for _, p := range res.Problems {
		if !errors.Is(p, ErrCorrupt) || !errors.Is(p, stripe.ErrUnrecoverable) || !strings.Contains(p.Error(), fmt.Sprintf("set %d", ids[0])) || !strings.Contains(p.Error(), `"d`) {
			t.Fatalf("problem %v", p)
		}
	}
}
