package fsck

import (
	"errors"
	"fmt"
	"slices"

	"github.com/plinth-storage/plinth/btree/store"
)

// planStore: metadata segments holding damaged copies (of nodes, of the
// checkpoint record) get their nodes rewritten from good copies; wrong
// live counts of metadata segments are recounted. It works from what the
// B-tree phase's inspection found (grouped by tree, mirror and segment:
// every damaged segment is named).
func (p *plan) planStore(c *checker) {
	if c.st == nil {
		return
	}
	var bad, counts []int
	for _, pr := range c.problems {
		switch {
		case pr.Segment < 0:
		case errors.Is(pr.Err, store.ErrBadCopy):
			bad = append(bad, pr.Segment)
		case pr.Tree == "" && pr.Mirror == "":
			counts = append(counts, pr.Segment)
		}
	}
	bad = slices.Compact(slices.Sorted(slices.Values(bad)))
	counts = slices.Compact(slices.Sorted(slices.Values(counts)))
	if len(bad) > 0 {
		p.add(&action{kind: actMetaRewrite, segments: bad,
			what: fmt.Sprintf("rewrite every live metadata node in metadata segments %v, and the checkpoint record, from copies that verify onto every mirror (a checkpoint writes them into free segments; the damaged segments are then freed)", bad),
			covers: func(f Finding) bool {
				return f.Phase == PhaseTrees && f.Where.Drive != "" && intIn(f.Where.MetadataSegment, bad)
			}})
	}
	if len(counts) > 0 {
		p.add(&action{kind: actMetaRecount, segments: counts,
			what: fmt.Sprintf("recount the live bytes of metadata segments %v from the nodes the checkpoint's trees reach, and record them with a checkpoint", counts),
			covers: func(f Finding) bool {
				return f.Phase == PhaseTrees && f.Where.Drive == "" && f.Where.Tree == "" && intIn(f.Where.MetadataSegment, counts)
			}})
	}
}
