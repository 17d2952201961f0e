package fsck

import (
	"context"
	"fmt"
	"github.com/plinth-storage/plinth/appliance/kv"
	"io"
	"slices"
	"strings"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/superblock"
)

// actionKind is a kind of repair, in the order repairs run.
type actionKind int

const (
	actRestore        actionKind = iota // write a lost label again from the node's record
	actLabel                            // rewrite a drive's label areas
	actMetaRewrite                      // rewrite metadata nodes with damaged copies
	actMetaRecount                      // recount the metadata segments' live bytes
	actPoolRecount                      // recount sets' live bytes from the index
	actDuplicates                       // drop index entries pointing at another owner's record
	actLost                             // owners of unrecoverable stripes to lost+found
	actStripes                          // relocate the live records of damaged stripes
	actOrphans                          // release sets with nothing live
	actClearLostFound                   // empty the lost+found listing
	actJournal                          // open the journal read and write, checkpoint (runs last)
)

// action is one repair: what it does (asked and reported), what it acts
// on, and which findings it answers.
type action struct {
	kind     actionKind
	what     string
	drive    string            // actLabel
	mirror   bool              // actLabel, actRestore: the drive holds metadata
	label    *superblock.Label // actRestore: the label to write
	segments []int             // actMetaRewrite, actMetaRecount
	pool     string
	sets     []alloc.SetID           // actOrphans
	stripes  []pool.StripeRef        // actStripes
	lost     map[alloc.SetID][]int64 // actLost: unrecoverable stripes by set
	covers   func(f Finding) bool    // the findings it answers
	accepted bool                    // the operator agreed (or --yes)
	status   string                  // an action status
	detail   string                  // what it did, or why not
}

// plan is a repair's actions, made from a check with its store and pools
// still open (read-only), before anything is written.
type plan struct {
	paths   []string // the drives to open read and write: those whose label was read
	actions []*action
	// orphans are each pool's empty sets before any repair: those the
	// operator did not agree to release are not released after the
	// repairs either.
	orphans map[string][]alloc.SetID
	// failed are planning steps that could not run (reported as actions
	// that failed).
	failed []ActionResult
	log    io.Writer
}

// newPlan plans the repairs of what c found.
func newPlan(ctx context.Context, c *checker, clearLostFound bool) *plan {
	p := &plan{orphans: map[string][]alloc.SetID{}}
	for _, d := range c.drives {
		p.paths = append(p.paths, d.Path)
	}
	p.planRestores(c)
	p.planLabels(c)
	p.planStore(c)
	for _, pl := range c.pools {
		p.planPool(ctx, c, pl)
	}
	if clearLostFound && len(c.r.LostFound) > 0 {
		p.add(&action{kind: actClearLostFound,
			what:   fmt.Sprintf("empty the lost+found listing (%s): the operator has dealt with them", plural(len(c.r.LostFound), "entry", "entries")),
			covers: func(Finding) bool { return false }})
	}
	p.planJournal(c)
	slices.SortStableFunc(p.actions, func(a, b *action) int { return int(a.kind) - int(b.kind) })
	return p
}

func (p *plan) add(a *action) { p.actions = append(p.actions, a) }

// planFailed records a planning step that could not run.
func (p *plan) planFailed(what string, err error) {
	p.failed = append(p.failed, ActionResult{What: what, Status: actionFailed, Detail: err.Error()})
}

// planLabels: a drive whose label areas hold damaged records gets them
// rewritten from its newest valid record.
func (p *plan) planLabels(c *checker) {
	for _, d := range c.drives {
		dmg := d.Label.Damage()
		if len(dmg) == 0 {
			continue
		}
		l := labelOf(d)
		path := d.Path
		a := &action{kind: actLabel, drive: path, mirror: l.Meta.Holds(),
			what: fmt.Sprintf("rewrite the label areas of drive %d (%s) from its newest valid record (sequence %d), erasing %s",
				l.Position, path, d.Label.Seq(), plural(len(dmg), "damaged record", "damaged records")),
			covers: func(f Finding) bool {
				return f.Phase == PhaseLabels && f.Where.Drive == path && f.Where.Area != nil
			}}
		if a.mirror {
			a.what += "; a metadata checkpoint then brings its checkpoint pointer up to date"
		}
		p.add(a)
	}
}

// planJournal: what opening the journal read and write and a checkpoint
// fix, as a start does: a torn tail sealed off, a lagging mirror caught
// up, damaged journal copies and a mirror's stale label pointer left
// behind by the checkpoint.
func (p *plan) planJournal(c *checker) {
	covers := func(f Finding) bool {
		switch {
		case f.Phase == PhaseJournal && f.Severity == SevInfo:
			return true
		case f.Phase == PhaseJournal && strings.HasPrefix(f.What, "a journal copy is damaged"):
			return true
		case f.Phase == PhaseLabels && f.Severity == SevWarning && f.Where.Area == nil:
			return true // a mirror's label names an older checkpoint
		}
		return false
	}
	if !slices.ContainsFunc(c.r.Findings, covers) {
		return
	}
	p.add(&action{kind: actJournal, covers: covers,
		what: "open the metadata store read and write, as a start does (the journal's newest segment, torn tail and all, is sealed and a new one begun; a mirror that missed the last write gets it), then make a metadata checkpoint, recorded in every mirror's label, which releases the journal segments it covers"})
}

// intIn reports whether p points at a value in vs.
func intIn(p *int, vs []int) bool { return p != nil && slices.Contains(vs, *p) }

// setIn reports whether id is among ids.
func setIn(id uint64, ids []alloc.SetID) bool { return slices.Contains(ids, alloc.SetID(id)) }

// ownerName names an owner for people: an object by bucket and key, a
// key-value index's log copy by index and key.
func ownerName(owner []byte) string {
	if rest, ok := strings.CutPrefix(string(owner), "o/"); ok {
		if b, k, ok := strings.Cut(rest, "/"); ok {
			return fmt.Sprintf("bucket %q key %q", b, k)
		}
	}
	if index, _, key, marker, ok := kv.ParseOwner(owner); ok {
		if marker {
			return fmt.Sprintf("the data log marker of key-value index %q", index)
		}
		return fmt.Sprintf("the data log copy of key %q of key-value index %q (the index itself is in the metadata store)", key, index)
	}
	return fmt.Sprintf("owner %q", owner)
}

// listed names at most five things, and how many more there are.
func listed(names []string) string {
	if len(names) <= 5 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
}
