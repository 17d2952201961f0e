package fsck

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/superblock"
)

// labels is phase 1: it opens every drive (exclusively, behind the
// read-only guard), reads both superblock areas of each, reports damaged
// records and unreadable labels, checks that the labels describe one node,
// reports missing positions, and compares the metadata mirrors'
// checkpoint pointers. A drive that cannot be opened, is owned by another
// process, or belongs to another node is an operational error.
func (c *checker) labels(bar Bar) (string, error) {
	type unreadable struct {
		path string
		err  error
	}
	var bad []unreadable
	if err := distinct(c.o.Drives); err != nil {
		return "", err
	}
	for i, path := range c.o.Drives {
		d, err := c.o.Open(path)
		if err != nil {
			if errors.Is(err, dev.ErrBusy) {
				return "", busy(err)
			}
			return "", fmt.Errorf("open %s: %w", path, err)
		}
		d = c.g.wrap(d)
		lg, err := superblock.Open(d)
		if err != nil {
			d.Close()
			if errors.Is(err, superblock.ErrUnsupported) {
				return "", fmt.Errorf("%w (check it with the plinth that formatted it, or a newer one)", err)
			}
			bad = append(bad, unreadable{path, err})
			continue
		}
		c.drives = append(c.drives, &appliance.Drive{Path: path, Dev: d, Label: lg})
		bar.Update(int64(i+1), int64(len(c.o.Drives)))
	}
	if len(c.drives) == 0 {
		var why []string
		for _, b := range bad {
			why = append(why, b.err.Error())
		}
		return "", fmt.Errorf("no drive carries a readable Plinth label: %s", strings.Join(why, "; "))
	}
	if err := c.oneNode(); err != nil {
		return "", err
	}
	// One unreadable label and one missing position: the same drive,
	// most likely; one finding says both.
	guess := -1
	if len(bad) == 1 && len(c.node.Missing) == 1 {
		guess = c.node.Missing[0]
	}
	for _, b := range bad {
		f := Finding{Phase: PhaseLabels, Severity: SevError, Where: Where{Drive: b.path},
			What: fmt.Sprintf("the drive's label cannot be read, so fsck leaves the drive out: %v", b.err),
			Fix:  "fsck --repair writes it again from the node's record of the drive, once the drive's segment headers show it is that drive; until then the node runs without the drive"}
		if guess >= 0 {
			f.Where.Position = intp(guess)
			f.What += fmt.Sprintf("; position %d, the only one missing, is probably this drive", guess)
		}
		c.add(f)
		c.r.Drives = append(c.r.Drives, Drive{Position: guess, Path: b.path})
	}
	for _, d := range c.drives {
		c.damage(d)
	}
	for pos := range c.node.Formatted {
		if !c.missing[pos] || pos == guess {
			continue
		}
		what := fmt.Sprintf("the drive at position %d is missing: no drive given holds it", pos)
		if len(bad) > 0 {
			what += " (a drive whose label cannot be read may be it)"
		}
		c.add(Finding{Phase: PhaseLabels, Severity: SevError, Where: Where{Position: intp(pos)}, What: what,
			Fix: "if the drive exists, check again with every drive of the node; if it is gone, start the node without it (its data is read through parity and its members are rebuilt onto the other drives), then 'plinth replace-drive'"})
		c.r.Drives = append(c.r.Drives, Drive{Position: pos})
	}
	sort.SliceStable(c.r.Drives, func(i, j int) bool {
		a, b := c.r.Drives[i], c.r.Drives[j]
		return a.Position >= 0 && (b.Position < 0 || a.Position < b.Position)
	})
	return fmt.Sprintf("%d drives read, both superblock areas of each; %d of %d positions present",
		len(c.o.Drives), len(c.drives), c.node.Formatted), nil
}

