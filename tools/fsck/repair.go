package fsck

import (
	"context"
	"fmt"
	"io"
)

// Status is what a repair did about a finding.
type Status string

// Statuses of findings after Repair.
const (
	StatusFixed     Status = "fixed"      // the re-check after the repairs no longer finds it
	StatusNotFixed  Status = "not fixed"  // its repair ran, yet the re-check still finds it
	StatusFailed    Status = "failed"     // its repair failed (and changed nothing it could not)
	StatusWouldFix  Status = "would fix"  // --dry-run: what the repair would do
	StatusDeclined  Status = "declined"   // the operator said no (or there was nobody to ask)
	StatusCannotFix Status = "cannot fix" // no repair offline: what to do instead is said
)

// RepairOptions says what to check and how to repair.
type RepairOptions struct {
	Options
	// DryRun plans the repairs and says what they would do, changing
	// nothing on the drives.
	DryRun bool
	// Yes answers yes to every question.
	Yes bool
	// Confirm asks the operator about one repair (its description, with
	// what it changes) and returns the answer. Nil without Yes: nobody
	// can be asked, so every repair is declined, saying to pass --yes.
	Confirm func(question string) bool
	// ClearLostFound also empties the lost+found listing (a repair of
	// its own, asked like the others).
	ClearLostFound bool
	// Log receives a line per repair as it starts and ends (nil: none).
	Log io.Writer
}

// RepairSummary is what a repair did, in the report.
type RepairSummary struct {
	DryRun  bool           `json:"dry_run"`
	Actions []ActionResult `json:"actions"`
	// Fixed counts the findings fixed; Left the errors the re-check
	// after the repairs still finds (New included).
	Fixed int `json:"fixed"`
	Left  int `json:"left"`
	// New are the re-check's findings the first check did not have
	// (damage the repairs made visible, or made).
	New []Finding `json:"new,omitempty"`
}

// ActionResult is one repair step.
type ActionResult struct {
	What   string `json:"what"`
	Status string `json:"status"` // done, failed, declined, would do
	Detail string `json:"detail,omitempty"`
}

// Action statuses.
const (
	actionDone     = "done"
	actionFailed   = "failed"
	actionDeclined = "declined"
	actionWouldDo  = "would do"
)

// Repair checks the stopped node as Check does and repairs what is safe
// to repair, each repair asked for (RepairOptions), then checks again and
// reports every finding of the first check with what became of it. The
// exit status is ExitClean when nothing was found, ExitCorrected when the
// re-check finds no error, ExitErrors when errors are left. A dry run
// plans and changes nothing; its exit status is the check's. The error is
// operational, as Check's.
func Repair(ctx context.Context, o RepairOptions) (Report, error) {
	var p *plan
	first := o.Options
	first.planRepair = func(c *checker) { p = newPlan(ctx, c, o.ClearLostFound) }
	r, err := Check(ctx, first)
	if err != nil {
		return Report{}, err
	}
	if p == nil {
		return Report{}, fmt.Errorf("repair: the check made no plan")
	}
	r.Repair = &RepairSummary{DryRun: o.DryRun, Actions: []ActionResult{}}
	p.decide(o)
	if o.DryRun || !p.anyAccepted() {
		p.annotate(&r)
		return r, nil
	}
	p.apply(ctx, o)
	p.logf("fsck: repairs done; checking the node again")
	second, err := Check(ctx, o.Options)
	if err != nil {
		// The repairs ran; the re-check could not: say what was done,
		// and that nothing is known to be fixed.
		p.annotate(&r)
		r.ExitCode = ExitErrors
		return r, fmt.Errorf("check again after the repairs: %w", err)
	}
	p.reconcile(&r, second)
	return r, nil
}
