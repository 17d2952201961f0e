package events

import (
	"testing"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/wal"
)

func TestFromPool(t *testing.T) {
	for _, c := range []struct {
		kind, severity string
	}{
		{pool.EventUnrecoverable, Critical},
		{pool.EventDriveFailed, Error},
		{pool.EventIOError, Error},
		{pool.EventWriteProtect, Error},
		{pool.EventError, Error},
		{pool.EventDegradedRead, Warning},
		{pool.EventRepairQueued, Warning},
		{pool.EventRepaired, Info},
		{pool.EventWriteProtectOff, Info},
		{pool.EventCleanerStart, Info},
		{pool.EventCleanerStop, Info},
		{pool.EventSetCleaned, Info},
		{pool.EventSetReleased, Info},
		{"something-new", Warning},
	} {
		e := FromPool(pool.Event{Time: t0, Pool: "p0", Kind: c.kind, Detail: "d"})
		if e.Severity != c.severity || e.Kind != c.kind || e.Source != SourcePool || e.Pool != "p0" || e.Detail != "d" || !e.Time.Equal(t0) {
			t.Errorf("%s: %+v, want severity %s", c.kind, e, c.severity)
		}
	}
	e := FromPool(pool.Event{Kind: pool.EventDegradedRead, Set: 9, Stripe: 0})
	if e.Set != 9 || e.Stripe == nil || *e.Stripe != 0 || e.Drive != "" {
		t.Errorf("degraded read of stripe 0: %+v", e)
	}
	if e := FromPool(pool.Event{Kind: pool.EventIOError, Set: 9}); e.Stripe != nil {
		t.Errorf("io-error with no stripe got one: %+v", e)
	}
	if e := FromPool(pool.Event{Kind: pool.EventError, Set: 9, Stripe: 4}); e.Stripe == nil || *e.Stripe != 4 {
		t.Errorf("error with a stripe lost it: %+v", e)
	}
	if e := FromPool(pool.Event{Kind: pool.EventDriveFailed, Drive: 0, HasDrive: true}); e.Drive != "0" {
		t.Errorf("drive position 0: %+v", e)
	}
}

func TestFromStore(t *testing.T) {
	for _, c := range []struct {
		kind, severity string
	}{
		{"read-only", Critical},
		{"mirror-failed", Error},
		{"checkpoint-failed", Error},
		{"finish-failed", Warning},
		{"bad-copy", Warning},
		{"mirror-behind", Warning},
		{"resilver-started", Warning},
		{"resilver-failed", Error},
		{"resilver-done", Info},
		{"checkpoint", Info},
		{"clean", Info},
		{"something-new", Warning},
	} {
		e := FromStore(store.Event{Time: t0, Kind: c.kind, Mirror: "sdc", Detail: "d"})
		if e.Severity != c.severity || e.Kind != c.kind || e.Source != SourceMetadata || e.Drive != "sdc" || e.Detail != "d" {
			t.Errorf("%s: %+v, want severity %s", c.kind, e, c.severity)
		}
	}
	for _, c := range []struct {
		we                     wal.Event
		kind, severity, mirror string
	}{
		{wal.Event{Time: t0, Kind: wal.EventMirrorFailed, Mirror: "sdd", Detail: "write: EIO"}, "journal-mirror-failed", Error, "sdd"},
		{wal.Event{Time: t0, Kind: wal.EventReadOnly, Detail: "1 of 3 mirrors"}, "journal-read-only", Critical, ""},
		{wal.Event{Time: t0, Kind: wal.EventBadCopy, Mirror: "sde", Detail: "x"}, "journal-bad-copy", Warning, "sde"},
		{wal.Event{Time: t0, Kind: wal.EventMirrorBehind, Mirror: "sde", Detail: "x"}, "journal-mirror-behind", Warning, "sde"},
		{wal.Event{Time: t0, Kind: wal.EventFull, Detail: "journal full at LSN 9"}, "journal-full", Warning, ""},
	} {
		e := FromStore(store.Event{Time: t0.Add(time.Second), Kind: "journal", Detail: c.we.String()})
		if e.Kind != c.kind || e.Severity != c.severity || e.Drive != c.mirror || e.Detail != c.we.Detail {
			t.Errorf("%v: %+v, want kind %s severity %s mirror %q", c.we, e, c.kind, c.severity, c.mirror)
		}
	}
	// A journal detail in an unknown form is kept whole.
	if e := FromStore(store.Event{Kind: "journal", Detail: "odd"}); e.Kind != "journal" || e.Detail != "odd" || e.Severity != Warning {
		t.Errorf("odd journal event: %+v", e)
	}
}
