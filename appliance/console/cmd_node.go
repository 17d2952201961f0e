package console

import (
	"sort"
	"strconv"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/api"
	"github.com/plinth-storage/plinth/io/iostat"
	"github.com/plinth-storage/plinth/pool"
)

// The node as a whole: help, whoami, status, drives, pools, fsstat.

// ProtocolVersion is the console protocol's version, in help's result.
const ProtocolVersion = 1

// HelpResult is help's result.
type HelpResult struct {
	Protocol int       `json:"protocol"`
	Commands []Command `json:"commands"`
}

// WhoamiResult is whoami's result.
type WhoamiResult struct {
	Peer string `json:"peer"` // as the audit records name the client
	Node string `json:"node"` // the node's id
}

// StatusResult is status's result.
type StatusResult struct {
	Time time.Time `json:"time"`
	// Node is the node's status document, the same as GET /v1/status's
	// "node".
	Node any `json:"node"`
	// API is whether the HTTP API is paused, and its requests.
	API APIState `json:"api"`
}

// APIState is the HTTP API's state.
type APIState struct {
	Pause    api.PauseState `json:"pause"`
	Running  int            `json:"running"`
	Queued   int            `json:"queued"`
	Held     int            `json:"held"`
	Limits   LimitsState    `json:"limits"`
	Oldest   string         `json:"oldest_age,omitempty"`
	OldestUS int64          `json:"oldest_age_us,omitempty"`
}

// LimitsState is the API's request limits.
type LimitsState struct {
	MaxConcurrent int `json:"max_concurrent"`
	MaxQueue      int `json:"max_queue"`
}

// DriveInfo is one drive in drives's result.
type DriveInfo struct {
	Position   uint32    `json:"position"`
	Path       string    `json:"path"`
	Slot       *Slot     `json:"slot,omitempty"` // nil: no enclosure knows the drive
	Pool       string    `json:"pool,omitempty"`
	State      string    `json:"state"`
	Sets       int       `json:"sets"`
	Rebuilding bool      `json:"rebuilding,omitempty"`
	Changed    time.Time `json:"changed,omitzero"`
	By         string    `json:"by,omitempty"`
	Zoned      bool      `json:"zoned"`
	Bytes      int64     `json:"bytes"`
	// Latency sums the drive's IO since the node started (nil: the
	// drive is missing).
	Latency *LatencySummary `json:"latency,omitempty"`
}

// LatencySummary is a drive's reads and writes, and how long IO has been
// under way on it without completing.
type LatencySummary struct {
	Read      OpSummary `json:"read"`
	Write     OpSummary `json:"write"`
	StalledUS int64     `json:"stalled_us"`
}

// OpSummary sums one kind of IO; latencies are in microseconds (P50 and
// P99 are histogram bucket bounds: at most twice the true value).
type OpSummary struct {
	Count    int64 `json:"count"`
	Bytes    int64 `json:"bytes"`
	Errors   int64 `json:"errors"`
	InFlight int64 `json:"in_flight"`
	P50US    int64 `json:"p50_us"`
	P99US    int64 `json:"p99_us"`
	MeanUS   int64 `json:"mean_us"`
}

// PoolInfo is one pool in pools's result.
type PoolInfo struct {
	Name        string       `json:"name"`
	Layout      string       `json:"layout"`
	Drives      []PoolDrive  `json:"drives"`
	Stats       pool.Stats   `json:"stats"`
	RepairQueue int          `json:"repair_queue"`
	Space       pool.FSStat  `json:"space"`
	Cleaner     CleanerState `json:"cleaner"`
}

// PoolDrive is one drive of a pool.
type PoolDrive struct {
	Position     uint32 `json:"position"`
	State        string `json:"state"`
	FreeSegments int    `json:"free_segments"`
	DataSegments int    `json:"data_segments"`
	OpenSets     int    `json:"open_sets"`
}

func init() {
	register(&Command{Name: "help", Summary: "list every command and its arguments", Result: "HelpResult",
		run: func(x *call) (any, error) { return HelpResult{Protocol: ProtocolVersion, Commands: Commands()}, nil }})
	register(&Command{Name: "whoami", Summary: "who the console takes you for (as the audit records name you)", Result: "WhoamiResult",
		run: func(x *call) (any, error) { return WhoamiResult{Peer: x.who, Node: x.node.ID}, nil }})
	register(&Command{Name: "status", Summary: "the node: drives, pools, space, metadata, background work, the API", Result: "StatusResult",
		run: runStatus})
	register(&Command{Name: "drives", Summary: "drives: enclosure slot when known, state, pool, latency summary", Result: "[]DriveInfo",
		run: runDrives})
	register(&Command{Name: "pools", Summary: "pools: layout, drives, counters, repair queue, space, cleaner", Result: "[]PoolInfo",
		run: runPools})
	register(&Command{Name: "fsstat", Summary: "space of the node and of each pool (as plinth fsstat)", Result: "appliance.NodeFSStat",
		run: func(x *call) (any, error) { return appliance.FSStat(x.node.Pools), nil }})
}

