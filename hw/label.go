package hw

import (
	"errors"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/superblock"
)

// checkLabel reads the drive's Plinth label from its open device node f,
// records what the label says and returns a refusal reason ("" when the
// drive may be used: no label, or this node's label).
//
// The label areas (the first 2 MiB of a conventional drive, the start of
// zones 0 and 1 of a zoned one) lie beyond what the signature probes read,
// so superblock.Probe reads them from f itself.
func checkLabel(d *Drive, f io.ReaderAt, opts Options) string {
	r := &labelReader{r: f}
	l, err := superblock.Probe(r, d.Size, d.ZoneSize, d.Path)
	switch {
	case errors.Is(err, superblock.ErrUnsupported):
		return fmt.Sprintf("formatted by a newer Plinth: %v", err)
	case errors.Is(err, superblock.ErrDamaged):
		return fmt.Sprintf("carries a damaged Plinth label: %v", err)
	case errors.Is(err, superblock.ErrNoLabel) && r.err != nil && d.ZoneSize == 0:
		// A conventional drive reads wholly; a failed read hid part of
		// the areas. (Zoned drives may refuse reads past a write pointer.)
		return fmt.Sprintf("cannot read Plinth label: %v", r.err)
	case errors.Is(err, superblock.ErrNoLabel):
		return ""
	case err != nil:
		return fmt.Sprintf("cannot read Plinth label: %v", err)
	}
	node := l.Node.String()
	d.PlinthNode, d.PlinthDrive, d.PlinthPosition = node, l.Drive.String(), int(l.Position)
	switch {
	case opts.ThisNode == "":
		return fmt.Sprintf("labelled by Plinth node %s (this node has no UUID yet)", node)
	case !sameUUID(opts.ThisNode, l.Node):
		return fmt.Sprintf("belongs to another Plinth node: %s", node)
	}
	return ""
}

// sameUUID reports whether s spells id (in any form uuid.Parse accepts).
func sameUUID(s string, id uuid.UUID) bool {
	u, err := uuid.Parse(s)
	return err == nil && u == id
}

// labelReader records the first read error superblock.Probe met, which
// Probe itself treats as the end of an area (on zoned drives reads past a
// write pointer may fail), so that a conventional drive whose label areas
// cannot be read is not taken for a blank one.
type labelReader struct {
	r   io.ReaderAt
	err error // the first read error other than io.EOF
}

func (lr *labelReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := lr.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) && lr.err == nil {
		lr.err = fmt.Errorf("read %d bytes at %d: %w", len(p), off, err)
	}
	return n, err
}
