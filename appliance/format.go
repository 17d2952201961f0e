package appliance

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/superblock"
)

// FormatOptions controls FormatNode.
type FormatOptions struct {
	// Force formats drives that carry a Plinth label, destroying it.
	Force bool
	// SegmentSize is the segment size on conventional drives (0: the
	// default). On zoned drives a segment is a zone.
	SegmentSize int64
	// Progress, when set, receives a line per step.
	Progress io.Writer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// ErrLabelled: a drive to be formatted carries a Plinth label and Force is
// off.
var ErrLabelled = errors.New("drive carries a Plinth label")

// FormatNode makes devs the drives of one new node, in the order given
// (position i is devs[i]), and returns the node's UUID. It refuses, before
// writing anything, when a drive carries a label and Force is off. Data
// zones are reset (zoned drives) or discarded (conventional drives, where
// the drive supports it) so that nothing of an earlier life remains
// readable as current.
func FormatNode(devs []dev.Device, opts FormatOptions) (uuid.UUID, error) {
	if len(devs) == 0 {
		return uuid.Nil, errors.New("format: no drives")
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", args...)
		}
	}
	for _, d := range devs {
		if err := checkBlank(d, opts.Force); err != nil {
			return uuid.Nil, err
		}
	}
	node := uuid.New()
	labels := make([]superblock.Label, len(devs))
	for i, d := range devs {
		l, err := superblock.Plan(d, superblock.Label{
			Node:       node,
			Drive:      uuid.New(),
			Position:   uint32(i),
			NodeDrives: uint32(len(devs)),
			Created:    now(),
			Layout:     superblock.Layout{SegmentSize: opts.SegmentSize},
		})
		if err != nil {
			return uuid.Nil, err
		}
		if i < MetadataMirrors {
			if l.Meta, err = MetadataLayout(l.NrSegments); err != nil {
				return uuid.Nil, fmt.Errorf("format %s: %w", d.Path(), err)
			}
		}
		labels[i] = l
	}
	var mirrors []store.Mirror
	for i, d := range devs {
		progress("formatting %s as drive %d of %d of node %s", d.Path(), i, len(devs), node)
		if err := eraseData(d); err != nil {
			return uuid.Nil, fmt.Errorf("format %s: %w", d.Path(), err)
		}
		lg, err := superblock.Format(d, labels[i])
		if err != nil {
			return uuid.Nil, err
		}
		if labels[i].Meta.Holds() {
			mirrors = append(mirrors, store.Mirror{Dev: d, Label: lg})
		}
	}
	progress("creating the metadata store on drives 0-%d (journal and B-trees, mirrored)", len(mirrors)-1)
	st, err := store.Create(store.Options{Mirrors: mirrors, Now: now})
	if err != nil {
		return uuid.Nil, fmt.Errorf("format: %w", err)
	}
	if err := st.Close(); err != nil {
		return uuid.Nil, fmt.Errorf("format: %w", err)
	}
	return node, nil
}

// checkBlank refuses a drive that carries a Plinth label (or one that
// cannot be read) unless force.
func checkBlank(d dev.Device, force bool) error {
	lg, err := superblock.Open(d)
	switch {
	case err == nil && !force:
		l := lg.Label()
		return fmt.Errorf("%s: %w: it is drive %d of node %s, formatted %s; use --force to destroy it",
			d.Path(), ErrLabelled, l.Position, l.Node, l.Created.Format(time.RFC3339))
	case errors.Is(err, superblock.ErrUnsupported) && !force:
		return fmt.Errorf("%w: %v; use --force to destroy it", ErrLabelled, err)
	case err == nil, errors.Is(err, superblock.ErrNoLabel), errors.Is(err, superblock.ErrUnsupported):
	default:
		// The label may exist but the drive could not be read, or its
		// geometry changed: say so rather than format blindly.
		if !force {
			return fmt.Errorf("%w; use --force to format it anyway", err)
		}
	}
	return nil
}

// MetadataMirrors is how many drives (the first ones) hold the node's
// metadata: the journal and the B-trees, mirrored.
const MetadataMirrors = 3

// MetadataLayout is the metadata share of a metadata mirror of n
// segments: a journal ring of 4 segments at the start, then metadata
// segments, one per 32 segments of the drive, at least 8 and at most 1024
// (256 GiB of 256 MiB segments: room for some hundreds of millions of
// objects' metadata with copy-on-write slack). Drives of fewer than 32
// segments (test drives) get a ring of 2 and a quarter of their segments.
func MetadataLayout(n uint32) (superblock.Meta, error) {
	ring, segs := uint32(4), min(max(n/32, 8), 1024)
	if n < 32 {
		ring, segs = 2, max(n/4, 2)
	}
	if n < ring+segs+1 {
		return superblock.Meta{}, fmt.Errorf("%d segments: a metadata drive needs at least %d (journal %d, metadata %d, data 1)", n, ring+segs+1, ring, segs)
	}
	return superblock.Meta{RingFirst: 0, RingCount: ring, SegFirst: ring, SegCount: segs}, nil
}

// eraseData resets every written sequential zone of a zoned drive, or
// discards a conventional drive, past the superblock areas.
func eraseData(d dev.Device) error {
	g := d.Geometry()
	if z, ok := dev.AsZoned(d); ok {
		zones, err := z.ReportZones(0, 0)
		if err != nil {
			return err
		}
		for _, zn := range zones[min(2, len(zones)):] {
			if !zn.Sequential() || zn.Cond == dev.ZoneCondEmpty {
				continue
			}
			if zn.Cond == dev.ZoneCondOffline || zn.Cond == dev.ZoneCondReadOnly {
				continue // nothing can be done; the allocator never uses them
			}
			if err := z.ResetZone(zn.Start); err != nil {
				return err
			}
		}
		return nil
	}
	start := int64(2 * superblock.AreaMax)
	if start >= g.Size {
		return nil
	}
	// Many drives (every HDD) cannot discard, and stale segments are
	// recognised by their headers, so a failed discard costs space on thin
	// devices only; real trouble with the drive shows in the label write.
	_ = d.Discard(start, g.Size-start)
	return nil
}
