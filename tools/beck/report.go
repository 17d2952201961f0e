package beck

import (
	"fmt"
	"io"
	"strings"

	"github.com/plinth-storage/plinth/internal/human"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// Report is what a rebuild did and found.
type Report struct {
	Node string `json:"node"`
	// Resumed: the rebuild went on from an interrupted one.
	Resumed bool `json:"resumed"`
	// OldStore says what became of the metadata store found.
	OldStore string       `json:"old_store"`
	Pools    []PoolReport `json:"pools"`
	// KV: the key-value indexes restored from the logs.
	KV KVReport `json:"kv"`
	// Counters are the rebuild's figures, over every run of it.
	Counters Counters `json:"counters"`
	// Lost lists the owners (objects by bucket and key) that have data
	// in the log and no version that could be restored.
	Lost []Lost `json:"lost"`
	// Damaged lists stripes that could not be read whole (the first
	// 100 of this run).
	Damaged []Damaged `json:"damaged_stripes,omitempty"`
	// CheckProblems counts pools whose rebuilt index did not check.
	CheckProblems int `json:"check_problems,omitempty"`
	// Warnings are what an operator must act on; Notes are for the
	// record.
	Warnings    []string      `json:"warnings"`
	Notes       []string      `json:"notes"`
	Phases      []PhaseResult `json:"phases"`
	ScanSeconds float64       `json:"scan_seconds"`
	ScanMBps    float64       `json:"scan_mb_per_s"`
	Seconds     float64       `json:"seconds"`
	// ExitCode is e2fsck's: fsck.ExitCorrected when the index was
	// rebuilt with nothing lost, fsck.ExitErrors when something was.
	ExitCode int `json:"exit_code"`
}

// PoolReport is one pool's part of a rebuild.
type PoolReport struct {
	Name   string `json:"name"`
	Layout string `json:"layout"`
	Drives []int  `json:"drives"`
	// Sets were found and read; SetsDegraded of them had members
	// missing (read through parity).
	Sets         int   `json:"sets"`
	SetsDegraded int   `json:"sets_degraded"`
	SetsReleased int   `json:"sets_released"` // held nothing live
	StreamBytes  int64 `json:"stream_bytes"`
	LiveBytes    int64 `json:"live_bytes"`
	Buckets      int   `json:"buckets"`
}

// KVReport is what became of the key-value indexes.
type KVReport struct {
	Indexes int `json:"indexes"`
	Keys    int `json:"keys"` // values and tombstones
}

// Lost is an owner the rebuild could not restore.
type Lost struct {
	Pool    string `json:"pool"`
	Owner   string `json:"owner"`
	Bucket  string `json:"bucket,omitempty"`
	Index   string `json:"index,omitempty"` // a key-value index's key
	Key     string `json:"key,omitempty"`
	Version uint64 `json:"version"` // the newest version found
	Why     string `json:"why"`
}

// Damaged is a stripe that could not be read whole.
type Damaged struct {
	Pool   string `json:"pool"`
	Set    uint64 `json:"set"`
	Stripe int64  `json:"stripe"`
	Error  string `json:"error"`
	// Salvaged records were found whole in its good blocks;
	// DamagedRecords had a good header and a bad payload.
	Salvaged       int `json:"salvaged_records"`
	DamagedRecords int `json:"damaged_records"`
}

// PhaseResult sums up one phase.
type PhaseResult struct {
	Phase   fsck.Phase `json:"phase"`
	Title   string     `json:"title"`
	Summary string     `json:"summary"`
	Seconds float64    `json:"seconds"`
}

// finish sets the exit code and the warnings every rebuild gives.
func (r *Report) finish() {
	r.Warnings = append([]string{
		"drive states set by an operator (out, spare, slow) and the scrub schedule were metadata only: every drive is online again, and the next scrub starts from the beginning",
	}, r.Warnings...)
	if r.Counters.NoAttrs > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d objects are restored without their attributes (content type, user metadata, ETag, modified time): their write came before attribute records were logged, or the set holding the record was cleaned since", r.Counters.NoAttrs))
	}
	r.ExitCode = fsck.ExitCorrected
	if len(r.Lost) > 0 || r.Counters.DamagedStripes > 0 || r.CheckProblems > 0 {
		r.ExitCode = fsck.ExitErrors
	}
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plinth fsck --rebuild-index: node %s", r.Node)
	if r.Resumed {
		b.WriteString(" (resumed)")
	}
	fmt.Fprintf(&b, "\nold metadata store: %s\n", r.OldStore)
	for _, p := range r.Pools {
		fmt.Fprintf(&b, "pool %s (%s, drives %v): %d sets read (%d through parity), %s of stream, %s live, %d buckets, %d empty sets released\n",
			p.Name, p.Layout, p.Drives, p.Sets, p.SetsDegraded, human.Bytes(p.StreamBytes), human.Bytes(p.LiveBytes), p.Buckets, p.SetsReleased)
	}
	c := r.Counters
	fmt.Fprintf(&b, "scanned %s (%d records, %d damaged stripes) at %.0f MB/s; restored %d owners with data, %d deleted; %d at an older version; %d lost\n",
		human.Bytes(c.BytesScanned), c.Records, c.DamagedStripes, r.ScanMBps, c.Objects, c.Tombstones, c.Older, c.Lost)
	fmt.Fprintf(&b, "key-value indexes: %d restored with %d keys (values and tombstones)\n", r.KV.Indexes, r.KV.Keys)
	for _, l := range r.Lost {
		if l.Index != "" {
			fmt.Fprintf(&b, "LOST: pool %s key-value index %q key %q (version %d): %s\n", l.Pool, l.Index, l.Key, l.Version, l.Why)
		} else if l.Bucket != "" {
			fmt.Fprintf(&b, "LOST: pool %s bucket %q key %q (version %d): %s\n", l.Pool, l.Bucket, l.Key, l.Version, l.Why)
		} else {
			fmt.Fprintf(&b, "LOST: pool %s owner %q (version %d): %s\n", l.Pool, l.Owner, l.Version, l.Why)
		}
	}
	for _, d := range r.Damaged {
		fmt.Fprintf(&b, "damaged: pool %s set %d stripe %d (%d records salvaged from its good blocks, %d found damaged): %s\n",
			d.Pool, d.Set, d.Stripe, d.Salvaged, d.DamagedRecords, d.Error)
	}
	for _, s := range r.Warnings {
		fmt.Fprintf(&b, "WARNING: %s\n", s)
	}
	for _, s := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", s)
	}
	fmt.Fprintf(&b, "done in %.1fs; exit status %d\n", r.Seconds, r.ExitCode)
	_, err := io.WriteString(w, b.String())
	return err
}
