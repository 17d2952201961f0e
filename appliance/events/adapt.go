package events

import (
	"strconv"
	"strings"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// Sources of the adapters' events.
const (
	SourcePool     = "pool"
	SourceMetadata = "metadata"
)

var poolSeverity = map[string]string{
	pool.EventUnrecoverable:   Critical,
	pool.EventDriveFailed:     Error,
	pool.EventIOError:         Error,
	pool.EventWriteProtect:    Error,
	pool.EventError:           Error,
	pool.EventDegradedRead:    Warning,
	pool.EventRepairQueued:    Warning,
	pool.EventRepaired:        Info,
	pool.EventWriteProtectOff: Info,
	pool.EventCleanerStart:    Info,
	pool.EventCleanerStop:     Info,
	pool.EventSetCleaned:      Info,
	pool.EventSetReleased:     Info,
	pool.EventRebuildStart:    Warning,
	pool.EventRebuildFailed:   Error,
	pool.EventMemberRebuilt:   Info,
	pool.EventRebuildDone:     Info,
	pool.EventMemberMoved:     Info,
}

// poolStripeKinds are the pool kinds whose Stripe is meaningful even when
// it is 0.
var poolStripeKinds = map[string]bool{
	pool.EventDegradedRead:  true,
	pool.EventUnrecoverable: true,
	pool.EventRepairQueued:  true,
	pool.EventRepaired:      true,
}

// FromPool turns a pool's event into a journal event (source "pool") with
// the severity of the package comment's table. The drive, when the event
// names one, is its position in the pool in decimal; a caller that knows the
// drive's name may replace it.
func FromPool(p pool.Event) Event {
	e := Event{
		Time:     p.Time,
		Severity: severityOf(poolSeverity, p.Kind),
		Kind:     p.Kind,
		Source:   SourcePool,
		Pool:     p.Pool,
		Set:      p.Set,
		Detail:   p.Detail,
	}
	if p.HasDrive {
		e.Drive = strconv.FormatUint(uint64(p.Drive), 10)
	}
	if p.Set != 0 && (poolStripeKinds[p.Kind] || p.Stripe != 0) {
		st := p.Stripe
		e.Stripe = &st
	}
	return e
}

var storeSeverity = map[string]string{
	"read-only":             Critical,
	"mirror-failed":         Error,
	"checkpoint-failed":     Error,
	"finish-failed":         Warning,
	"bad-copy":              Warning,
	"mirror-behind":         Warning,
	"checkpoint":            Info,
	"clean":                 Info,
	"journal-read-only":     Critical,
	"journal-mirror-failed": Error,
	"journal-full":          Warning,
	"journal-bad-copy":      Warning,
	"journal-mirror-behind": Warning,
	"resilver-started":      Warning,
	"resilver-failed":       Error,
	"resilver-done":         Info,
	"journal-mirror-joined": Info,
}

// FromStore turns a metadata store's event into a journal event (source
// "metadata") with the severity of the package comment's table. The mirror,
// when the event names one, goes in Drive. A "journal" event becomes
// "journal-<kind>" with the journal's own detail (see the package comment).
func FromStore(s store.Event) Event {
	e := Event{
		Time:   s.Time,
		Kind:   s.Kind,
		Source: SourceMetadata,
		Drive:  s.Mirror,
		Detail: s.Detail,
	}
	if s.Kind == "journal" {
		if kind, mirror, detail, ok := parseJournalDetail(s.Detail); ok {
			if !strings.HasPrefix(kind, "journal") {
				kind = "journal-" + kind
			}
			e.Kind, e.Detail = kind, detail
			if e.Drive == "" {
				e.Drive = mirror
			}
		}
	}
	e.Severity = severityOf(storeSeverity, e.Kind)
	return e
}

// parseJournalDetail splits what wal.Event.String gives: "TIME KIND: detail"
// or "TIME KIND MIRROR: detail".
func parseJournalDetail(s string) (kind, mirror, detail string, ok bool) {
	head, detail, found := strings.Cut(s, ": ")
	if !found {
		return "", "", "", false
	}
	f := strings.Fields(head)
	if len(f) < 2 || len(f) > 3 {
		return "", "", "", false
	}
	if _, err := time.Parse(time.RFC3339, f[0]); err != nil {
		return "", "", "", false
	}
	if len(f) == 3 {
		mirror = f[2]
	}
	return f[1], mirror, detail, true
}

func severityOf(table map[string]string, kind string) string {
	if s, ok := table[kind]; ok {
		return s
	}
	return Warning
}
