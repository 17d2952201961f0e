package fsck

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/superblock"
)

// maxIdentityScan bounds the segment headers read to recognise a drive
// whose label is lost.
const maxIdentityScan = 512

// planRestores: a drive given whose label cannot be read at all (both
// areas lost) gets its label written again from the node's record of the
// drive at a missing position (appliance.LabelsTree), but only once the
// drive proves to be that one: one of its segment headers names the
// recorded node and drive, and its geometry gives the recorded layout.
func (p *plan) planRestores(c *checker) {
	if c.st == nil {
		return
	}
	for _, d := range c.r.Drives {
		if d.Present || d.Path == "" {
			continue
		}
		for _, pos := range c.node.Missing {
			l, err := recordedLabel(c, pos)
			if err != nil || l == nil {
				continue
			}
			proof, err := identify(c, d.Path, *l)
			if err != nil {
				continue
			}
			p.addRestore(d.Path, pos, *l, proof)
			break
		}
	}
}

func (p *plan) addRestore(path string, pos int, l superblock.Label, proof string) {
	a := &action{kind: actRestore, drive: path, mirror: l.Meta.Holds(), label: &l,
		what: fmt.Sprintf("write the label of %s again, both of its areas being lost, from the node's record of the drive at position %d (drive %s: %s)", path, pos, l.Drive, proof),
		covers: func(f Finding) bool {
			if f.Phase != PhaseLabels {
				return false
			}
			if f.Where.Drive == path {
				return strings.Contains(f.What, "label cannot be read")
			}
			return f.Where.Drive == "" && f.Where.Position != nil && *f.Where.Position == pos && strings.Contains(f.What, "is missing")
		}}
	if a.mirror {
		a.what += "; a metadata checkpoint then records the newest checkpoint in it"
	}
	p.add(a)
}

// recordedLabel is the label the node recorded for position pos (nil
// when it recorded none).
func recordedLabel(c *checker, pos int) (*superblock.Label, error) {
	v, ok, err := c.st.Get(appliance.LabelsTree, binary.BigEndian.AppendUint32(nil, uint32(pos)))
	if err != nil || !ok {
		return nil, err
	}
	var l superblock.Label
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, fmt.Errorf("the recorded label of drive %d: %w", pos, err)
	}
	if int(l.Position) != pos || l.Node != c.node.ID {
		return nil, fmt.Errorf("the recorded label of drive %d names position %d of node %s", pos, l.Position, l.Node)
	}
	return &l, nil
}

// identify opens the drive at path read-only and checks that it is the
// drive l describes: the geometry gives l's layout, and a segment header
// names l's node and drive. It returns what proved it.
func identify(c *checker, path string, l superblock.Label) (string, error) {
	d, err := c.o.Open(path)
	if err != nil {
		return "", err
	}
	d = c.g.wrap(d)
	defer d.Close()
	planned, err := superblock.Plan(d, l)
	if err != nil {
		return "", err
	}
	if planned.Layout != l.Layout {
		return "", errors.New("the drive's geometry gives another layout")
	}
	for i := range min(l.NrSegments, maxIdentityScan) {
		loc, err := seg.Locate(d, l.Layout, i)
		if err != nil {
			return "", err
		}
		if _, err := seg.Scan(loc, seg.Expect{Node: l.Node, Drive: l.Drive}); err == nil {
			return fmt.Sprintf("the header of its segment %d names it", i), nil
		}
	}
	return "", errors.New("no segment header names the drive")
}

// applyRestores writes the accepted restored labels, before the node is
// opened read and write, and adds the drives to it. It returns whether a
// metadata mirror's label was written (a checkpoint must then follow).
func (p *plan) applyRestores(open func(string) (dev.Device, error)) bool {
	mirror := false
	for _, a := range p.pending(actRestore) {
		err := restore(open, a.drive, *a.label)
		p.finish(a, err, fmt.Sprintf("wrote the label of %s as position %d again (sequence 1)", a.drive, a.label.Position))
		if err == nil {
			p.paths = append(p.paths, a.drive)
			mirror = mirror || a.mirror
		}
	}
	return mirror
}

// restore formats the label areas of the drive at path with l (its
// checkpoint pointer left out: the next checkpoint records one), and
// reads it back.
func restore(open func(string) (dev.Device, error), path string, l superblock.Label) error {
	if open == nil {
		open = appliance.OpenDevice
	}
	d, err := open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	l.Checkpoint = superblock.Checkpoint{}
	if _, err := superblock.Format(d, l); err != nil {
		return err
	}
	lg, err := superblock.Open(d)
	if err != nil {
		return fmt.Errorf("read the label back: %w", err)
	}
	if got := lg.Label(); got.Drive != l.Drive || got.Layout != l.Layout || got.Meta != l.Meta || got.Position != l.Position {
		return fmt.Errorf("read back a label of drive %s position %d, wrote drive %s position %d", got.Drive, got.Position, l.Drive, l.Position)
	}
	return nil
}
