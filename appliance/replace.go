package appliance

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/superblock"
)

// ErrNotRebuilt: the drive to replace still holds members of segment
// sets: its rebuild has not finished.
var ErrNotRebuilt = errors.New("the drive's data is not rebuilt elsewhere yet")

// ReplaceDrive formats d as the node's drive at position pos, in place of
// a drive that is gone: the node (opened without it) must miss that
// position, every member the old drive held must have been rebuilt onto
// other drives (no set of pools has a member or a rebuild target there),
// and d must have the old drive's geometry (its segment count and size:
// the allocator's segment table describes it). d is refused if it carries
// a Plinth label, unless force. The new label is recorded in LabelsTree;
// the drive joins its pool, empty, on the next open.
//
// A metadata drive (one of the first MetadataMirrors) gets the old
// drive's metadata ranges and a label that names no checkpoint: the next
// open of the store finds it partial and rebuilds it from the other
// mirrors (store.Store.Resilver).
func (n *Node) ReplaceDrive(ctx context.Context, st *store.Store, pools []*pool.Pool, pos int, d dev.Device, force bool) (superblock.Label, error) {
	if err := n.CanReplace(ctx, pools, pos); err != nil {
		return superblock.Label{}, err
	}
	v, ok, err := st.Get(LabelsTree, binary.BigEndian.AppendUint32(nil, uint32(pos)))
	if err != nil || !ok {
		return superblock.Label{}, fmt.Errorf("replace drive %d: its description is not recorded (%v)", pos, err)
	}
	var old superblock.Label
	if err := json.Unmarshal(v, &old); err != nil {
		return superblock.Label{}, fmt.Errorf("replace drive %d: %w: recorded label: %v", pos, store.ErrCorrupt, err)
	}
	if err := checkBlank(d, force); err != nil {
		return superblock.Label{}, err
	}
	l, err := superblock.Plan(d, superblock.Label{
		Node: n.ID, Drive: uuid.New(), Position: uint32(pos), NodeDrives: uint32(n.Formatted), Created: time.Now(),
		Layout: superblock.Layout{SegmentSize: old.SegmentSize},
	})
	if err != nil {
		return superblock.Label{}, fmt.Errorf("replace drive %d: %w", pos, err)
	}
	if l.NrSegments != old.NrSegments || l.SegmentSize != old.SegmentSize || l.ZoneModel != old.ZoneModel {
		return superblock.Label{}, fmt.Errorf("replace drive %d: %s has %d segments of %d bytes (%s); the drive it replaces had %d of %d (%s): use a drive of the same geometry",
			pos, d.Path(), l.NrSegments, l.SegmentSize, l.ZoneModel, old.NrSegments, old.SegmentSize, old.ZoneModel)
	}
	l.Meta = old.Meta
	if err := eraseData(d); err != nil {
		return superblock.Label{}, fmt.Errorf("replace drive %d: %w", pos, err)
	}
	lg, err := superblock.Format(d, l)
	if err != nil {
		return superblock.Label{}, fmt.Errorf("replace drive %d: %w", pos, err)
	}
	l = lg.Label()
	rec := l
	rec.Checkpoint = superblock.Checkpoint{}
	b, err := json.Marshal(rec)
	if err != nil {
		return l, err
	}
	batch := store.NewBatch()
	batch.Put(LabelsTree, binary.BigEndian.AppendUint32(nil, uint32(pos)), b)
	if _, err := st.Commit(ctx, batch); err != nil {
		return l, fmt.Errorf("replace drive %d: record its label: %w", pos, err)
	}
	return l, nil
}

// CanReplace says why the drive at pos cannot be replaced now (nil: it
// can): see ReplaceDrive.
func (n *Node) CanReplace(ctx context.Context, pools []*pool.Pool, pos int) error {
	missing := false
	for _, m := range n.Missing {
		missing = missing || m == pos
	}
	switch {
	case !missing:
		return fmt.Errorf("replace drive %d: the node has that drive (%d drives given); stop the node and leave the old drive out", pos, len(n.Drives))
	}
	for _, p := range pools {
		ids, err := p.Allocator().SetsOn(ctx, uint32(pos))
		if err != nil {
			return fmt.Errorf("replace drive %d: %w", pos, err)
		}
		if len(ids) > 0 {
			return fmt.Errorf("replace drive %d: %w: %d sets of pool %s still have members on it (start the node and let the rebuild finish: GET /v1/status)", pos, ErrNotRebuilt, len(ids), p.Name())
		}
	}
	return nil
}
