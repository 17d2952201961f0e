package api

import "time"

// State says where a request under way stands: "held" (waiting for a pause
// of the API to end), "queued" (waiting for a request slot) or "running".
func (r Request) State() string {
	switch {
	case r.Held:
		return "held"
	case r.Queued:
		return "queued"
	}
	return "running"
}

// Age is how long the request has been under way at now.
func (r Request) Age(now time.Time) time.Duration { return now.Sub(r.Start) }

// Limits returns the limits the API applies (defaults filled in).
func (s *Server) Limits() Limits { return s.cfg.Limits }
