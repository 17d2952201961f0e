package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
	"github.com/plinth-storage/plinth/superblock"
)

// DirOptions configures OpenDir.
type DirOptions struct {
	Options             // tunables; Mirrors is filled in by OpenDir
	Mirrors      int    // files, one per mirror (default 1)
	Size         int64  // bytes per file, allocated sparsely (default 64 GiB)
	SegmentSize  int64  // default 64 MiB
	RingSegments uint32 // journal ring (default 4)
}

// OpenDir opens the store kept in regular files meta-N.img of dir (opened
// with O_DIRECT, flushed with fdatasync), creating and formatting them
// when dir holds none. It is how the benchmarks and tools run a store
// outside a node; a node keeps its store on its drives.
func OpenDir(dir string, o DirOptions) (*Store, error) {
	if o.Mirrors <= 0 {
		o.Mirrors = 1
	}
	if o.Size <= 0 {
		o.Size = 64 << 30
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = 64 << 20
	}
	if o.RingSegments == 0 {
		o.RingSegments = 4
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("metadata store in %s: %w", dir, err)
	}
	_, err := os.Stat(filepath.Join(dir, "meta-0.img"))
	fresh := errors.Is(err, os.ErrNotExist)
	var devs []dev.Device
	closeAll := func() {
		for _, d := range devs {
			d.Close()
		}
	}
	node := uuid.New()
	opts := o.Options
	opts.Mirrors = nil
	for i := range o.Mirrors {
		path := filepath.Join(dir, fmt.Sprintf("meta-%d.img", i))
		d, err := direct.Open(path, direct.Options{Create: fresh, Size: o.Size})
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("metadata store in %s: %w", dir, err)
		}
		devs = append(devs, d)
		var lg *superblock.Log
		if fresh {
			lg, err = formatMirror(d, node, uint32(i), uint32(o.Mirrors), o.SegmentSize, o.RingSegments)
		} else {
			lg, err = superblock.Open(d)
		}
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("metadata store in %s: %w", dir, err)
		}
		opts.Mirrors = append(opts.Mirrors, Mirror{Name: path, Dev: d, Label: lg})
	}
	var s *Store
	if fresh {
		s, err = Create(opts)
	} else {
		s, err = Open(opts)
	}
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("metadata store in %s: %w", dir, err)
	}
	s.devices = devs
	return s, nil
}

// formatMirror writes the label of a metadata mirror: the first ring
// segments are the journal, the rest metadata segments.
func formatMirror(d dev.Device, node uuid.UUID, pos, drives uint32, segSize int64, ring uint32) (*superblock.Log, error) {
	l := superblock.Label{Node: node, Drive: uuid.New(), Position: pos, NodeDrives: drives, Created: time.Now(), Layout: superblock.Layout{SegmentSize: segSize}}
	l, err := superblock.Plan(d, l)
	if err != nil {
		return nil, err
	}
	if l.NrSegments < ring+2 {
		return nil, fmt.Errorf("%s: %d segments of %d bytes; the journal and metadata need at least %d", d.Path(), l.NrSegments, segSize, ring+2)
	}
	l.Meta = superblock.Meta{RingFirst: 0, RingCount: ring, SegFirst: ring, SegCount: l.NrSegments - ring}
	return superblock.Format(d, l)
}
