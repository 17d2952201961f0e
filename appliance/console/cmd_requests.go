package console

import (
	"time"

	"github.com/plinth-storage/plinth/appliance/api"
)

// The HTTP API's requests: requests, pause, resume.

// RequestInfo is one request in requests's result.
type RequestInfo struct {
	ID     string    `json:"id"`
	State  string    `json:"state"` // "running", "queued" (for a slot), "held" (by a pause)
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Op     string    `json:"op"`
	Client string    `json:"client"`
	Start  time.Time `json:"start"`
	Age    string    `json:"age"`
	AgeUS  int64     `json:"age_us"`
}

// RequestsResult is requests's result: the requests under way, oldest
// first, and the API's state.
type RequestsResult struct {
	API      APIState      `json:"api"`
	Requests []RequestInfo `json:"requests"`
}

func init() {
	register(&Command{Name: "requests", Summary: "HTTP requests under way, queued or held: age, client, operation", Result: "RequestsResult",
		Args: []Arg{{Name: "state", Type: "enum", Choices: []string{"running", "queued", "held"}, Help: "only requests in this state"}},
		run:  runRequests})
	register(&Command{Name: "pause", Summary: "stop the API taking new object and key-value requests (held, or refused with reject); lifts itself after timeout", Mutating: true, Result: "api.PauseState",
		Args: []Arg{
			{Name: "timeout", Type: "duration", Help: "the pause lifts itself after this (default 5m, at most 1h)"},
			{Name: "reject", Type: "bool", Help: "refuse new requests with 503 instead of holding them"},
			{Name: "hold", Type: "bool", Help: "also hold the requests under way (their data transfers wait), instead of letting them finish"},
		},
		run: runPause})
	register(&Command{Name: "resume", Summary: "end a pause: held requests go on", Mutating: true, Result: "api.PauseState",
		run: func(x *call) (any, error) {
			if x.node.API == nil {
				return nil, errUnavailable("HTTP API")
			}
			return x.node.API.Resume("console: " + x.who), nil
		}})
}

func runRequests(x *call) (any, error) {
	if x.node.API == nil {
		return nil, errUnavailable("HTTP API")
	}
	now := time.Now()
	out := RequestsResult{API: apiState(x.node.API), Requests: []RequestInfo{}}
	want := x.str("state")
	for _, r := range x.node.API.Requests() {
		st := r.State()
		if want != "" && st != want {
			continue
		}
		age := r.Age(now)
		out.Requests = append(out.Requests, RequestInfo{ID: r.ID, State: st, Method: r.Method, Path: r.Path, Op: r.Op, Client: r.Client,
			Start: r.Start.UTC(), Age: age.Round(time.Millisecond).String(), AgeUS: age.Microseconds()})
	}
	return out, nil
}

func runPause(x *call) (any, error) {
	if x.node.API == nil {
		return nil, errUnavailable("HTTP API")
	}
	timeout, err := x.duration("timeout")
	if err != nil {
		return nil, err
	}
	reject, err := x.boolean("reject")
	if err != nil {
		return nil, err
	}
	hold, err := x.boolean("hold")
	if err != nil {
		return nil, err
	}
	st, err := x.node.API.Pause(api.PauseOptions{Reject: reject, HoldInFlight: hold, Timeout: timeout, By: "console: " + x.who})
	if err != nil {
		return nil, withCode(CodeBadArgs, err)
	}
	return st, nil
}
