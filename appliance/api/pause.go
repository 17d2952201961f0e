package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/appliance/events"
)

// Pausing the API (the support console's pause and resume): the node stops
// taking new object and key-value requests while an operator looks at it
// or fixes something, without taking it down.
//
// While paused, a new request that needs a request slot (every object and
// key-value request; status, metrics, events and the drive and background
// endpoints are never paused) is held before it takes one: it waits, listed
// by Requests with Held set, until the pause ends (then it goes on as
// usual) or its client goes away; with PauseOptions.Reject it gets 503
// SlowDown with Retry-After at once instead. At most Limits.MaxQueue
// requests are held; more get 503. Requests already under way finish,
// unless PauseOptions.HoldInFlight: then their body reads and response
// writes wait for the pause to end too (the data they move stops; a
// request inside the pool finishes what it does there).
//
// A pause lifts itself after PauseOptions.Timeout (a console that went
// away must not leave the node paused), with an "api-resumed" event.

// DefaultPauseTimeout is how long a pause lasts unless told; MaxPauseTimeout
// is the longest one may.
const (
	DefaultPauseTimeout = 5 * time.Minute
	MaxPauseTimeout     = time.Hour
)

// PauseOptions say how the API pauses.
type PauseOptions struct {
	// Reject: new requests get 503 at once (default: they are held).
	Reject bool
	// HoldInFlight: requests under way stop moving data until the pause
	// ends (default: they finish).
	HoldInFlight bool
	// Timeout: the pause ends by itself after this long (default
	// DefaultPauseTimeout, at most MaxPauseTimeout).
	Timeout time.Duration
	// By names who paused (for PauseState and the events).
	By string
}

// PauseState is whether the API is paused, and how.
type PauseState struct {
	Paused       bool      `json:"paused"`
	Since        time.Time `json:"since,omitzero"`
	Until        time.Time `json:"until,omitzero"` // when the safety timeout lifts it
	By           string    `json:"by,omitempty"`
	Reject       bool      `json:"reject_new"`
	HoldInFlight bool      `json:"hold_in_flight"`
	Held         int       `json:"held"` // new requests waiting for the pause to end
	// LastResume says when and why the last pause ended.
	LastResume    time.Time `json:"last_resume,omitzero"`
	LastResumeWhy string    `json:"last_resume_why,omitempty"`
}

// pauser is the API's pause state.
type pauser struct {
	mu      sync.Mutex
	st      PauseState
	resumed chan struct{} // closed when the current pause ends
	timer   *time.Timer
	held    int
}

// Pause stops the API taking new requests (see above). Pausing a paused API
// changes its options and restarts its timeout.
func (s *Server) Pause(o PauseOptions) (PauseState, error) {
	if o.Timeout == 0 {
		o.Timeout = DefaultPauseTimeout
	}
	if o.Timeout < 0 || o.Timeout > MaxPauseTimeout {
		return s.PauseState(), fmt.Errorf("pause: timeout %v: want up to %v", o.Timeout, MaxPauseTimeout)
	}
	p := &s.pause
	p.mu.Lock()
	now := time.Now().UTC()
	if !p.st.Paused {
		p.resumed = make(chan struct{})
		p.st.Since = now
	}
	p.st.Paused, p.st.By, p.st.Reject, p.st.HoldInFlight = true, o.By, o.Reject, o.HoldInFlight
	p.st.Until = now.Add(o.Timeout)
	if p.timer != nil {
		p.timer.Stop()
	}
	ch := p.resumed
	p.timer = time.AfterFunc(o.Timeout, func() { s.resume(ch, "safety timeout: the pause lifted itself after "+o.Timeout.String()) })
	p.mu.Unlock()
	s.cfg.Log.Warn("API paused", "by", o.By, "reject_new", o.Reject, "hold_in_flight", o.HoldInFlight, "timeout", o.Timeout)
	return s.PauseState(), nil
}

// Resume ends a pause: held requests go on. Resuming an API that is not
// paused changes nothing.
func (s *Server) Resume(by string) PauseState {
	s.pause.mu.Lock()
	ch := s.pause.resumed
	s.pause.mu.Unlock()
	s.resume(ch, "resumed by "+by)
	return s.PauseState()
}

// resume ends the pause whose channel is ch (a later pause is left alone).
func (s *Server) resume(ch chan struct{}, why string) {
	p := &s.pause
	p.mu.Lock()
	if !p.st.Paused || ch != p.resumed {
		p.mu.Unlock()
		return
	}
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	close(p.resumed)
	p.st = PauseState{LastResume: time.Now().UTC(), LastResumeWhy: why}
	p.mu.Unlock()
	s.cfg.Log.Warn("API resumed", "why", why)
	if s.cfg.Events != nil {
		s.cfg.Events.Emit(events.Event{Severity: events.Info, Kind: "api-resumed", Source: "api", Detail: why})
	}
}

// PauseState returns the pause state.
func (s *Server) PauseState() PauseState {
	p := &s.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	st.Held = p.held
	return st
}

// pauseGate holds or refuses a new request while the API is paused; it
// answers the request itself and returns false when it must not go on.
func (s *Server) pauseGate(w http.ResponseWriter, r *http.Request, req *Request) bool {
	p := &s.pause
	p.mu.Lock()
	if !p.st.Paused {
		p.mu.Unlock()
		return true
	}
	if p.st.Reject || p.held >= s.cfg.Limits.MaxQueue {
		p.mu.Unlock()
		s.reject(w, r, "paused", "the node's API is paused by an operator; retry later")
		return false
	}
	p.held++
	ch := p.resumed
	p.mu.Unlock()
	s.mu.Lock()
	req.Held = true
	s.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.held--
		p.mu.Unlock()
		s.mu.Lock()
		req.Held = false
		s.mu.Unlock()
	}()
	select {
	case <-ch:
		return true
	case <-r.Context().Done():
		s.reject(w, r, "client-gone", "the client went away while the request was held (the API is paused)")
		return false
	}
}

// holdInFlight waits, while the API is paused with HoldInFlight, for the
// pause to end (or ctx).
func (s *Server) holdInFlight(ctx context.Context) {
	p := &s.pause
	p.mu.Lock()
	hold, ch := p.st.Paused && p.st.HoldInFlight, p.resumed
	p.mu.Unlock()
	if !hold {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// heldBody is a request body whose reads wait while the API holds
// requests in flight.
type heldBody struct {
	io.ReadCloser
	s   *Server
	ctx context.Context
}

func (b *heldBody) Read(p []byte) (int, error) {
	b.s.holdInFlight(b.ctx)
	return b.ReadCloser.Read(p)
}
