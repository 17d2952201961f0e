package appliance

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

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
		lg, err := superblock.Open(d)
		switch {
		case err == nil && !opts.Force:
			l := lg.Label()
			return uuid.Nil, fmt.Errorf("%s: %w: it is drive %d of node %s, formatted %s; use --force to destroy it",
				d.Path(), ErrLabelled, l.Position, l.Node, l.Created.Format(time.RFC3339))
		case errors.Is(err, superblock.ErrUnsupported) && !opts.Force:
			return uuid.Nil, fmt.Errorf("%w: %v; use --force to destroy it", ErrLabelled, err)
		case err == nil, errors.Is(err, superblock.ErrNoLabel), errors.Is(err, superblock.ErrUnsupported):
		default:
			// The label may exist but the drive could not be read, or
			// its geometry changed: say so rather than format blindly.
			if !opts.Force {
				return uuid.Nil, fmt.Errorf("%w; use --force to format it anyway", err)
			}
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
		labels[i] = l
	}
	for i, d := range devs {
		progress("formatting %s as drive %d of %d of node %s", d.Path(), i, len(devs), node)
		if err := eraseData(d); err != nil {
			return uuid.Nil, fmt.Errorf("format %s: %w", d.Path(), err)
		}
		if _, err := superblock.Format(d, labels[i]); err != nil {
			return uuid.Nil, err
		}
	}
	return node, nil
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
