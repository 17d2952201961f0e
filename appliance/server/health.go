package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/iostat"
)

// healthMonitor applies the error policy for data drives: redundancy
// covers each failed IO (the pools read around it and queue repairs), and
// a drive with threshold IO errors within window is marked faulty in its
// pool (no new members), with an event, instead of failing reads forever.
// The counts come from the IO accounting every drive is wrapped in.
type healthMonitor struct {
	s         *Server
	threshold int
	window    time.Duration
	timeout   time.Duration // IO under way this long with nothing completing: faulty (0: never)
	interval  time.Duration

	mu     sync.Mutex
	last   map[string]int64       // errors at the last look, by drive path
	recent map[string][]errorTick // errors within the window
	marked map[string]bool
}

type errorTick struct {
	at time.Time
	n  int64
}

func newHealthMonitor(s *Server, threshold int, window, timeout time.Duration) *healthMonitor {
	return &healthMonitor{s: s, threshold: threshold, window: window, timeout: timeout, interval: time.Second,
		last: map[string]int64{}, recent: map[string][]errorTick{}, marked: map[string]bool{}}
}

func (h *healthMonitor) run(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			h.look(now)
		}
	}
}

// look takes the error counts of every drive and marks those past the
// threshold.
func (h *healthMonitor) look(now time.Time) {
	for _, d := range h.s.drives {
		st := d.Snapshot()
		var errs int64
		for _, op := range st.Ops {
			errs += op.Errors
		}
		if h.count(st.Path, errs, now) {
			h.markFaulty(d, st, fmt.Sprintf("node: %d IO errors within %v", h.threshold, h.window))
		}
		if stalled := d.Stalled(); h.timeout > 0 && stalled > h.timeout && h.markOnce(st.Path) {
			h.markFaulty(d, st, fmt.Sprintf("node: no IO completed for %v with IO under way (timeout %v)", stalled.Round(time.Second), h.timeout))
		}
	}
	if h.s.slow != nil {
		h.s.slow.look(now)
	}
}

// markOnce reports whether a drive is not marked yet, and marks it.
func (h *healthMonitor) markOnce(path string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.marked[path] {
		return false
	}
	h.marked[path] = true
	return true
}

// count records a drive's error total; it reports whether the drive just
// passed the threshold.
func (h *healthMonitor) count(path string, total int64, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	delta := total - h.last[path]
	h.last[path] = total
	ticks := h.recent[path]
	keep := ticks[:0]
	var sum int64
	for _, t := range ticks {
		if now.Sub(t.at) < h.window {
			keep = append(keep, t)
			sum += t.n
		}
	}
	if delta > 0 {
		keep = append(keep, errorTick{now, delta})
		sum += delta
	}
	h.recent[path] = keep
	if h.threshold <= 0 || sum < int64(h.threshold) || h.marked[path] {
		return false
	}
	h.marked[path] = true
	return true
}

// markFaulty marks a drive faulty in the pool it belongs to.
func (h *healthMonitor) markFaulty(d *iostat.Device, st iostat.Stats, why string) {
	s := h.s
	var pos uint32
	found := false
	for _, nd := range s.node.Drives {
		if nd.Dev == dev.Device(d) {
			pos, found = nd.Label.Label().Position, true
		}
	}
	if !found {
		return
	}
	s.log.Error("drive faulty", "drive", st.Path, "position", pos, "why", why)
	if err := s.SetDriveState(context.Background(), int(pos), alloc.Faulty.String(), why); err != nil {
		s.log.Error("mark drive faulty", "drive", st.Path, "err", err)
	}
}
