package server

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/hw/biolat"
)

// latencyProbes are the eBPF block-latency probes of a serving node
// (hw/biolat): loaded for the disks under the node's drives when Serve
// starts, with requests slower than the slow_io threshold streamed into
// the events journal. When they cannot load, the node says why and keeps
// to its IO path's own histograms; either way Status and /metrics
// (plinth_latency_source) name the source.
type latencyProbes struct {
	probe *biolat.Probe
	src   biolat.Source
	disks map[uint32][]string // drive paths by disk
	done  chan struct{}
}

// startProbes loads the probes (slowIO < 0: not at all).
func (s *Server) startProbes(slowIO time.Duration) {
	lp := &latencyProbes{disks: map[uint32][]string{}, done: make(chan struct{})}
	defer func() {
		s.probes.Store(lp)
		s.registerLatencySource()
	}()
	if slowIO < 0 {
		lp.src = biolat.Source{Kind: "iopath", Detail: "Plinth's own IO path and /sys/block/*/stat: the probes are off (slow_io is negative)"}
		close(lp.done)
		return
	}
	var devs []uint32
	for _, d := range s.node.Drives {
		dev, _, err := biolat.DiskOf(d.Path, "/sys")
		if err != nil {
			continue // a drive with no disk under it (a test's in-memory drive)
		}
		if lp.disks[dev] == nil {
			devs = append(devs, dev)
		}
		lp.disks[dev] = append(lp.disks[dev], d.Path)
	}
	if len(devs) == 0 {
		lp.src = biolat.Source{Kind: "iopath", Detail: "Plinth's own IO path: no drive has a block device under it"}
		close(lp.done)
		return
	}
	p, err := biolat.Load(biolat.Options{Devices: devs, Slow: slowIO})
	lp.probe, lp.src = p, biolat.SourceOf(p, err)
	if err != nil {
		s.log.Warn("latency probes not loaded", "why", err)
		s.emit(events.Event{Severity: events.Info, Kind: "latency-source", Source: "node", Detail: lp.src.Detail})
		close(lp.done)
		return
	}
	s.log.Info("latency probes loaded", "mode", p.Mode(), "disks", len(devs))
	go func() {
		defer close(lp.done)
		for {
			ev, err := p.NextSlow()
			if errors.Is(err, biolat.ErrClosed) {
				return
			}
			if err != nil {
				s.log.Warn("latency probes: slow-IO events", "err", err)
				return
			}
			s.emit(events.Event{Severity: events.Warning, Kind: "slow-io", Source: "drive", Drive: strings.Join(lp.disks[ev.Dev], ","),
				Detail: fmt.Sprintf("%s (threshold %v)", ev, slowIO)})
		}
	}()
}

// stopProbes detaches the probes.
func (s *Server) stopProbes() {
	lp := s.probes.Load()
	if lp == nil {
		return
	}
	if lp.probe != nil {
		lp.probe.Close()
	}
	<-lp.done
}

// LatencySource says where the node's latency figures come from.
func (s *Server) LatencySource() biolat.Source {
	lp := s.probes.Load()
	if lp == nil {
		return biolat.Source{Kind: "iopath", Detail: "Plinth's own IO path (the node is not serving)"}
	}
	return lp.src
}

// registerLatencySource exports the source as plinth_latency_source.
func (s *Server) registerLatencySource() {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "plinth_latency_source",
		Help: "Where per-drive latency figures come from: kind ebpf (block-layer probes) or iopath (Plinth's IO path and /sys/block/*/stat), and why.",
	}, []string{"kind", "detail"})
	src := s.LatencySource()
	g.WithLabelValues(src.Kind, src.Detail).Set(1)
	if err := s.metrics.Registry().Register(g); err != nil {
		s.log.Warn("metrics: latency source", "err", err)
	}
}
