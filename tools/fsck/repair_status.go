package fsck

import (
	"fmt"
	"strings"
)

// decide settles which repairs run: none in a dry run, all with Yes,
// those the operator agrees to otherwise; with nobody to ask, none.
func (p *plan) decide(o RepairOptions) {
	p.log = o.Log
	for _, a := range p.actions {
		switch {
		case o.DryRun:
			a.status = actionWouldDo
		case o.Yes:
			a.accepted = true
		case o.Confirm == nil:
			a.status = actionDeclined
			a.detail = "not asked: there is no terminal to ask on; pass --yes to repair without asking"
		case o.Confirm("fsck --repair: " + a.what):
			a.accepted = true
		default:
			a.status = actionDeclined
			a.detail = "the operator said no"
		}
	}
}

func (p *plan) anyAccepted() bool {
	for _, a := range p.actions {
		if a.accepted {
			return true
		}
	}
	return false
}

// covering is the repair that answers f, nil when none does.
func (p *plan) covering(f Finding) *action {
	for _, a := range p.actions {
		if a.covers(f) {
			return a
		}
	}
	return nil
}

// results lists the repairs for the report.
func (p *plan) results() []ActionResult {
	out := append([]ActionResult{}, p.failed...)
	for _, a := range p.actions {
		out = append(out, ActionResult{What: a.what, Status: a.status, Detail: a.detail})
	}
	return out
}

// annotate marks the findings of a check after which nothing was
// written: a dry run, or every repair declined. The exit status stays the
// check's.
func (p *plan) annotate(r *Report) {
	for i := range r.Findings {
		f := &r.Findings[i]
		a := p.covering(*f)
		switch {
		case a == nil:
			cannot(f)
		case a.status == actionWouldDo:
			f.Status, f.Repair = StatusWouldFix, a.what
		default:
			f.Status, f.Repair = StatusDeclined, a.what
			if a.detail != "" {
				f.Repair += " (" + a.detail + ")"
			}
		}
	}
	r.Repair.Actions = p.results()
	r.Repair.Left = r.Errors
}

// reconcile marks every finding of the first check r with what became of
// it, from the repairs and the re-check after them (second), lists the
// re-check's new findings, and sets the exit status.
func (p *plan) reconcile(r *Report, second Report) {
	present := map[string]int{}
	for _, f := range second.Findings {
		present[findingKey(f)]++
	}
	fixed := 0
	for i := range r.Findings {
		f := &r.Findings[i]
		k := findingKey(*f)
		still := present[k] > 0
		if still {
			present[k]--
		}
		a := p.covering(*f)
		switch {
		case still && a == nil:
			cannot(f)
		case still && a.status == actionFailed:
			f.Status, f.Repair = StatusFailed, a.what+": "+a.detail
		case still && a.accepted:
			f.Status, f.Repair = StatusNotFixed, a.what+"; the check after the repairs still finds it"
		case still:
			f.Status, f.Repair = StatusDeclined, a.what
		case a != nil && a.accepted && a.status == actionDone:
			f.Status, f.Repair = StatusFixed, a.what
			if a.detail != "" {
				f.Repair = a.detail
			}
		default:
			f.Status, f.Repair = StatusFixed, "gone after the repairs"
		}
		if f.Status == StatusFixed {
			fixed++
		}
	}
	for _, f := range second.Findings {
		if k := findingKey(f); present[k] > 0 {
			present[k]--
			r.Repair.New = append(r.Repair.New, f)
		}
	}
	r.Repair.Actions = p.results()
	r.Repair.Fixed, r.Repair.Left = fixed, second.Errors
	r.LostFound = second.LostFound
	switch {
	case second.Errors > 0:
		r.ExitCode = ExitErrors
	case fixed > 0 || p.anyDone():
		r.ExitCode = ExitCorrected
	default:
		r.ExitCode = ExitClean
	}
}

func (p *plan) anyDone() bool {
	for _, a := range p.actions {
		if a.status == actionDone {
			return true
		}
	}
	return false
}

// findingKey identifies a finding across two checks: its phase, severity
// and place (without the byte offset, which moves with what is left).
func findingKey(f Finding) string {
	w := f.Where
	w.Offset = nil
	return fmt.Sprintf("%s|%s|%s", f.Phase, f.Severity, w)
}

// cannot marks an error or warning no repair answers, saying what to do.
func cannot(f *Finding) {
	if f.Severity == SevInfo {
		return
	}
	f.Status = StatusCannotFix
	switch {
	case f.Phase == PhaseLabels && strings.Contains(f.What, "is missing"):
		f.Repair = "nothing to repair offline: start the node ('plinth serve'), which reads the drive's data through parity and rebuilds its members onto the other drives; if the drive is gone for good, put a new one in its place with 'plinth replace-drive'"
	case f.Phase == PhaseLabels && strings.Contains(f.What, "label cannot be read"):
		f.Repair = "the drive is left out of the repair, its label not written again: the node has no record of a missing drive whose segment headers this drive's match (or the metadata could not be read); the node runs without it, as without a missing drive"
	default:
		f.Repair = "fsck --repair has no repair for this (see the fix above)"
	}
}
