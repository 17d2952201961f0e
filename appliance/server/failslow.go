package server

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/hw/failslow"
	"github.com/plinth-storage/plinth/io/iostat"
)

// slowMonitor finds fail-slow drives: every window it takes each drive's
// read p99 over the window from the IO accounting every drive is wrapped
// in, compares it with the drive's pool peers (hw/failslow), and marks a
// drive persistently slower than them slow (new sets avoid it, reads
// rebuild its units from parity), and online again once it keeps up, each
// with an event.
// A drive an operator or the error policy put in another state is left
// alone.
type slowMonitor struct {
	s      *Server
	cfg    failslow.Config
	window time.Duration

	// deadlines are each drive's hedged-read deadline, from its pool's
	// last window (pool.Options.Hedge reads them on every stripe read).
	deadlines atomic.Pointer[map[uint32]time.Duration]
	lastProbe sync.Map // drive -> *atomic.Int64: when a slow drive was last read

	mu   sync.Mutex
	last time.Time
	prev map[string]iostat.Stats // by drive path, at the last window's end
	det  map[string]*failslow.Detector
	// deadline is each pool's last hedge deadline, kept through windows
	// too thin to give one: when one drive holds what is being read and
	// turns slow, a closed-loop reader does little else, so its peers fall
	// below the requests a window needs, and dropping the deadline then
	// would stop hedging exactly when it is needed (and with it the
	// rebuild reads that give the detector its peers).
	deadline map[string]time.Duration
}

func newSlowMonitor(s *Server, factor float64, window time.Duration) *slowMonitor {
	return &slowMonitor{s: s, cfg: failslow.Config{Factor: factor}.WithDefaults(), window: window,
		prev: map[string]iostat.Stats{}, det: map[string]*failslow.Detector{}, deadline: map[string]time.Duration{}}
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
	deadlines := map[uint32]time.Duration{}
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
		d := hedgeDeadline(m.deadline[p.Name()], window, m.cfg.MinRequests)
		m.deadline[p.Name()] = d
		if d > 0 {
			for _, smp := range window {
				deadlines[smp.Drive] = d
				if det.Slow(smp.Drive) {
					deadlines[slowKey(smp.Drive)] = d
				}
			}
		}
	}
	m.prev = cur
	if !first {
		m.deadlines.Store(&deadlines)
	}
}

// hedgeDeadline is the read deadline of a pool's drives after a window,
// given the last one (prev): twice the lower median read p99 of the drives
// with enough requests in the window, at least 1 ms. A healthy drive
// rarely runs past it; a slow one's reads are rebuilt from parity after
// it.
//
// The slow drive is one of the drives the figure is taken over, and when
// it holds what is being read, a closed-loop reader waiting on it reads
// little else, so:
//   - the lower median: with two drives read, the upper one is the slow
//     drive's own p99, a deadline past every read it should cut short;
//   - with fewer than two drives read, prev is kept (when there is one):
//     the one drive read may be the slow one. The first such window gives
//     twice that drive's p99, so that a pool whose reads all land on one
//     drive (small objects written one at a time fill one data member)
//     gets a deadline at all. Once a read is hedged, its rebuild reads the
//     other members, and the windows have peers again;
//   - 0 (no hedging) while no drive has been read enough.
func hedgeDeadline(prev time.Duration, window []failslow.Sample, minReq int64) time.Duration {
	var l []time.Duration
	for _, s := range window {
		if s.Requests >= minReq {
			l = append(l, s.Latency)
		}
	}
	if len(l) == 0 || len(l) == 1 && prev > 0 {
		return prev
	}
	slices.Sort(l)
	return max(2*l[(len(l)-1)/2], time.Millisecond)
}

// hedge is pool.Options.Hedge: the drive's deadline from the last
// window. A drive marked slow is not read at all (its units are rebuilt
// from parity: reads nobody waits for would pile up on it), except one
// stripe read every window/probesPerWindow, which reads it without
// waiting for it (the stripe is rebuilt at once) and so keeps measuring
// it, so that it can be seen to recover (the detector needs MinRequests a
// window).
func (m *slowMonitor) hedge(drive uint32) time.Duration {
	d := m.deadlines.Load()
	if d == nil {
		return 0
	}
	if (*d)[slowKey(drive)] > 0 {
		if m.probe(drive) {
			return time.Microsecond // read it, but rebuild at once: nobody waits for the probe
		}
		return -1
	}
	return (*d)[drive]
}

// probesPerWindow is how many reads a slow drive still gets a window.
const probesPerWindow = 20

// probe reports whether a read of a slow drive is due as a probe.
func (m *slowMonitor) probe(drive uint32) bool {
	v, _ := m.lastProbe.LoadOrStore(drive, new(atomic.Int64))
	last := v.(*atomic.Int64)
	now, prev := time.Now().UnixNano(), last.Load()
	return now-prev >= int64(m.window/probesPerWindow) && last.CompareAndSwap(prev, now)
}

// slowKey is where deadlines marks a slow drive (above every position).
func slowKey(drive uint32) uint32 { return drive | 1<<31 }

// apply records a change the detector decided.
func (m *slowMonitor) apply(pool string, ch failslow.Change, h alloc.Health, peers int) {
	ctx := context.Background()
	var to, detail string
	switch {
	case ch.Slow && h == alloc.Online:
		to = "slow"
		detail = fmt.Sprintf("drive %d is slow: read p99 %v over the last %v, %.1fx the median of its %d peers (%v), for %d windows in a row; new sets avoid it and reads rebuild its units from parity",
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
