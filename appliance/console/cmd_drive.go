package console

import (
	"time"

	"github.com/plinth-storage/plinth/io/iostat"
)

// Drives: drive out|in|fail POS, drive locate POS on|off, latency [DRIVE].

// DriveStateResult is the result of drive out, in and fail.
type DriveStateResult struct {
	Drive uint32 `json:"drive"`
	Path  string `json:"path"`
	From  string `json:"from"`
	State string `json:"state"`
}

// LocateResult is drive locate's result.
type LocateResult struct {
	Drive uint32 `json:"drive"`
	Path  string `json:"path"`
	LED   string `json:"led"` // "on" or "off"
	Slot  *Slot  `json:"slot,omitempty"`
}

// DriveLatency is one drive in latency's result: each kind of IO's
// counters and histogram.
type DriveLatency struct {
	Position  uint32                 `json:"position"`
	Path      string                 `json:"path"`
	StalledUS int64                  `json:"stalled_us"`
	Ops       map[string]OpHistogram `json:"ops"` // "read", "write", "flush", "other"
}

// OpHistogram is one kind of IO of a drive since the node started.
type OpHistogram struct {
	OpSummary
	// Buckets are the histogram's buckets from the first non-empty one to
	// the last: Count operations took less than UpperUS microseconds (and
	// at least the previous bucket's bound).
	Buckets []Bucket `json:"buckets"`
}

// Bucket is one histogram bucket.
type Bucket struct {
	UpperUS int64 `json:"upper_us"`
	Count   int64 `json:"count"`
}

func driveArg(help string) Arg {
	return Arg{Name: "drive", Type: "string", Positional: true, Required: true, Complete: "drive", Help: help}
}

func init() {
	for _, c := range []struct{ name, state, summary string }{
		{"drive out", "out", "take a drive out: no new members, its members rebuilt elsewhere"},
		{"drive in", "online", "bring a drive back online"},
		{"drive fail", "faulty", "mark a drive faulty: no new members, its members rebuilt elsewhere"},
	} {
		state := c.state
		register(&Command{Name: c.name, Summary: c.summary, Mutating: true, Result: "DriveStateResult",
			Args: []Arg{driveArg("the drive: its position or path")},
			run: func(x *call) (any, error) {
				if x.node.SetDriveState == nil {
					return nil, errUnavailable("drive states")
				}
				d, err := x.findDrive("drive")
				if err != nil {
					return nil, err
				}
				if err := x.node.SetDriveState(x.ctx, int(d.Position), state, "console: "+x.who); err != nil {
					return nil, withCode(CodeFailed, err)
				}
				return DriveStateResult{Drive: d.Position, Path: d.Path, From: d.State, State: state}, nil
			}})
	}
	register(&Command{Name: "drive locate", Summary: "turn a drive's enclosure locate LED on or off", Mutating: true, Result: "LocateResult",
		Args: []Arg{driveArg("the drive: its position or path"),
			{Name: "led", Type: "enum", Positional: true, Required: true, Choices: []string{"on", "off"}, Help: "on or off"}},
		run: func(x *call) (any, error) {
			d, err := x.findDrive("drive")
			if err != nil {
				return nil, err
			}
			ref := DriveRef{Position: d.Position, Path: d.Path}
			on := x.str("led") == "on"
			if err := x.node.locateLED(ref, on); err != nil {
				return nil, err
			}
			res := LocateResult{Drive: d.Position, Path: d.Path, LED: x.str("led")}
			if sl, ok := x.node.Enclosure.Slot(ref); ok {
				res.Slot = &sl
			}
			return res, nil
		}})
	register(&Command{Name: "latency", Summary: "per-drive read/write latency histograms (text: bars)", Result: "[]DriveLatency",
		Args: []Arg{{Name: "drive", Type: "string", Positional: true, Complete: "drive", Help: "one drive (position or path); none: every drive"},
			{Name: "ops", Type: "enum", Choices: []string{"rw", "all"}, Help: "rw: reads and writes (default); all: flushes and zone operations too"}},
		run: runLatency})
}

func runLatency(x *call) (any, error) {
	if x.node.Devices == nil {
		return nil, errUnavailable("IO accounting")
	}
	devs := x.node.Devices()
	if x.has("drive") {
		d, err := x.findDrive("drive")
		if err != nil {
			return nil, err
		}
		var one []Device
		for _, dv := range devs {
			if dv.Position == d.Position {
				one = append(one, dv)
			}
		}
		if len(one) == 0 {
			return nil, errorf(CodeNotFound, "drive %d (%s) is not open (missing): it has no IO", d.Position, d.Path)
		}
		devs = one
	}
	kinds := []iostat.Kind{iostat.Read, iostat.Write}
	if x.str("ops") == "all" {
		kinds = append(kinds, iostat.Flush, iostat.Other)
	}
	out := []DriveLatency{}
	for _, d := range devs {
		if d.IO == nil {
			continue
		}
		st := d.IO.Snapshot()
		dl := DriveLatency{Position: d.Position, Path: d.Path, StalledUS: d.IO.Stalled().Microseconds(), Ops: map[string]OpHistogram{}}
		for _, k := range kinds {
			dl.Ops[k.String()] = histogram(st.Ops[k])
		}
		out = append(out, dl)
	}
	return out, nil
}

// histogram keeps the buckets from the first non-empty one to the last.
func histogram(o iostat.OpStats) OpHistogram {
	h := OpHistogram{OpSummary: summary(o), Buckets: []Bucket{}}
	first, last := -1, -1
	for i, n := range o.Buckets {
		if n > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	for i := first; first >= 0 && i <= last; i++ {
		h.Buckets = append(h.Buckets, Bucket{UpperUS: iostat.BucketUpper(i).Microseconds(), Count: o.Buckets[i]})
	}
	return h
}

// since names a duration for people.
func since(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return time.Since(t).Round(time.Second).String()
}
