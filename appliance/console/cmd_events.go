package console

import (
	"strings"

	"github.com/plinth-storage/plinth/appliance/events"
)

// events [kind=K,K] [severity=S] [since=T] [pool=P] [drive=D] [limit=N]
// [after=SEQ] [follow]

// EventsResult is the events command's result. With follow, the events
// found come as stream items (one events.Event each), then those emitted
// later, until the client cancels; the result then says how many were
// sent.
type EventsResult struct {
	Events []events.Event `json:"events"`
	// Followed counts the events streamed (follow only).
	Followed int `json:"followed,omitempty"`
	// Last is the sequence number of the last event returned or
	// streamed: "after=Last" continues from there.
	Last uint64 `json:"last"`
}

func init() {
	register(&Command{Name: "events", Summary: "events of the journal, newest last; follow streams new ones", Stream: true, Result: "EventsResult",
		Args: []Arg{
			{Name: "kind", Type: "string", Help: "only these kinds, comma separated (drive-state,console-command)"},
			{Name: "severity", Type: "enum", Choices: []string{events.Info, events.Warning, events.Error, events.Critical}, Help: "only events at least this severe"},
			{Name: "since", Type: "time", Help: "only events since this time (RFC 3339) or this long ago (1h)"},
			{Name: "pool", Type: "string", Help: "only events of this pool"},
			{Name: "drive", Type: "string", Help: "only events of this drive"},
			{Name: "after", Type: "int", Help: "only events after this sequence number"},
			{Name: "limit", Type: "int", Help: "at most this many (the newest; default 100, at most 10000)"},
			{Name: "follow", Type: "bool", Help: "then stream new events until canceled"},
		},
		run: runEvents})
}

func runEvents(x *call) (any, error) {
	j := x.node.Events
	if j == nil {
		return nil, errUnavailable("events journal")
	}
	var f events.Filter
	if k := x.str("kind"); k != "" {
		for _, s := range strings.Split(k, ",") {
			if s = strings.TrimSpace(s); s != "" {
				f.Kinds = append(f.Kinds, s)
			}
		}
	}
	f.MinSeverity, f.Pool, f.Drive = x.str("severity"), x.str("pool"), x.str("drive")
	var err error
	if f.Since, err = x.time("since"); err != nil {
		return nil, err
	}
	after, err := x.nonNegative("after")
	if err != nil {
		return nil, err
	}
	f.AfterSeq = uint64(after)
	limit, err := x.nonNegative("limit")
	if err != nil {
		return nil, err
	}
	if limit > 10000 {
		return nil, x.bad("limit", limit, "1 to 10000")
	}
	f.Limit = int(limit)
	follow, err := x.boolean("follow")
	if err != nil {
		return nil, err
	}
	if !follow {
		evs, err := j.Query(f)
		if err != nil {
			return nil, err
		}
		res := EventsResult{Events: evs, Last: f.AfterSeq}
		if res.Events == nil {
			res.Events = []events.Event{}
		}
		if len(evs) > 0 {
			res.Last = evs[len(evs)-1].Seq
		}
		return res, nil
	}
	// Follow first, query next, and skip followed events the query
	// returned: no gap, no repeat.
	ch := j.Follow(x.ctx, f)
	evs, err := j.Query(f)
	if err != nil {
		return nil, err
	}
	res := EventsResult{Events: []events.Event{}, Last: f.AfterSeq}
	for _, e := range evs {
		if err := x.item(e); err != nil {
			return nil, err
		}
		res.Followed++
		res.Last = e.Seq
	}
	for e := range ch {
		if e.Seq <= res.Last {
			continue
		}
		if err := x.item(e); err != nil {
			return nil, err
		}
		res.Followed++
		res.Last = e.Seq
	}
	// The channel ends when the client cancels (or the node stops).
	return res, nil
}
