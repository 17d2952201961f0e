package pool

// The crash simulation: seeded runs of a pool on six drives (faultdev over
// memdev) that share one power rail, the first three also holding the
// metadata store. Writers put and delete owners of random sizes while the
// cleaner runs with thresholds that keep it busy; after a random number of
// acknowledged operations the power goes (every drive cut, dropping or
// tearing what no flush covered). The pool and store are reopened from the
// drives and compared with what was acknowledged: each owner shows its
// last acknowledged version or a newer one that was in flight, with
// exactly that version's bytes; the checker passes (deep: every record
// read back); and the run goes on. It ends with a clean close and reopen.
//
//	go test ./pool/ -run Crash                        24 seeds (6 with -short)
//	go test ./pool/ -run Crash -pool.seeds=500        more
//	go test ./pool/ -run '^TestCrash$' -pool.seed=17 -v   one seed

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/internal/simtest"
	"github.com/plinth-storage/plinth/io/faultdev"
)

var seeds = simtest.Flags("./pool/", "pool", 24)

func TestCrash(t *testing.T) {
	seeds.Run(t, 24, 6, func(t *testing.T, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 0xc0ffee))
		r := newRig(t, rigConfig{segs: 40, segSize: 256 << 10, metaSegs: 32, opts: Options{Cleaner: CleanerOptions{
			Interval: 2 * time.Millisecond, StartFree: 0.6, StopFree: 0.7, Rate: 1 << 40}}})
		m := newModel()
		for round := range 3 {
			stop := make(chan struct{})
			wg, done := load(t, r.p, m, 1+rng.IntN(4), 1+rng.IntN(3*int(r.p.sb)), stop, true)
			waitOps(t, done, int64(10+rng.IntN(150)))
			mode := faultdev.CutMode(rng.IntN(2))
			for _, d := range r.devs {
				_ = d.PowerCut(mode)
			}
			close(stop)
			wg.Wait()
			_ = r.p.Close()
			_ = r.st.Close()
			r.p, r.st = nil, nil
			for _, d := range r.devs {
				d.Restart()
			}
			r.openStore()
			r.open()
			checked, _ := m.verify(t, r.p, nil)
			if err := r.p.Check(ctx, CheckOptions{Deep: true}); err != nil {
				t.Fatalf("seed %d round %d (cut %v): %v", seed, round, mode, err)
			}
			t.Logf("seed %d round %d: cut (%v) after %d operations; %d owners verified", seed, round, mode, done.Load(), checked)
		}
		r.reopen()
		m.verify(t, r.p, nil)
		r.check()
	})
}
