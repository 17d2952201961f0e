package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/hw/failslow"
	"github.com/plinth-storage/plinth/io/iostat"
)

// slowMonitor finds fail-slow drives: every window it takes each drive's
// read p99 over the window from the IO accounting every drive is wrapped
// in, compares it with the drive's pool peers (hw/failslow), and marks a
// drive persistently slower than them slow (new sets then place fewer
// members on it), and online again once it keeps up, each with an event.
// A drive an operator or the error policy put in another state is left
// alone.
type slowMonitor struct {
	s      *Server
	cfg    failslow.Config
	window time.Duration

	mu   sync.Mutex
	last time.Time
	prev map[string]iostat.Stats // by drive path, at the last window's end
	det  map[string]*failslow.Detector
}

func newSlowMonitor(s *Server, factor float64, window time.Duration) *slowMonitor {
	return &slowMonitor{s: s, cfg: failslow.Config{Factor: factor}.WithDefaults(), window: window,
		prev: map[string]iostat.Stats{}, det: map[string]*failslow.Detector{}}
}

// look ends a window when one has passed since the last.
func (m *slowMonitor) look(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.window <= 0 || now.Sub(m.last) < m.window {
		return
	}
	first := m.last.IsZero()
	m.last = now
	byPath := map[string]*iostat.Device{}
	for _, d := range m.s.drives {
		byPath[d.Path()] = d
	}
	cur := map[string]iostat.Stats{}
	for _, p := range m.s.pools {
		var window []failslow.Sample
		health := map[uint32]alloc.Health{}
		for _, d := range p.Allocator().Drives() {
			health[d.Position] = d.Health
			dev := byPath[m.s.drivePath(d.Position)]
			if dev == nil {
				continue
			}
			st := dev.Snapshot()
			cur[st.Path] = st
			r := st.Sub(m.prev[st.Path]).Ops[iostat.Read]
			window = append(window, failslow.Sample{Drive: d.Position, Latency: r.Percentile(99), Requests: r.Total()})
		}
		if first {
			continue // the counts since the start are not a window
		}
		det := m.det[p.Name()]
		if det == nil {
			det = failslow.New(m.cfg)
			m.det[p.Name()] = det
		}
		for _, ch := range det.Observe(window) {
			m.apply(p.Name(), ch, health[ch.Drive], len(window)-1)
		}
	}
	m.prev = cur
}

// apply records a change the detector decided.
func (m *slowMonitor) apply(pool string, ch failslow.Change, h alloc.Health, peers int) {
	ctx := context.Background()
	var to, detail string
	switch {
	case ch.Slow && h == alloc.Online:
		to = "slow"
		detail = fmt.Sprintf("drive %d is slow: read p99 %v over the last %v, %.1fx the median of its %d peers (%v), for %d windows in a row; new sets place fewer members on it",
			ch.Drive, ch.Latency, m.window, float64(ch.Latency)/float64(ch.Peers), peers, ch.Peers, m.cfg.Windows)
	case !ch.Slow && h == alloc.Slow:
		to = "online"
		detail = fmt.Sprintf("drive %d keeps up again: read p99 %v, its peers' median %v", ch.Drive, ch.Latency, ch.Peers)
	default:
		return // not ours to change (faulty, out, spare, or set by an operator)
	}
	m.s.emit(events.Event{Severity: events.Warning, Kind: "drive-slow", Source: "drive", Pool: pool, Drive: m.s.drivePath(ch.Drive), Detail: detail})
	if err := m.s.SetDriveState(ctx, int(ch.Drive), to, "node: fail-slow detector"); err != nil {
		m.s.log.Error("fail-slow: set drive state", "drive", ch.Drive, "state", to, "err", err)
	}
}
