// Package failslow finds fail-slow drives: drives that still work but
// answer much slower than their peers, and so drag down every stripe they
// hold a member of. In an 84-drive enclosure one such drive sets the tail
// latency of the whole node.
//
// A Detector is fed, once per window, each drive's latency percentile over
// that window (from the node's IO accounting or the eBPF probes) for the
// drives of one pool. A drive whose percentile exceeds Factor times the
// median of its peers' (the other drives of the pool with enough requests
// in the window, and above Floor) is slower in that window; Windows
// consecutive slower windows make it slow. It recovers after Windows
// consecutive windows within Factor/2 of its peers, or within 2x when that
// is wider and below Factor (the gap between the two thresholds keeps a
// drive near the line from flapping). Not closer than 2x, because the
// percentiles come from log2 histograms (the IO accounting's and the
// probes'): their ratios are powers of two, so a threshold under 2 means
// "not one bucket above the peers", which a recovered drive misses in
// about every other window (a drive held slow is read only by a few probe
// reads, whose p99 is their slowest, against the p99 of its peers'
// thousands), and three such windows in a row rarely came: the node's
// fail-slow test saw a recovered drive held slow for eight windows. A
// window in which a drive did too few requests, or too few peers did,
// changes nothing.
package failslow

import (
	"sort"
	"time"
)

// Config tunes a Detector.
type Config struct {
	// Factor: slower than Factor times the peers' median (default 3).
	Factor float64
	// Windows: consecutive windows to become slow or recover (default 3).
	Windows int
	// MinRequests: requests a drive needs in a window to be judged, and a
	// peer to count (default 10).
	MinRequests int64
	// Floor: percentiles under it are never slow, however they compare
	// (default 2ms): at microseconds, a factor of 3 is noise.
	Floor time.Duration
}

// WithDefaults is c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.defaults()
	return c
}

func (c *Config) defaults() {
	if c.Factor <= 1 {
		c.Factor = 3
	}
	if c.Windows <= 0 {
		c.Windows = 3
	}
	if c.MinRequests <= 0 {
		c.MinRequests = 10
	}
	if c.Floor <= 0 {
		c.Floor = 2 * time.Millisecond
	}
}

// recoverFactor is how close to its peers a slow drive must come to
// recover: Factor/2, or 2 when that is wider and still below Factor (see
// the package comment).
func (c Config) recoverFactor() float64 { return max(c.Factor/2, min(2, c.Factor)) }

// Sample is one drive's figure over one window.
type Sample struct {
	Drive    uint32
	Latency  time.Duration // the percentile (e.g. the p99 of reads)
	Requests int64
}

// Change is a drive becoming slow or recovering.
type Change struct {
	Drive uint32
	Slow  bool // true: became slow; false: recovered
	// Latency and Peers are the drive's figure and its peers' median in
	// the window that decided it.
	Latency, Peers time.Duration
}

// Detector keeps each drive's streak. It is not safe for concurrent use.
type Detector struct {
	cfg    Config
	streak map[uint32]int
	slow   map[uint32]bool
}

// New returns a Detector.
func New(cfg Config) *Detector {
	cfg.defaults()
	return &Detector{cfg: cfg, streak: map[uint32]int{}, slow: map[uint32]bool{}}
}

// Slow reports whether the detector holds drive slow.
func (d *Detector) Slow(drive uint32) bool { return d.slow[drive] }

// Observe takes one window of a pool's drives and returns the changes.
func (d *Detector) Observe(window []Sample) []Change {
	var changes []Change
	for _, s := range window {
		if s.Requests < d.cfg.MinRequests {
			continue
		}
		peers := peerMedian(window, s.Drive, d.cfg.MinRequests)
		if peers <= 0 {
			continue
		}
		slower := s.Latency > d.cfg.Floor && float64(s.Latency) > d.cfg.Factor*float64(peers)
		within := float64(s.Latency) <= d.cfg.recoverFactor()*float64(peers) || s.Latency <= d.cfg.Floor
		switch {
		case !d.slow[s.Drive] && slower:
			d.streak[s.Drive]++
		case d.slow[s.Drive] && within:
			d.streak[s.Drive]++
		default:
			d.streak[s.Drive] = 0
		}
		if d.streak[s.Drive] >= d.cfg.Windows {
			d.slow[s.Drive] = !d.slow[s.Drive]
			d.streak[s.Drive] = 0
			changes = append(changes, Change{Drive: s.Drive, Slow: d.slow[s.Drive], Latency: s.Latency, Peers: peers})
		}
	}
	return changes
}

// Forget drops a drive's state (it left the pool, or an operator set its
// state).
func (d *Detector) Forget(drive uint32) {
	delete(d.streak, drive)
	delete(d.slow, drive)
}

// peerMedian is the median latency of the other drives with enough
// requests, or 0 when fewer than two have them.
func peerMedian(window []Sample, self uint32, minReq int64) time.Duration {
	var l []time.Duration
	for _, s := range window {
		if s.Drive != self && s.Requests >= minReq {
			l = append(l, s.Latency)
		}
	}
	if len(l) < 2 {
		return 0
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[len(l)/2]
}
