package fsck

import (
	"fmt"
	"strings"
)

// Exit statuses, as e2fsck's.
const (
	ExitClean       = 0 // no errors (warnings and notes may remain)
	ExitCorrected   = 1 // errors found and corrected (Repair)
	ExitErrors      = 4 // errors left uncorrected
	ExitOperational = 8 // fsck could not run: bad arguments, a drive that cannot be opened or is in use
)

// Phase names a phase of the check.
type Phase string

// The phases, in the order they run.
const (
	PhaseLabels  Phase = "labels"
	PhaseJournal Phase = "journal"
	PhaseTrees   Phase = "btree"
	PhaseCross   Phase = "cross-check"
	PhaseDeep    Phase = "deep"
)

// Phases lists the phases in order.
var Phases = []Phase{PhaseLabels, PhaseJournal, PhaseTrees, PhaseCross, PhaseDeep}

// Title says what a phase checks, for people.
func (p Phase) Title() string {
	switch p {
	case PhaseLabels:
		return "labels and superblocks"
	case PhaseJournal:
		return "journal"
	case PhaseTrees:
		return "B-trees"
	case PhaseCross:
		return "cross-checks"
	case PhaseDeep:
		return "data and parity"
	}
	return string(p)
}

// Severity grades a finding. Only errors make the exit status 4.
type Severity string

// Severities.
const (
	SevError   Severity = "error"   // damage: redundancy lost, or data or metadata wrong
	SevWarning Severity = "warning" // not damage, but an operator should act
	SevInfo    Severity = "info"    // expected after a crash, or for the record
)

// Where locates a finding; fields not known are left out.
type Where struct {
	Drive    string `json:"drive,omitempty"`    // the drive's path
	Position *int   `json:"position,omitempty"` // the drive's position in the node
	// Area and Offset: a superblock area, and a byte offset (on the
	// drive for labels, in the segment for journal and metadata
	// segments).
	Area            *int    `json:"area,omitempty"`
	Offset          *int64  `json:"offset,omitempty"`
	JournalSegment  *uint32 `json:"journal_segment,omitempty"`  // segment index on the drive
	MetadataSegment *int    `json:"metadata_segment,omitempty"` // index in the metadata range
	Tree            string  `json:"tree,omitempty"`
	Pool            string  `json:"pool,omitempty"`
	Set             uint64  `json:"set,omitempty"`
	Member          *int    `json:"member,omitempty"`  // index in its set (parity from N on)
	Segment         *uint32 `json:"segment,omitempty"` // a data segment's index on its drive
	Stripe          *int64  `json:"stripe,omitempty"`  // the first stripe concerned
	Owner           string  `json:"owner,omitempty"`   // a pool owner the index names
	Bucket          string  `json:"bucket,omitempty"`
	Key             string  `json:"key,omitempty"`
}

func (w Where) String() string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	switch {
	case w.Position != nil && w.Drive != "":
		add("drive %d (%s)", *w.Position, w.Drive)
	case w.Position != nil:
		add("drive %d", *w.Position)
	case w.Drive != "":
		add("drive %s", w.Drive)
	}
	if w.Area != nil {
		add("superblock area %d", *w.Area)
	}
	if w.JournalSegment != nil {
		add("journal segment %d", *w.JournalSegment)
	}
	if w.Tree != "" {
		add("tree %q", w.Tree)
	}
	if w.MetadataSegment != nil {
		add("metadata segment %d", *w.MetadataSegment)
	}
	if w.Pool != "" {
		add("pool %s", w.Pool)
	}
	if w.Set != 0 {
		add("set %d", w.Set)
	}
	if w.Member != nil {
		add("member %d", *w.Member)
	}
	if w.Segment != nil {
		add("segment %d", *w.Segment)
	}
	if w.Stripe != nil {
		add("stripe %d", *w.Stripe)
	}
	if w.Offset != nil {
		add("byte %d", *w.Offset)
	}
	switch {
	case w.Bucket != "":
		add("bucket %q key %q", w.Bucket, w.Key)
	case w.Owner != "":
		add("owner %q", w.Owner)
	}
	return strings.Join(parts, ", ")
}

// Finding is one thing fsck found.
type Finding struct {
	Phase    Phase    `json:"phase"`
	Severity Severity `json:"severity"`
	What     string   `json:"what"`
	Where    Where    `json:"where"`
	Fix      string   `json:"fix"`
	// Status and Repair say what Repair did about the finding (empty
	// in a check): Status one of the Status values, Repair what was
	// done, would be done, or why nothing was.
	Status Status `json:"status,omitempty"`
	Repair string `json:"repair,omitempty"`
}

// PhaseResult sums up one phase.
type PhaseResult struct {
	Phase   Phase   `json:"phase"`
	Title   string  `json:"title"`
	Checked string  `json:"checked,omitempty"` // what the phase looked at
	Skipped string  `json:"skipped,omitempty"` // why it did not run
	Errors  int     `json:"errors"`
	Warns   int     `json:"warnings"`
	Infos   int     `json:"infos"`
	Seconds float64 `json:"seconds"`
	// BytesRead is what the deep phase read from the drives, data and
	// parity units (its rate is BytesRead/Seconds).
	BytesRead int64 `json:"bytes_read,omitempty"`
}

// Drive is one drive as fsck saw it.
type Drive struct {
	Position int    `json:"position"` // -1 when no label says
	Path     string `json:"path,omitempty"`
	Present  bool   `json:"present"`
	Metadata bool   `json:"metadata"` // a metadata mirror
}

// Report is what a check found.
type Report struct {
	Node     string        `json:"node"`
	Deep     bool          `json:"deep"`
	Drives   []Drive       `json:"drives"`
	Phases   []PhaseResult `json:"phases"`
	Findings []Finding     `json:"findings"`
	Errors   int           `json:"errors"`
	Warnings int           `json:"warnings"`
	Infos    int           `json:"infos"`
	// LostFound is the node's lost+found listing: data a repair could
	// not recover, listed by every check until cleared.
	LostFound []LostEntry `json:"lost_found,omitempty"`
	// Repair sums up what Repair did (nil for a check).
	Repair *RepairSummary `json:"repair,omitempty"`
	// ExitCode is ExitClean or ExitErrors for a check; Repair makes it
	// ExitCorrected when it fixed everything it found.
	ExitCode int `json:"exit_code"`
}

// Clean reports whether the check found no error.
func (r *Report) Clean() bool { return r.Errors == 0 }

// add records a finding and counts it in its phase.
func (r *Report) add(f Finding) {
	r.Findings = append(r.Findings, f)
	ph := r.phase(f.Phase)
	switch f.Severity {
	case SevError:
		r.Errors++
		ph.Errors++
	case SevWarning:
		r.Warnings++
		ph.Warns++
	default:
		r.Infos++
		ph.Infos++
	}
	if r.Errors > 0 {
		r.ExitCode = ExitErrors
	}
}

// phase returns a phase's result, adding it in phase order.
func (r *Report) phase(p Phase) *PhaseResult {
	for i := range r.Phases {
		if r.Phases[i].Phase == p {
			return &r.Phases[i]
		}
	}
	r.Phases = append(r.Phases, PhaseResult{Phase: p, Title: p.Title()})
	return &r.Phases[len(r.Phases)-1]
}

func intp(i int) *int          { return &i }
func int64p(i int64) *int64    { return &i }
func uint32p(i uint32) *uint32 { return &i }