func runStatus(x *call) (any, error) {
	if x.node.Status == nil {
		return nil, errUnavailable("status")
	}
	return StatusResult{Time: time.Now().UTC(), Node: x.node.Status(), API: apiState(x.node.API)}, nil
}

func apiState(a *api.Server) APIState {
	if a == nil {
		return APIState{}
	}
	st := APIState{Pause: a.PauseState(), Limits: LimitsState{MaxConcurrent: a.Limits().MaxConcurrent, MaxQueue: a.Limits().MaxQueue}}
	now := time.Now()
	for i, r := range a.Requests() {
		switch r.State() {
		case "held":
			st.Held++
		case "queued":
			st.Queued++
		default:
			st.Running++
		}
		if i == 0 {
			age := r.Age(now)
			st.Oldest, st.OldestUS = age.Round(time.Millisecond).String(), age.Microseconds()
		}
	}
	return st
}

func runDrives(x *call) (any, error) {
	if x.node.Drives == nil {
		return nil, errUnavailable("drive list")
	}
	ds, err := x.node.Drives()
	if err != nil {
		return nil, err
	}
	devs := map[uint32]Device{}
	if x.node.Devices != nil {
		for _, d := range x.node.Devices() {
			devs[d.Position] = d
		}
	}
	out := make([]DriveInfo, 0, len(ds))
	for _, d := range ds {
		di := DriveInfo{Position: d.Position, Path: d.Path, Pool: d.Pool, State: d.State, Sets: d.Sets, Rebuilding: d.Rebuilding, Changed: d.Changed, By: d.By}
		if x.node.Enclosure != nil {
			if sl, ok := x.node.Enclosure.Slot(DriveRef{Position: d.Position, Path: d.Path}); ok {
				di.Slot = &sl
			}
		}
		if dev, ok := devs[d.Position]; ok {
			di.Zoned, di.Bytes = dev.Zoned, dev.Bytes
			if dev.IO != nil {
				st := dev.IO.Snapshot()
				di.Latency = &LatencySummary{Read: summary(st.Ops[iostat.Read]), Write: summary(st.Ops[iostat.Write]), StalledUS: dev.IO.Stalled().Microseconds()}
			}
		}
		out = append(out, di)
	}
	return out, nil
}

func summary(o iostat.OpStats) OpSummary {
	return OpSummary{Count: o.Count, Bytes: o.Bytes, Errors: o.Errors, InFlight: o.InFlight,
		P50US: o.Percentile(50).Microseconds(), P99US: o.Percentile(99).Microseconds(), MeanUS: o.Mean().Microseconds()}
}

func runPools(x *call) (any, error) {
	out := make([]PoolInfo, 0, len(x.node.Pools))
	for _, p := range x.node.Pools {
		pi := PoolInfo{Name: p.Name(), Layout: p.Layout().String(), Stats: p.Stats(), Space: p.FSStat(), Drives: []PoolDrive{}}
		q, err := p.RepairQueue()
		if err != nil {
			return nil, err
		}
		pi.RepairQueue = len(q)
		for _, d := range p.Allocator().Drives() {
			pi.Drives = append(pi.Drives, PoolDrive{Position: d.Position, State: d.Health.String(), FreeSegments: d.Free, DataSegments: d.DataSegments, OpenSets: d.OpenSets})
		}
		sort.Slice(pi.Drives, func(i, j int) bool { return pi.Drives[i].Position < pi.Drives[j].Position })
		pi.Cleaner = cleanerState(p, 0)
		out = append(out, pi)
	}
	return out, nil
}

// findDrive resolves a drive argument: a position, or a path.
func (x *call) findDrive(name string) (DriveState, error) {
	if x.node.Drives == nil {
		return DriveState{}, errUnavailable("drive list")
	}
	arg := x.str(name)
	ds, err := x.node.Drives()
	if err != nil {
		return DriveState{}, err
	}
	pos, perr := strconv.Atoi(arg)
	for _, d := range ds {
		if (perr == nil && int(d.Position) == pos) || d.Path == arg {
			return d, nil
		}
	}
	return DriveState{}, errorf(CodeNotFound, "no drive %q (drives lists them: give a position or a path)", arg)
}
