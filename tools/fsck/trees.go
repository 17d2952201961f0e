package fsck

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/btree/store"
)

// trees is phase 3: every B-tree of the last checkpoint read from the
// media and checked (structure, checksums, key order, levels,
// reachability, no node reached twice), every mirror's copy of every node
// and of the checkpoint record verified, the metadata segments' live
// bytes recounted, and the trees in memory after the replay checked
// (store.Inspect).
func (c *checker) trees(bar Bar) (string, error) {
	var done int64
	err := c.st.Inspect(func(d, total int64) {
		done = d
		bar.Update(d, total)
	}, func(p store.Problem) {
		c.problems = append(c.problems, p)
		c.add(c.treeFinding(p))
	})
	if err != nil {
		return "", fmt.Errorf("check the B-trees: %w", err)
	}
	mirrors := 0
	for _, d := range c.drives {
		if labelOf(d).Meta.Holds() {
			mirrors++
		}
	}
	return fmt.Sprintf("%d trees of checkpoint %d, %d nodes, every copy on %d mirrors", len(c.st.Trees()), c.st.Stats().CheckpointGen, done, mirrors), nil
}

// treeFinding turns a store problem into a finding.
func (c *checker) treeFinding(p store.Problem) Finding {
	f := Finding{Phase: PhaseTrees, Severity: SevError}
	if p.Mirror != "" {
		f.Where = c.at(p.Mirror)
	}
	f.Where.Tree = p.Tree
	if p.Segment >= 0 {
		f.Where.MetadataSegment = intp(p.Segment)
	}
	if p.Offset >= 0 {
		f.Where.Offset = int64p(p.Offset)
	}
	switch {
	case errors.Is(p.Err, store.ErrBadCopy):
		f.What = fmt.Sprintf("this mirror's copy is damaged: %v", p.Err)
		f.Fix = "reads use another mirror's copy, so nothing is lost, but this mirror no longer backs it up; fsck --repair rewrites it from a good copy"
	case p.Tree != "" && p.Mirror == "":
		f.What = fmt.Sprintf("the tree fails its check on every copy: %v", p.Err)
		f.Fix = "what the tree indexes cannot be read through it; fsck --rebuild-index (not built yet) will rebuild the index from the data logs"
	default:
		f.What = fmt.Sprintf("the metadata segment accounting is wrong: %v", p.Err)
		f.Fix = "the store may reuse space still in use, or never reclaim dead space; fsck --repair recounts it"
	}
	return f
}
