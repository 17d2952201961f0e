package beck

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/superblock"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// setup is phase 3: the fresh metadata store (or the one of the rebuild
// being resumed), with the node's records (drive labels, pools), the
// pools' trees, and the allocator's tables as the drives have them, each
// found set holding everything it was written with until the index says
// what is live: a node started before the rebuild ends can neither write
// over nor clean away what is not indexed yet.
func (b *rebuild) setup(bar fsck.Bar) (string, error) {
	if b.resume {
		done, err := b.reopen()
		if err != nil || done != "" {
			return done, err
		}
	} else if err := b.create(); err != nil {
		return "", err
	}
	bar.Update(1, 4)
	if err := b.nodeRecords(); err != nil {
		return "", err
	}
	bar.Update(2, 4)
	// The pools' own trees, made as a start makes them (the allocator's
	// segment tables filled with free entries), then closed.
	pools, err := b.node.OpenPools(b.ctx, b.st, pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}, nil)
	if err != nil {
		return "", fmt.Errorf("create the pools' trees: %w", err)
	}
	for _, p := range pools {
		if err := p.Close(); err != nil {
			return "", fmt.Errorf("create the pools' trees: %w", err)
		}
	}
	bar.Update(3, 4)
	for _, p := range b.pools {
		if err := b.writeAlloc(p, nil); err != nil {
			return "", err
		}
	}
	b.prog.step = stepScan
	if err := b.commitProgress(store.NewBatch()); err != nil {
		return "", err
	}
	bar.Update(4, 4)
	return fmt.Sprintf("created on the %d metadata mirrors: node records, %d pools, allocator tables of %d sets (all held until the index is built)",
		b.mirrors(), len(b.pools), len(b.sets)), nil
}

// reopen opens the store of the rebuild being resumed and reads its
// progress; done is set when setup was finished before the interruption.
func (b *rebuild) reopen() (done string, err error) {
	st, err := b.node.OpenStore(store.Options{})
	if err != nil {
		return "", fmt.Errorf("resume the rebuild: %w", err)
	}
	b.st = st
	v, ok, err := st.Get(ProgressTree, progressKey)
	if err != nil || !ok {
		return "", fmt.Errorf("resume the rebuild: read its progress record: found %v, %w", ok, err)
	}
	prog, err := decodeProgress(v)
	if err != nil {
		return "", fmt.Errorf("resume the rebuild: %w", err)
	}
	if prog.digest != b.prog.digest {
		if !b.o.Yes {
			return "", fmt.Errorf("resume the rebuild: the sets on the drives are not those the interrupted rebuild found (a drive added, removed or replaced since?): give --yes to start it over")
		}
		b.note("the sets on the drives changed since the interrupted rebuild: started over, as --yes asks")
		if err := st.Close(); err != nil {
			return "", err
		}
		b.st, b.resume, b.r.Resumed = nil, false, false
		return "", b.create()
	}
	b.prog = prog
	if prog.step > stepSetup {
		return fmt.Sprintf("resumed the interrupted rebuild's store (it had reached %s)", stepName(prog.step)), nil
	}
	return "", nil
}

func stepName(s byte) string {
	switch s {
	case stepSetup:
		return "the setup"
	case stepScan:
		return "the scan"
	case stepIndex:
		return "the index"
	case stepTables:
		return "the tables"
	case stepVerify:
		return "the verification"
	}
	return fmt.Sprintf("step %d", s)
}

// mirrors is how many present drives hold the metadata.
func (b *rebuild) mirrors() int {
	n := 0
	for _, d := range b.node.Drives {
		if d.Label.Label().Meta.Holds() {
			n++
		}
	}
	return n
}

// create empties the metadata ranges of the mirrors (zones reset, or the
// ranges discarded where the drive can) and creates a fresh store there.
func (b *rebuild) create() error {
	var mirrors []store.Mirror
	for _, d := range b.node.Drives {
		l := d.Label.Label()
		if !l.Meta.Holds() {
			continue
		}
		for _, r := range [][2]uint32{{l.RingFirst, l.RingCount}, {l.SegFirst, l.SegCount}} {
			for i := r[0]; i < r[0]+r[1]; i++ {
				if err := emptySegment(d.Dev, l.Layout, i); err != nil {
					return fmt.Errorf("empty metadata segment %d of %s: %w", i, d.Path, err)
				}
			}
		}
		mirrors = append(mirrors, store.Mirror{Name: d.Path, Dev: d.Dev, Label: d.Label})
	}
	if len(mirrors) == 0 {
		return errors.New("no drive of the node that is present holds the metadata: the store cannot be made")
	}
	st, err := store.Create(store.Options{Mirrors: mirrors, Now: b.o.Now})
	if err != nil {
		return fmt.Errorf("create the metadata store: %w", err)
	}
	b.st = st
	b.prog = progress{step: stepSetup, digest: b.prog.digest, started: b.o.Now().UnixNano()}
	return nil
}

// emptySegment resets a zone, or discards a conventional segment where
// the drive can (a drive that cannot keeps stale bytes, which the store's
// headers and checksums tell from its own).
func emptySegment(d dev.Device, layout superblock.Layout, i uint32) error {
	loc, err := seg.Locate(d, layout, i)
	if err != nil {
		return err
	}
	if loc.Sequential {
		z, ok := dev.AsZoned(d)
		if !ok {
			return fmt.Errorf("%s: sequential segment on a drive that is not zoned", loc)
		}
		return z.ResetZone(loc.Start)
	}
	_ = d.Discard(loc.Start, loc.Capacity) // many drives cannot; see above
	return nil
}
