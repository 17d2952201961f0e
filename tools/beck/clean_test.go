package beck

import (
	"testing"

	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// The cleaner copies the attrs record of every write that is still its
// owner's along with its data, so after every written set has been
// cleaned (a restart seals the sets the workload left open; the cleaner
// then takes every set, however full) and every metadata copy wiped, the
// rebuild still restores every object with its attributes.
func TestRebuildAfterCleaningKeepsAttributes(t *testing.T) {
	n := newNode(t)
	n.run(func(*objects.Store) {}) // seals the open sets
	cleaned := 0
	opts := pool.Options{Cleaner: pool.CleanerOptions{Manual: true, MaxUtilization: 1}}
	n.runWith(opts, func(_ *objects.Store, pools []*pool.Pool) {
		for _, p := range pools {
			c, err := p.Clean(ctx, 1000)
			if err != nil {
				t.Fatal(err)
			}
			cleaned += c
		}
	})
	if cleaned == 0 {
		t.Fatal("nothing was cleaned: the test proves nothing")
	}
	n.wipeMetadata()
	r, err := n.rebuild(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != fsck.ExitCorrected || len(r.Lost) != 0 || r.Counters.NoAttrs != 0 {
		t.Fatalf("after cleaning %d sets: report %+v", cleaned, r)
	}
	n.verify()
	if errs := n.check(); len(errs) != 0 {
		t.Fatalf("fsck after the rebuild: %+v", errs)
	}
}
