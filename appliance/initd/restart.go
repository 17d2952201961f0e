package initd

import "time"

// serve's restart policy.
const (
	RestartFirstDelay = time.Second
	RestartMaxDelay   = 30 * time.Second
	RestartWindow     = 10 * time.Minute
	RestartMax        = 5 // restarts within RestartWindow
)

// Restarts decides whether and when serve is started again after it
// exited unexpectedly: after 1 s, then 2 s, 4 s ... (at most 30 s), the
// delay doubling with each restart in the last 10 minutes; at most 5
// restarts in 10 minutes, after which serve stays down (a crash loop
// helps nobody; the log says what to do). A serve that ran well for 10
// minutes starts again after 1 s.
type Restarts struct {
	times []time.Time // restarts within the window, oldest first
}

// Next is called when serve exited unexpectedly at now. It returns the
// delay before the restart, or ok false when serve must stay down. Each
// call that returns ok counts as a restart.
func (r *Restarts) Next(now time.Time) (delay time.Duration, ok bool) {
	keep := r.times[:0]
	for _, t := range r.times {
		if now.Sub(t) < RestartWindow {
			keep = append(keep, t)
		}
	}
	r.times = keep
	if len(r.times) >= RestartMax {
		return 0, false
	}
	delay = RestartFirstDelay << len(r.times)
	if delay > RestartMaxDelay {
		delay = RestartMaxDelay
	}
	r.times = append(r.times, now.Add(delay))
	return delay, true
}
