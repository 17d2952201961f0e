package events

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Severities, in increasing order.
const (
	Info     = "info"
	Warning  = "warning"
	Error    = "error"
	Critical = "critical"
)

// Kinds the journal writes itself (source "node").
const (
	KindRepaired = "journal-repaired" // Open cut a torn or garbage tail
	KindDropped  = "events-dropped"   // Emit found the queue full
)

// MaxDetail is the longest Detail kept; a longer one is cut and marked.
const MaxDetail = 8 << 10

// Event is one entry of the journal. See the package comment for the meaning
// of each field and its JSON form.
type Event struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Severity string    `json:"severity"`
	Kind     string    `json:"kind"`
	Source   string    `json:"source"`
	Pool     string    `json:"pool,omitempty"`
	Drive    string    `json:"drive,omitempty"`
	Set      uint64    `json:"set,omitempty"`
	Stripe   *int64    `json:"stripe,omitempty"`
	Detail   string    `json:"detail"`
	Actor    string    `json:"actor,omitempty"`
}

func (e Event) String() string {
	s := fmt.Sprintf("#%d %s %s %s/%s", e.Seq, e.Time.Format(time.RFC3339Nano), e.Severity, e.Source, e.Kind)
	if e.Pool != "" {
		s += " pool " + e.Pool
	}
	if e.Drive != "" {
		s += " drive " + e.Drive
	}
	if e.Set != 0 {
		s += fmt.Sprintf(" set %d", e.Set)
	}
	if e.Stripe != nil {
		s += fmt.Sprintf(" stripe %d", *e.Stripe)
	}
	if e.Actor != "" {
		s += " by " + e.Actor
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// SeverityRank orders severities: 0 for info up to 3 for critical, and -1
// for a string that is not a severity.
func SeverityRank(s string) int {
	switch s {
	case Info:
		return 0
	case Warning:
		return 1
	case Error:
		return 2
	case Critical:
		return 3
	}
	return -1
}

// normalize makes an emitted event storable: no severity means info, an
// unknown one is kept visible in the detail and stored as error (so a typo
// does not hide bad news), and an overlong detail is cut.
func normalize(e *Event) {
	switch {
	case e.Severity == "":
		e.Severity = Info
	case SeverityRank(e.Severity) < 0:
		e.Detail = fmt.Sprintf("%s (unknown severity %q)", e.Detail, e.Severity)
		e.Severity = Error
	}
	e.Detail = cut(e.Detail, MaxDetail)
	for _, f := range []*string{&e.Kind, &e.Source, &e.Pool, &e.Drive, &e.Actor} {
		*f = cut(*f, maxField)
	}
}

// maxField bounds the short fields, so that a line stays small whatever a
// caller passes.
const maxField = 256

// cut shortens s to at most n bytes, on a rune boundary, marking the cut.
func cut(s string, n int) string {
	const mark = " [cut]"
	if len(s) <= n {
		return s
	}
	i := n - len(mark)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + mark
}

// urgent says whether an event is synced at once.
func urgent(e *Event) bool { return SeverityRank(e.Severity) >= SeverityRank(Error) }
