package appliance

import (
	"errors"
	"fmt"
	"sort"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/superblock"
)

// Node is an open node: its drives, owned exclusively, and their labels.
type Node struct {
	ID uuid.UUID
	// Drives are ordered by position; a missing position is absent.
	Drives []*Drive
	// Formatted is the number of drives the node was formatted with.
	Formatted int
	// Missing lists positions no given drive holds.
	Missing []int
	// Unreadable are the drives given whose label could not be read for
	// IO errors: the node opens without them (their positions are
	// missing), as if they had been pulled.
	Unreadable []UnreadableDrive
}

// UnreadableDrive is a drive left out of the node for IO errors.
type UnreadableDrive struct {
	Path string
	Err  error
}

// Drive is one open drive of a node.
type Drive struct {
	Path  string
	Dev   dev.Device
	Label *superblock.Log
}

// ErrForeignDrive: a drive given to OpenNode belongs to another node, or
// two drives claim the same position.
var ErrForeignDrive = errors.New("drive does not belong to this node")

// OpenNode opens the drives at paths and checks that their labels describe
// one node. Positions that no drive holds are reported in Missing, not as
// an error: a node runs with drives missing as long as its redundancy
// allows, and the layers that know the redundancy decide.
func OpenNode(paths []string) (*Node, error) {
	return OpenNodeWith(paths, NodeOptions{})
}

// NodeOptions tune OpenNodeWith.
type NodeOptions struct {
	// Wrap, when set, wraps every opened drive (the server measures IO
	// latency this way); the label is read through the wrapper.
	Wrap func(dev.Device) dev.Device
	// Open, when set, opens a drive instead of OpenDevice (the torture
	// harness hands out in-memory drives behind fault injectors).
	Open func(path string) (dev.Device, error)
}

// OpenNodeWith is OpenNode with options.
func OpenNodeWith(paths []string, o NodeOptions) (*Node, error) {
	if len(paths) == 0 {
		return nil, errors.New("open node: no drives")
	}
	var devs []dev.Device
	n := &Node{}
	byPos := map[uint32]*Drive{}
	open := OpenDevice
	if o.Open != nil {
		open = o.Open
	}
	for _, p := range paths {
		d, err := open(p)
		if err != nil {
			closeAll(devs)
			return nil, fmt.Errorf("open node: %w", err)
		}
		if o.Wrap != nil {
			d = o.Wrap(d)
		}
		devs = append(devs, d)
		lg, err := superblock.Open(d)
		if errors.Is(err, dev.ErrIO) {
			// A failing drive must not keep the node from starting: it
			// is left out, like a pulled one, and said so.
			d.Close()
			devs = devs[:len(devs)-1]
			n.Unreadable = append(n.Unreadable, UnreadableDrive{Path: p, Err: err})
			continue
		}
		if err != nil {
			closeAll(devs)
			if errors.Is(err, superblock.ErrNoLabel) {
				return nil, fmt.Errorf("open node: %w (format it with 'plinth mkfs')", err)
			}
			return nil, fmt.Errorf("open node: %w", err)
		}
		l := lg.Label()
		if n.ID == uuid.Nil {
			n.ID, n.Formatted = l.Node, int(l.NodeDrives)
		}
		switch {
		case l.Node != n.ID:
			closeAll(devs)
			return nil, fmt.Errorf("open node: %s: %w: it belongs to node %s, %s to node %s",
				p, ErrForeignDrive, l.Node, paths[0], n.ID)
		case int(l.NodeDrives) != n.Formatted:
			closeAll(devs)
			return nil, fmt.Errorf("open node: %s: %w: its label says the node has %d drives, %s says %d",
				p, ErrForeignDrive, l.NodeDrives, paths[0], n.Formatted)
		case byPos[l.Position] != nil:
			closeAll(devs)
			return nil, fmt.Errorf("open node: %s and %s: %w: both claim position %d",
				byPos[l.Position].Path, p, ErrForeignDrive, l.Position)
		}
		drv := &Drive{Path: p, Dev: d, Label: lg}
		byPos[l.Position] = drv
		n.Drives = append(n.Drives, drv)
	}
	if len(n.Drives) == 0 {
		var errs []error
		for _, u := range n.Unreadable {
			errs = append(errs, u.Err)
		}
		return nil, fmt.Errorf("open node: no drive could be read: %w", errors.Join(errs...))
	}
	sort.Slice(n.Drives, func(i, j int) bool {
		return n.Drives[i].Label.Label().Position < n.Drives[j].Label.Label().Position
	})
	for pos := 0; pos < n.Formatted; pos++ {
		if byPos[uint32(pos)] == nil {
			n.Missing = append(n.Missing, pos)
		}
	}
	return n, nil
}

// mirrors are the node's drives that hold metadata, as the store's mirrors.
func (n *Node) mirrors() []store.Mirror {
	var m []store.Mirror
	for _, d := range n.Drives {
		if d.Label.Label().Meta.Holds() {
			m = append(m, store.Mirror{Name: d.Path, Dev: d.Dev, Label: d.Label})
		}
	}
	return m
}

// OpenStore opens the node's metadata store on the drives that hold it
// (opts.Mirrors is filled in). The node must be closed after the store.
func (n *Node) OpenStore(opts store.Options) (*store.Store, error) {
	if opts.Mirrors = n.mirrors(); len(opts.Mirrors) == 0 {
		return nil, errors.New("open metadata: no drive of the node holds metadata (was it formatted by an older plinth? reformat with 'plinth mkfs --force')")
	}
	s, err := store.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	return s, nil
}

// Close releases every drive.
func (n *Node) Close() error {
	var errs []error
	for _, d := range n.Drives {
		if err := d.Dev.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
