package biolat

import "errors"

// Source says where a node's latency figures come from and why: the probes
// when they loaded, else Plinth's own IO path and /sys/block/*/stat with
// the reason the probes could not run.
type Source struct {
	// Kind is "ebpf" or "iopath" (Plinth's IO path histograms and the
	// kernel's per-disk counters).
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// SourceOf describes the outcome of Load.
func SourceOf(p *Probe, err error) Source {
	switch {
	case err == nil && p != nil:
		return Source{Kind: "ebpf", Detail: p.Mode()}
	case errors.Is(err, ErrUnavailable):
		return Source{Kind: "iopath", Detail: "Plinth's own IO path and /sys/block/*/stat, because " + err.Error()}
	case err != nil:
		return Source{Kind: "iopath", Detail: "Plinth's own IO path and /sys/block/*/stat, because loading the probes failed: " + err.Error()}
	}
	return Source{Kind: "iopath", Detail: "Plinth's own IO path and /sys/block/*/stat (probes not loaded)"}
}