// distinct refuses a drive given twice (under two names, perhaps): the
// second open would find the drive held, by this process.
func distinct(paths []string) error {
	infos := make([]os.FileInfo, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		for j := range i {
			if os.SameFile(infos[j], fi) {
				return fmt.Errorf("%s and %s are the same drive: give each drive once", paths[j], p)
			}
		}
		infos[i] = fi
	}
	return nil
}

// oneNode checks that the readable labels describe one node, sorts the
// drives by position and finds the missing positions.
func (c *checker) oneNode() error {
	first := labelOf(c.drives[0])
	byPos := map[uint32]string{}
	for _, d := range c.drives {
		l := labelOf(d)
		switch {
		case l.Node != first.Node:
			return fmt.Errorf("%s: %w: it belongs to node %s, %s to node %s", d.Path, appliance.ErrForeignDrive, l.Node, c.drives[0].Path, first.Node)
		case l.NodeDrives != first.NodeDrives:
			return fmt.Errorf("%s: %w: its label says the node has %d drives, %s says %d", d.Path, appliance.ErrForeignDrive, l.NodeDrives, c.drives[0].Path, first.NodeDrives)
		case byPos[l.Position] != "":
			return fmt.Errorf("%s and %s: %w: both claim position %d (is one a copy of the other?)", byPos[l.Position], d.Path, appliance.ErrForeignDrive, l.Position)
		}
		byPos[l.Position] = d.Path
		c.positions[d.Path] = int(l.Position)
	}
	sort.Slice(c.drives, func(i, j int) bool { return labelOf(c.drives[i]).Position < labelOf(c.drives[j]).Position })
	c.node = &appliance.Node{ID: first.Node, Drives: c.drives, Formatted: int(first.NodeDrives)}
	for pos := range int(first.NodeDrives) {
		if byPos[uint32(pos)] == "" {
			c.missing[pos] = true
			c.node.Missing = append(c.node.Missing, pos)
		}
	}
	c.r.Node = first.Node.String()
	for _, d := range c.drives {
		l := labelOf(d)
		c.r.Drives = append(c.r.Drives, Drive{Position: int(l.Position), Path: d.Path, Present: true, Metadata: l.Meta.Holds()})
	}
	return nil
}

// damage reports a drive's damaged superblock records, and a metadata
// mirror whose label names an older checkpoint than the node's newest.
func (c *checker) damage(d *appliance.Drive) {
	l := labelOf(d)
	behind := ""
	if newest := c.newestCheckpoint(); l.Meta.Holds() && l.Checkpoint.Gen < newest {
		behind = fmt.Sprintf("its label names metadata checkpoint %d, the node's newest is %d", l.Checkpoint.Gen, newest)
	}
	damage := d.Label.Damage()
	for i, dm := range damage {
		w := c.at(d.Path)
		w.Area, w.Offset = intp(dm.Area), int64p(dm.Offset)
		what := fmt.Sprintf("a superblock record is damaged (%v); the label is read from the newest valid record, sequence %d", dm.Err, d.Label.Seq())
		if i == 0 && behind != "" {
			what += "; " + behind
		}
		c.add(Finding{Phase: PhaseLabels, Severity: SevError, Where: w, What: what,
			Fix: "the node's next label update (every metadata checkpoint on a metadata drive) writes a new record; fsck --repair rewrites the label areas now"})
	}
	if len(damage) == 0 && behind != "" {
		c.add(Finding{Phase: PhaseLabels, Severity: SevWarning, Where: c.at(d.Path),
			What: behind + ": a crash between the label updates of a checkpoint leaves this, and so does a mirror that was out or was just put in",
			Fix:  "after a crash the next checkpoint updates the label; a mirror that was out or is new is rebuilt from the others when the node starts (a resilver: GET /v1/status shows it), and read only where written since meanwhile; fsck --repair does either now"})
	}
}

// newestCheckpoint is the highest checkpoint generation a label names.
func (c *checker) newestCheckpoint() uint64 {
	var g uint64
	for _, d := range c.drives {
		g = max(g, labelOf(d).Checkpoint.Gen)
	}
	return g
}
