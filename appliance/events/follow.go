package events

import (
	"context"
	"sync/atomic"
)

// FollowBuffer is how many events a follower may fall behind by before it
// misses some.
const FollowBuffer = 256

type follower struct {
	ch      chan Event
	f       Filter
	dropped atomic.Uint64
}

// Follow streams the events that match f (Limit aside) as they are emitted,
// from the next one on, until ctx is done or the journal is closed; then
// the channel is closed. A follower that falls more than FollowBuffer events
// behind misses events (counted in Stats.FollowDropped): Emit never waits
// for a follower. An invalid filter (see Filter.Validate) gets a closed
// channel.
//
// To show history and then follow without a gap, Follow first, Query next,
// and skip followed events whose Seq the query already returned.
func (j *Journal) Follow(ctx context.Context, f Filter) <-chan Event {
	ch := make(chan Event, FollowBuffer)
	if f.Validate() != nil {
		close(ch)
		return ch
	}
	f.Kinds = append([]string(nil), f.Kinds...) // the caller may reuse its slice
	fl := &follower{ch: ch, f: f}
	j.followMu.Lock()
	if j.followDone {
		j.followMu.Unlock()
		close(ch)
		return ch
	}
	j.followers[fl] = struct{}{}
	j.followMu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-j.done:
		}
		j.followMu.Lock()
		if _, ok := j.followers[fl]; ok {
			delete(j.followers, fl)
			close(ch)
		}
		j.followMu.Unlock()
	}()
	return ch
}

// broadcast offers e to every follower that wants it. Called by the writer.
func (j *Journal) broadcast(e *Event) {
	j.followMu.Lock()
	defer j.followMu.Unlock()
	for fl := range j.followers {
		if !fl.f.Match(e) {
			continue
		}
		select {
		case fl.ch <- *e:
		default:
			fl.dropped.Add(1)
			j.followDropped.Add(1)
		}
	}
}

// endFollowers closes every follower's channel. Called by the writer when it
// exits.
func (j *Journal) endFollowers() {
	j.followMu.Lock()
	defer j.followMu.Unlock()
	for fl := range j.followers {
		close(fl.ch)
		delete(j.followers, fl)
	}
	j.followDone = true
}
